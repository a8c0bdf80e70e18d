"""Where a dataset's files are, whether they are a known release, and the error when they are not.

Where the files are looked for (:func:`resolve_data_root`):

1. ``root=``: the folder holding the files (as in MXNet), or a folder holding ``<name>/``;
2. ``$GLUONCNN_DATA/<name>``: ``GLUONCNN_DATA`` is a folder holding ``fashion-mnist/``,
   ``mnist/``, ``cifar10/`` and ``cifar100/`` (the layout of the course's ``shared/data``);
3. MXNet's default ``$MXNET_HOME/datasets/<name>`` (``~/.mxnet`` when ``MXNET_HOME`` is unset),
   read when the data is loaded, not when this module is imported.

A file is accepted when its sha1 is one of its dataset's ``known_files`` (see the catalogue).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import mxnet as mx

from ..errors import GluonCNNError, OptionError
from .catalogue import DATASETS, canonical_name
from .download import download_missing, short_cause

PathLike = str | os.PathLike


# --------------------------------------------------------------------------- roots
def resolve_data_root(name: str, root: PathLike | None = None) -> tuple[Path, str]:
    """Where dataset ``name`` is looked for, and why there: ``(folder, how_chosen)``.

    Order: ``root=`` (the folder holding the files, or a folder holding ``<name>/``), then
    ``$GLUONCNN_DATA/<name>``, then MXNet's default ``$MXNET_HOME/datasets/<name>``.
    """
    name = canonical_name(name)
    if root is not None:
        root = Path(root).expanduser()
        if (root / name).is_dir():
            return root / name, f"root={str(root)!r} (its {name}/ folder)"
        return root, f"root={str(root)!r}"
    env = os.environ.get("GLUONCNN_DATA", "").strip()
    if env:
        return Path(env).expanduser() / name, f"GLUONCNN_DATA={env}"
    home = os.environ.get("MXNET_HOME", "").strip()
    how = (f"MXNet's default $MXNET_HOME/datasets (MXNET_HOME={home})" if home else
           "MXNet's default ~/.mxnet/datasets (neither GLUONCNN_DATA nor MXNET_HOME is set)")
    return Path(mx.base.data_dir()).expanduser() / "datasets" / name, how


def data_root(name: str, root: PathLike | None = None) -> Path:
    """The folder dataset ``name`` is read from (see :func:`resolve_data_root`), a ``Path``."""
    return resolve_data_root(name, root)[0]


def sample_root(name: str) -> tuple[Path, str]:
    """The shipped subset of dataset ``name`` and how it was chosen; a clear error if none."""
    spec = DATASETS[canonical_name(name)]
    if spec.sample is None:
        shipped = [n for n, s in DATASETS.items() if s.sample is not None]
        raise OptionError(f"sample=True is only available for "
                          f"{', '.join(repr(n) for n in shipped)} (the shipped subset), not "
                          f"{spec.name!r}; use train_size=/test_size= for a quick run")
    return spec.sample, "sample=True (the subset shipped in gluoncnn/sample)"


def download_requested(download: bool) -> bool:
    """``download``, or the environment's ``GLUONCNN_DOWNLOAD=1``."""
    if download:
        return True
    return os.environ.get("GLUONCNN_DOWNLOAD", "").strip().lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- the error
class DatasetNotFoundError(GluonCNNError, FileNotFoundError):
    """No usable copy of a dataset was found: files missing, with an unknown checksum, or
    unreadable. The message says which files, in which folder, and how to fix it.

    It is a ``FileNotFoundError`` (so an ``OSError``): what is missing is a verified copy of
    the data, and code that already handles missing files (``except FileNotFoundError``, e.g.
    to fall back to ``sample=True``) handles this too. Attributes: ``dataset``, ``folder``,
    ``problems`` (``{file name: what is wrong}``) and ``cause`` (e.g. why a download failed).
    """

    def __init__(self, dataset, folder, problems, how_chosen=None, cause=None, split=None,
                 expected=None):
        self.dataset, self.folder, self.problems = dataset, Path(folder), dict(problems)
        self.cause = cause
        self.expected = tuple(expected) if expected else tuple(self.problems)
        self._init_args = (dataset, folder, problems, how_chosen, cause, split, expected)
        super().__init__(_error_message(dataset, self.folder, self.problems, how_chosen,
                                        cause, split, self.expected))

    def __reduce__(self):  # pickles with its arguments (OSError's default would lose them)
        return type(self), self._init_args

    def __str__(self):
        return self.args[0] if self.args else ""


def _error_message(name, folder, problems, how_chosen, cause, split, expected):
    spec = DATASETS.get(name)
    title = spec.title if spec else name
    what = f"{title} ({split} split)" if split else title
    lines = [f"{what}: no usable copy in {folder}"
             + ("" if folder.is_dir() else " (the folder does not exist)")
             + (f"; folder chosen by {how_chosen}" if how_chosen else "") + "."]
    if cause:
        lines.append(f"Download failed: {cause}")
    if expected:
        lines.append("Expected files:")
        lines += [f"  {file}: {problems.get(file, 'ok')}" for file in expected]
    files = ", ".join(expected) if expected else "the dataset files"
    lines += ["How to fix, any one of:",
              f"  - set GLUONCNN_DATA to a folder holding {name}/ with {files} "
              f"(e.g. the course's shared/data);",
              f"  - pass root='/folder/with/the/files' (or a folder holding {name}/);",
              f"  - once online, pass download=True (or set GLUONCNN_DOWNLOAD=1) to fetch the "
              f"missing files into {folder}; existing files are never overwritten."]
    if any(p.startswith("unknown checksum") for p in problems.values()):
        lines.append("  - a file with an unknown checksum is not a known release: move it away "
                     "(then download), or, if it is your own data in the same format, pass "
                     "verify=False.")
    if spec is not None and spec.sample is not None:
        lines.append(f"  - or use sample=True: the subset shipped with gluoncnn, in "
                     f"{spec.sample}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- checking files
@dataclass(frozen=True)
class FileStatus:
    """One dataset file: ``state`` is 'verified' (sha1 of a known release), 'not verified'
    (present, checked with ``verify=False``), 'missing', 'unknown checksum' or 'not a file'."""
    file: str
    path: Path
    state: str
    release: str | None = None
    sha1: str | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("verified", "not verified")

    @property
    def problem(self) -> str | None:
        """What is wrong, as the error message says it (``None`` when the file is usable)."""
        if self.state == "unknown checksum":
            return f"unknown checksum (sha1 {self.sha1} matches no known release)"
        return None if self.ok else self.state


_SHA1_CACHE = {}


def _sha1(path):
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _SHA1_CACHE:
        digest = hashlib.sha1()
        with open(path, "rb") as fin:
            for chunk in iter(lambda: fin.read(1 << 20), b""):
                digest.update(chunk)
        _SHA1_CACHE[key] = digest.hexdigest()
    return _SHA1_CACHE[key]


def check_file(name: str, path: PathLike, verify: bool = True) -> FileStatus:
    """Check one file of dataset ``name`` against its known sha1s; returns a :class:`FileStatus`.

    The file's sha1 decides its release; with ``verify=False`` only its presence is checked."""
    name, path = canonical_name(name), Path(path)
    if not path.exists():
        return FileStatus(path.name, path, "missing")
    if not path.is_file():
        return FileStatus(path.name, path, "not a file")
    if not verify:
        return FileStatus(path.name, path, "not verified")
    sha1 = _sha1(path)
    release = DATASETS[name].known_files.get(path.name, {}).get(sha1)
    return FileStatus(path.name, path, "verified" if release else "unknown checksum", release, sha1)


def mixed_releases(statuses: Iterable[FileStatus]) -> dict[str, str]:
    """``{file: problem}`` when verified files of one split come from different releases."""
    statuses = list(statuses)
    releases = {s.release for s in statuses if s.state == "verified"}
    if len(releases) <= 1:
        return {}
    return {s.file: f"from the {s.release}, but the other files are not (releases: "
                    f"{'; '.join(sorted(releases))})" for s in statuses if s.state == "verified"}


@dataclass(frozen=True)
class DatasetStatus:
    """A dataset folder: ``state`` is 'verified' (every file of a known release),
    'partial' (some files missing, the rest verified), 'missing' (no file) or 'broken'."""
    name: str
    folder: Path
    how_chosen: str
    state: str
    releases: tuple
    files: tuple

    @property
    def title(self) -> str:
        """The dataset's title, as people write it (``'Fashion-MNIST'``)."""
        return DATASETS[self.name].title


def folder_status(name: str, folder: PathLike, how_chosen: str = "") -> DatasetStatus:
    """Check every file (train and test) of dataset ``name`` in ``folder``; a
    :class:`DatasetStatus`."""
    name, folder = canonical_name(name), Path(folder)
    statuses = tuple(check_file(name, folder / f) for f in DATASETS[name].files)
    states = {s.state for s in statuses}
    if states == {"missing"}:
        state = "missing"
    elif states - {"missing", "verified"} or mixed_releases(statuses):
        state = "broken"
    else:
        state = "verified" if states == {"verified"} else "partial"
    releases = tuple(sorted({s.release for s in statuses if s.release}))
    return DatasetStatus(name, folder, how_chosen, state, releases, statuses)


def dataset_status(root: PathLike | None = None) -> list[DatasetStatus]:
    """The :class:`DatasetStatus` of each dataset of the catalogue, in the folders
    :func:`~gluoncnn.data.load_data` would read. The shipped sample's is
    ``folder_status('fashion-mnist', SAMPLE_DIR / 'fashion-mnist')``."""
    return [folder_status(name, *resolve_data_root(name, root)) for name in DATASETS]


def require_files(name, folder, files, how_chosen, verify, download, split):
    """The :class:`FileStatus` of ``files`` in ``folder``, all present (and verified unless
    ``verify=False``); downloads the missing ones when ``download``; else raises
    :class:`DatasetNotFoundError`."""
    statuses = [check_file(name, folder / f, verify) for f in files]
    if download and any(s.state == "missing" for s in statuses):
        try:
            download_missing(DATASETS[name], folder, statuses)
        except Exception as error:  # network, HTTP, checksum or disk errors: one clear error
            problems = {s.file: s.problem for s in statuses if not s.ok}
            raise DatasetNotFoundError(name, folder, problems, how_chosen, short_cause(error),
                                       split, files) from None
        statuses = [check_file(name, folder / f, verify) for f in files]
    problems = {s.file: s.problem for s in statuses if not s.ok}
    problems.update(mixed_releases(statuses))
    if problems:
        raise DatasetNotFoundError(name, folder, problems, how_chosen, split=split,
                                   expected=files)
    return statuses
