"""Small helpers the whole package shares, each written once: atomic files, closest names,
block paths, an error's first line."""
import difflib
import os


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


def first_line(err):
    """The first informative line of an exception's message (MXNet's carry C++ traces)."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("Stack trace", "[bt]", "File ", "Traceback")):
            return line
    return type(err).__name__
