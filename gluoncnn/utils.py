"""Small helpers the whole package shares, each written once: atomic files, closest names,
block paths, an error's first line, durations."""
import difflib
import math
import os
import re


def fsync_dir(folder):
    """Flush a folder's entry list to disk, so a rename inside it survives a power cut."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write_to):
    """Call ``write_to(tmp_path)``, fsync, then rename over ``path``: readers see the old file
    or the new one, never half of one. The temporary file is removed if anything fails."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        write_to(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    fsync_dir(folder)
    return path


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    def write_to(tmp):
        with open(tmp, "w", newline="") as f:
            f.write(text)
    return atomic_write(path, write_to)


def replace_marked_block(path, marker, text):
    """Put ``text`` into the file at ``path`` between its lines ``<!-- marker ... -->`` and
    ``<!-- /marker -->`` (how the README holds generated tables); the rest stays as it was.
    Raises :class:`~gluoncnn.errors.OptionError` naming the missing lines, and then writes
    nothing."""
    from .errors import OptionError
    with open(path) as f:
        content = f.read()
    start, end = f"<!-- {marker}", f"<!-- /{marker} -->"
    if start not in content or end not in content:
        raise OptionError(f"{path} has no {start} ... --> and {end} lines; add them where the "
                         f"table goes")
    head, rest = content.split(start, 1)
    opening, rest = rest.split("\n", 1)
    _, tail = rest.split(end, 1)
    atomic_write_text(path, f"{head}{start}{opening}\n{text}\n{end}{tail}")


def closest_names(word, choices, n=3, cutoff=0.5):
    """The names in ``choices`` closest to ``word``, best first, for 'did you mean' advice."""
    choices = [str(c) for c in choices]
    return difflib.get_close_matches(str(word).lower(), choices, n=n, cutoff=cutoff)


def did_you_mean(word, choices, n=3, cutoff=0.5):
    """' (did you mean a, b?)' when some choice is close to ``word``, else ''."""
    close = closest_names(word, choices, n=n, cutoff=cutoff)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def block_paths(net, prefix="", unique=False):
    """``(path, block)`` for ``net`` and every child, depth first, paths as in
    ``net.collect_params()`` without the prefix: ``'features.0.conv'``.

    ``unique=True`` yields a block registered under several paths (a shared block) once, under
    its first path, without walking its children again."""
    seen = set()

    def walk(block, path):
        if unique:
            if id(block) in seen:
                return
            seen.add(id(block))
        yield path, block
        for name, child in block._children.items():
            child = child() if callable(child) and not hasattr(child, "_children") else child
            yield from walk(child, f"{path}.{name}" if path else name)

    yield from walk(net, prefix)


#: How an environment variable says yes (GLUONCNN_QUICK=1, CI=true, ...).
TRUE_WORDS = ("1", "true", "yes", "on")


def env_flag(name, default=False):
    """Whether the environment variable ``name`` says yes (1/true/yes/on, any case); unset or
    empty gives ``default``, any other value (``0``, ``false``) no."""
    value = os.environ.get(name, "").strip()
    return bool(default) if not value else value.lower() in TRUE_WORDS


def first_line(err):
    """The first informative line of an exception's message (MXNet's carry C++ traces)."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("Stack trace", "[bt]", "File ", "Traceback")):
            return line
    return type(err).__name__


_SECONDS_PER = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")


def parse_duration(value, what="budget"):
    """Seconds from a positive number of seconds, or text with a unit: ``'90s'``, ``'10m'`` (or
    ``'10min'``), ``'1h'``, ``'1.5h'`` (``'600'`` is seconds). None stays None; anything else is
    an :class:`~gluoncnn.errors.OptionError` naming ``what``."""
    if value is None:
        return None
    seconds = None
    if isinstance(value, str):
        match = _DURATION.match(value.lower())
        if match and match.group(2) in _SECONDS_PER:
            seconds = float(match.group(1)) * _SECONDS_PER[match.group(2)]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        from .errors import OptionError
        raise OptionError(f"{what} must be a positive duration such as 90s, 10m or 1h (or a "
                          f"number of seconds), got {value!r}")
    return seconds


def format_duration(seconds):
    """``'90 s'``, ``'10 min'``, ``'1.5 h'``: a duration as the course says it."""
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
