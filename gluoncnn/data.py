"""Datasets and data loaders: Fashion-MNIST, MNIST, CIFAR-10 and CIFAR-100.

The dataset classes are MXNet's own ``gluon.data.vision`` classes (same items, same
``transform_first``), subclassed so that they

- accept every known release of a file by its sha1: both Fashion-MNIST releases (the
  2017-08-26 files MXNet 1.9.1 pins and the current 2017-08-31 ones) and the subset shipped in
  ``gluoncnn/sample/`` (see ``KNOWN_FILES``);
- never download unless asked (``download=True`` or ``GLUONCNN_DOWNLOAD=1``), and never
  overwrite a file that is already there: MXNet itself downloads over a file whose sha1 it does
  not know;
- raise one clear :class:`DatasetNotFoundError` when a file is missing, has an unknown checksum
  or cannot be read. The message names the dataset, the folder, each file and what was wrong with
  it, and how to fix it.

Where the files are looked for (:func:`resolve_data_root`):

1. ``root=``: the folder holding the files (as in MXNet), or a folder holding ``<name>/``;
2. ``$GLUONCNN_DATA/<name>``: ``GLUONCNN_DATA`` is a folder holding ``fashion-mnist/``,
   ``mnist/``, ``cifar10/`` and ``cifar100/`` (the layout of the course's ``shared/data``);
3. MXNet's default ``$MXNET_HOME/datasets/<name>`` (``~/.mxnet`` when ``MXNET_HOME`` is unset),
   read when the data is loaded, not when this module is imported.

The loaders return ``(train_iter, test_iter)`` of ``gluon.data.DataLoader`` like d2l's
``load_data_fashion_mnist``: ``X`` is a float32 NCHW batch in [0, 1] (or normalised) and ``y``
an int32 batch of class indices.
"""
import gzip
import hashlib
import os
import re
import struct
import tarfile
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import mxnet as mx
from mxnet import gluon, nd
from mxnet.gluon.data import vision
from mxnet.gluon.data.vision import transforms

__all__ = [
    "DATASETS", "SPLIT_FILES", "KNOWN_FILES", "MEAN_STD", "SAMPLE_DIR",
    "FASHION_MNIST_2017_08_26", "FASHION_MNIST_2017_08_31", "FASHION_MNIST_SAMPLE",
    "MNIST_ORIGINAL", "CIFAR_OFFICIAL",
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "CIFAR10_CLASSES", "CIFAR100_CLASSES",
    "CIFAR100_COARSE_CLASSES",
    "DatasetNotFoundError", "FileStatus", "DatasetStatus",
    "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "RandomCrop",
    "canonical_name", "resolve_data_root", "data_root", "check_file", "folder_status",
    "dataset_status", "get_dataset", "get_transform", "classes", "text_labels",
    "get_fashion_mnist_labels", "load_data", "load_data_fashion_mnist", "load_data_mnist",
    "load_data_cifar10", "load_data_cifar100",
]

DATASETS = ("fashion-mnist", "mnist", "cifar10", "cifar100")
"""The dataset names, as folders under ``GLUONCNN_DATA`` and ``$MXNET_HOME/datasets``."""

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
"""The shipped subsets: ``SAMPLE_DIR / 'fashion-mnist'`` holds 1,000 train + 500 test images."""

_TITLES = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST", "cifar10": "CIFAR-10",
           "cifar100": "CIFAR-100"}

FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                         "sneaker", "bag", "ankle boot")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR100_CLASSES = (  # the fine labels 0..99, in the order of the dataset's meta file
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm")
CIFAR100_COARSE_CLASSES = (  # the coarse labels 0..19 (super-classes)
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2")

MEAN_STD = {
    # Per-channel mean and standard deviation of the training images scaled to [0, 1].
    # Fashion-MNIST (2017-08-31 release) and MNIST were computed here over all 60,000
    # training images; the CIFAR values are the usual ones for the official training sets.
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
"""``normalize=True`` uses these ``(mean, std)`` per dataset."""

FASHION_MNIST_2017_08_26 = "2017-08-26 release (the one MXNet 1.9.1 pins)"
FASHION_MNIST_2017_08_31 = "2017-08-31 release (current, duplicates removed)"
FASHION_MNIST_SAMPLE = "gluoncnn sample (first 1,000 train / 500 test of the 2017-08-31 release)"
MNIST_ORIGINAL = "original LeCun files"
CIFAR_OFFICIAL = "official binary version"

_MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
SPLIT_FILES = {
    "fashion-mnist": _MNIST_FILES,
    "mnist": _MNIST_FILES,
    "cifar10": {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
                "test": ("test_batch.bin",)},
    "cifar100": {"train": ("train.bin",), "test": ("test.bin",)},
}
"""The files each split reads, directly in the dataset folder (no sub-folder)."""

KNOWN_FILES = {
    # dataset -> file name -> {sha1: release}. A file is accepted when its sha1 is listed here.
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": {
            "0cf37b0d40ed5169c6b3aba31069a9770ac9043d": FASHION_MNIST_2017_08_26,
            "95978b76b6897f6ca69a25145d01716efb615989": FASHION_MNIST_2017_08_31,
            "9d0b2e457e39b4a89eb13f68a68394ccdcb0a722": FASHION_MNIST_SAMPLE},
        "train-labels-idx1-ubyte.gz": {
            "236021d52f1e40852b06a4c3008d8de8aef1e40b": FASHION_MNIST_2017_08_26,
            "09814cfef5a041118ceace42f8dae995319d331a": FASHION_MNIST_2017_08_31,
            "0e71cab1e91e003e73a8348f2a57d33a6744b7fe": FASHION_MNIST_SAMPLE},
        "t10k-images-idx3-ubyte.gz": {
            "626ed6a7c06dd17c0eec72fa3be1740f146a2863": FASHION_MNIST_2017_08_26,
            "5edda96c6d8c36ff915115a0e8136d370a021576": FASHION_MNIST_2017_08_31,
            "2ce8cfbc925f82930d1a7ef8cd6e4568b861f0fc": FASHION_MNIST_SAMPLE},
        "t10k-labels-idx1-ubyte.gz": {
            "17f9ab60e7257a1620f4ad76bbbaf857c3920701": FASHION_MNIST_2017_08_26,
            "9caad14e1aff9adac77d3744963212d36af15bee": FASHION_MNIST_2017_08_31,
            "7692ba43da5b0070e32c97b708e61497a1672096": FASHION_MNIST_SAMPLE},
    },
    "mnist": {
        "train-images-idx3-ubyte.gz": {"6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d": MNIST_ORIGINAL},
        "train-labels-idx1-ubyte.gz": {"2a80914081dc54586dbdf242f9805a6b8d2a15fc": MNIST_ORIGINAL},
        "t10k-images-idx3-ubyte.gz": {"c3a25af1f52dad7f726cce8cacb138654b760d48": MNIST_ORIGINAL},
        "t10k-labels-idx1-ubyte.gz": {"763e7fa3757d93b0cdec073cef058b2004252c17": MNIST_ORIGINAL},
    },
    "cifar10": {
        "data_batch_1.bin": {"aadd24acce27caa71bf4b10992e9e7b2d74c2540": CIFAR_OFFICIAL},
        "data_batch_2.bin": {"c0ba65cce70568cd57b4e03e9ac8d2a5367c1795": CIFAR_OFFICIAL},
        "data_batch_3.bin": {"1dd00a74ab1d17a6e7d73e185b69dbf31242f295": CIFAR_OFFICIAL},
        "data_batch_4.bin": {"aab85764eb3584312d3c7f65fd2fd016e36a258e": CIFAR_OFFICIAL},
        "data_batch_5.bin": {"26e2849e66a845b7f1e4614ae70f4889ae604628": CIFAR_OFFICIAL},
        "test_batch.bin": {"67eb016db431130d61cd03c7ad570b013799c88c": CIFAR_OFFICIAL},
    },
    "cifar100": {
        "train.bin": {"e207cd2e05b73b1393c74c7f5e7bea451d63e08e": CIFAR_OFFICIAL},
        "test.bin": {"8fb6623e830365ff53cf14adec797474f5478006": CIFAR_OFFICIAL},
    },
}

# Where download=True fetches each release. ("files", url_of) fetches each file alone;
# ("archive", url, sha1) fetches one tar.gz and takes the files from it. The first entry of a
# dataset is the default when the folder holds no file of a known release yet.
_MXNET_REPO = "mxnet"  # MXNet's Gluon dataset repository ($MXNET_GLUON_REPO, read at call time)
_ZALANDO_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_DOWNLOADS = {
    "fashion-mnist": {FASHION_MNIST_2017_08_26: ("files", _MXNET_REPO),
                      FASHION_MNIST_2017_08_31: ("files", _ZALANDO_URL)},
    "mnist": {MNIST_ORIGINAL: ("files", _MXNET_REPO)},
    "cifar10": {CIFAR_OFFICIAL: ("archive", "cifar-10-binary.tar.gz",
                                 "fab780a1e191a7eda0f345501ccd62d20f7ed891")},
    "cifar100": {CIFAR_OFFICIAL: ("archive", "cifar-100-binary.tar.gz",
                                  "a0bb982c76b83111308126cc779a992fa506b90b")},
}

_CIFAR_RECORD = {"cifar10": 1 + 3072, "cifar100": 2 + 3072}
_NUM_CLASSES = {"fashion-mnist": 10, "mnist": 10, "cifar10": 10, "cifar100": 100}


# --------------------------------------------------------------------------- names and roots
def canonical_name(name):
    """The dataset's canonical name: ``'Fashion_MNIST'`` -> ``'fashion-mnist'``, ``'CIFAR-10'``
    -> ``'cifar10'``. Raises ``ValueError`` listing the valid names for anything else."""
    if isinstance(name, str):
        key = name.strip().lower().replace("_", "-")
        key = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10",
               "cifar-100": "cifar100"}.get(key, key)
        if key in DATASETS:
            return key
    raise ValueError(f"unknown dataset {name!r}; choose one of "
                     + ", ".join(repr(n) for n in DATASETS))


def resolve_data_root(name, root=None):
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


def data_root(name, root=None):
    """The folder dataset ``name`` is read from (see :func:`resolve_data_root`), a ``Path``."""
    return resolve_data_root(name, root)[0]


def _sample_root(name):
    if name != "fashion-mnist":
        raise ValueError(f"sample=True is only available for 'fashion-mnist' (the shipped "
                         f"subset), not {name!r}; use train_size=/test_size= for a quick run")
    return SAMPLE_DIR / name, "sample=True (the subset shipped in gluoncnn/sample)"


def _download_requested(download):
    if download:
        return True
    return os.environ.get("GLUONCNN_DOWNLOAD", "").strip().lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- errors
class DatasetNotFoundError(FileNotFoundError):
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
    title = _TITLES.get(name, name)
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
    lines.append("How to fix, any one of:")
    lines.append(f"  - set GLUONCNN_DATA to a folder holding {name}/ with {files} "
                 f"(e.g. the course's shared/data);")
    lines.append(f"  - pass root='/folder/with/the/files' (or a folder holding {name}/);")
    lines.append(f"  - once online, pass download=True (or set GLUONCNN_DOWNLOAD=1) to fetch the "
                 f"missing files into {folder}; existing files are never overwritten.")
    if any(p.startswith("unknown checksum") for p in problems.values()):
        lines.append("  - a file with an unknown checksum is not a known release: move it away "
                     "(then download), or, if it is your own data in the same format, pass "
                     "verify=False.")
    if name == "fashion-mnist":
        lines.append("  - or use sample=True: the 1,000 train / 500 test images shipped with "
                     "gluoncnn.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- checking files
@dataclass(frozen=True)
class FileStatus:
    """One dataset file: ``state`` is 'verified' (sha1 of a known release), 'not verified'
    (present, checked with ``verify=False``), 'missing', 'unknown checksum' or 'not a file'."""
    file: str
    path: Path
    state: str
    release: str = None
    sha1: str = None

    @property
    def ok(self):
        return self.state in ("verified", "not verified")

    @property
    def problem(self):
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


def check_file(name, path, verify=True):
    """Check one file of dataset ``name`` against ``KNOWN_FILES``; returns a :class:`FileStatus`.

    The file's sha1 decides its release; with ``verify=False`` only its presence is checked."""
    name, path = canonical_name(name), Path(path)
    if not path.exists():
        return FileStatus(path.name, path, "missing")
    if not path.is_file():
        return FileStatus(path.name, path, "not a file")
    if not verify:
        return FileStatus(path.name, path, "not verified")
    sha1 = _sha1(path)
    release = KNOWN_FILES[name].get(path.name, {}).get(sha1)
    return FileStatus(path.name, path, "verified" if release else "unknown checksum", release, sha1)


def _mixed_releases(statuses):
    """``{file: problem}`` when verified files of one split come from different releases."""
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


def folder_status(name, folder, how_chosen=""):
    """Check every file (train and test) of dataset ``name`` in ``folder``; a
    :class:`DatasetStatus`."""
    name, folder = canonical_name(name), Path(folder)
    files = [f for split in ("train", "test") for f in SPLIT_FILES[name][split]]
    statuses = tuple(check_file(name, folder / f) for f in files)
    states = {s.state for s in statuses}
    if states == {"missing"}:
        state = "missing"
    elif states - {"missing", "verified"} or _mixed_releases(statuses):
        state = "broken"
    else:
        state = "verified" if states == {"verified"} else "partial"
    releases = tuple(sorted({s.release for s in statuses if s.release}))
    return DatasetStatus(name, folder, how_chosen, state, releases, statuses)


def dataset_status(root=None):
    """The :class:`DatasetStatus` of each of ``DATASETS``, in the folders :func:`load_data`
    would read. The shipped sample's is ``folder_status('fashion-mnist', SAMPLE_DIR /
    'fashion-mnist')``."""
    return [folder_status(name, *resolve_data_root(name, root)) for name in DATASETS]


# --------------------------------------------------------------------------- downloading
def _short_cause(error):
    text = str(error)
    errno = re.search(r"\[Errno [^\]]+\][^'\")]*", text)
    if errno:
        text = errno.group(0).strip()
    elif len(text) > 160:
        text = text[:157] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _move_if_missing(tmp, dest):
    """Give ``tmp`` the name ``dest`` only if no ``dest`` exists; an existing file always wins."""
    try:
        os.link(tmp, dest)  # atomic, and fails if dest exists
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system
        if dest.exists():
            return False
        os.replace(tmp, dest)
        return True
    os.remove(tmp)
    return True


def _temporary_name(dest):
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")


def _mxnet_download(url, dest, sha1):
    """MXNet's own downloader (``gluon.utils.download``) into a temporary name beside ``dest``."""
    tmp = _temporary_name(dest)
    try:
        gluon.utils.download(url, path=str(tmp), sha1_hash=sha1, retries=2)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return tmp


def _download_missing(name, folder, statuses):
    """Fetch the missing files of ``statuses`` into ``folder``; never touches an existing file."""
    sources = _DOWNLOADS[name]
    present = [s.release for s in statuses if s.state == "verified" and s.release in sources]
    release = present[0] if present else next(iter(sources))
    missing = [s.file for s in statuses if s.state == "missing"]
    sha1_of = {file: next(sha for sha, rel in KNOWN_FILES[name][file].items() if rel == release)
               for file in missing}
    folder.mkdir(parents=True, exist_ok=True)
    kind, *where = sources[release]
    if kind == "files":
        for file in missing:
            base = where[0]
            url = (gluon.utils._get_repo_file_url(f"gluon/dataset/{name}", file)
                   if base == _MXNET_REPO else base + file)
            tmp = _mxnet_download(url, folder / file, sha1_of[file])
            _move_if_missing(tmp, folder / file)
            if tmp.exists():
                tmp.unlink()
        return
    archive_name, archive_sha1 = where
    url = gluon.utils._get_repo_file_url(f"gluon/dataset/{name}", archive_name)
    archive = _mxnet_download(url, folder / archive_name, archive_sha1)
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                file = os.path.basename(member.name)
                if member.isfile() and file in sha1_of:
                    tmp = _temporary_name(folder / file)
                    with tar.extractfile(member) as src, open(tmp, "wb") as dst:
                        dst.write(src.read())
                    _move_if_missing(tmp, folder / file)
                    if tmp.exists():
                        tmp.unlink()
    finally:
        archive.unlink()


def _require_files(name, folder, files, how_chosen, verify, download, split):
    """Paths of ``files`` in ``folder``, all present (and verified unless ``verify=False``);
    downloads the missing ones when ``download``; else raises :class:`DatasetNotFoundError`."""
    statuses = [check_file(name, folder / f, verify) for f in files]
    if download and any(s.state == "missing" for s in statuses):
        try:
            _download_missing(name, folder, statuses)
        except Exception as error:  # network, HTTP, checksum or disk errors: one clear error
            problems = {s.file: s.problem for s in statuses if not s.ok}
            raise DatasetNotFoundError(name, folder, problems, how_chosen, _short_cause(error),
                                       split, files) from None
        statuses = [check_file(name, folder / f, verify) for f in files]
    problems = {s.file: s.problem for s in statuses if not s.ok}
    problems.update(_mixed_releases(statuses))
    if problems:
        raise DatasetNotFoundError(name, folder, problems, how_chosen, split=split,
                                   expected=files)
    return statuses


# --------------------------------------------------------------------------- reading files
class _Unreadable(ValueError):
    pass


def _read_idx(path, magic):
    """The uint8 array of an IDX ``.gz`` file (images ``(n, rows, cols)`` or labels ``(n,)``)."""
    try:
        with gzip.open(path, "rb") as fin:
            raw = fin.read()
    except (OSError, EOFError, zlib.error) as error:
        raise _Unreadable(f"unreadable: not a complete gzip file ({error})") from None
    ndim = magic & 0xFF
    if len(raw) < 4 * (1 + ndim):
        raise _Unreadable("unreadable: too short for an IDX header")
    header = struct.unpack(">" + "I" * (1 + ndim), raw[:4 * (1 + ndim)])
    if header[0] != magic:
        raise _Unreadable(f"unreadable: IDX magic number {header[0]}, expected {magic}")
    shape = header[1:]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 * (1 + ndim))
    if body.size != int(np.prod(shape, dtype=np.int64)):
        raise _Unreadable(f"unreadable: {body.size} bytes of data, the IDX header "
                          f"promises {'x'.join(map(str, shape))}")
    return body.reshape(shape)


class _CheckedDataset:
    """What the four dataset classes add to MXNet's: find the files (data root order), check
    them (``KNOWN_FILES``), fetch missing ones only on request, and read them with checks."""
    name = None

    def _setup(self, root, train, transform, verify, download, sample=False):
        name = self.name
        self._train = bool(train)
        self._transform = transform
        self._data = self._label = None
        self._namespace = name
        folder, self.how_chosen = _sample_root(name) if sample else resolve_data_root(name, root)
        self._root = str(folder)
        self._verify = verify
        self._download = _download_requested(download) and not sample
        self._get_data()

    @property
    def split(self):
        return "train" if self._train else "test"

    @property
    def labels(self):
        """All labels, an ``np.int32`` array (``np.bincount(ds.labels)``: the class balance)."""
        return self._label

    @property
    def classes(self):
        """The class names, indexed by label."""
        return classes(self.name, getattr(self, "_fine_label", True))

    def _get_data(self):
        folder, split = Path(self._root), self.split
        statuses = _require_files(self.name, folder, SPLIT_FILES[self.name][split],
                                  self.how_chosen, self._verify, self._download, split)
        self.files = tuple(statuses)
        releases = {s.release for s in statuses if s.release}
        self.release = releases.pop() if releases else "not verified (verify=False)"
        try:
            data, label = self._read(statuses)
        except _Unreadable as error:
            file, problem = error.args
            raise DatasetNotFoundError(self.name, folder, {file: problem}, self.how_chosen,
                                       split=split, expected=[s.file for s in statuses]) from None
        array = mx.np.array if mx.util.is_np_array() else nd.array  # as MXNet's classes do
        self._data = array(data, dtype=data.dtype)
        self._label = label

    def _keep_first(self, count, what):
        """Keep only the first ``count`` examples (file order)."""
        if count > len(self._label):
            raise ValueError(f"{what}={count} is more than the {len(self._label)} examples of "
                             f"the {self.split} set in {self._root}")
        self._data, self._label = self._data[:count], self._label[:count]
        return self

    def __repr__(self):
        return (f"{type(self).__name__}({self.split}, {len(self)} examples, "
                f"{self.release}, root={self._root!r})")


class _IdxDataset(_CheckedDataset):
    def _read(self, statuses):
        (images_file, images_path), (labels_file, labels_path) = (
            (s.file, s.path) for s in statuses)
        try:
            images = _read_idx(images_path, 2051)
        except _Unreadable as error:
            raise _Unreadable(images_file, str(error)) from None
        try:
            labels = _read_idx(labels_path, 2049)
        except _Unreadable as error:
            raise _Unreadable(labels_file, str(error)) from None
        if images.shape[1:] != (28, 28):
            raise _Unreadable(images_file, f"unreadable: images are {images.shape[1]}x"
                                           f"{images.shape[2]}, expected 28x28")
        if len(images) != len(labels):
            raise _Unreadable(labels_file, f"unreadable: {len(labels)} labels for "
                                           f"{len(images)} images in {images_file}")
        if labels.size and labels.max() > 9:
            raise _Unreadable(labels_file, f"unreadable: label {labels.max()} is not in 0-9")
        return images.reshape(-1, 28, 28, 1), labels.astype(np.int32)


class MNIST(_IdxDataset, vision.MNIST):
    """MNIST handwritten digits (LeCun, Cortes, Burges), MXNet's ``gluon.data.vision.MNIST``
    with checked files. Items are ``(image, label)``: a (28, 28, 1) uint8 NDArray and an
    ``np.int32`` in 0-9. 60,000 training and 10,000 test images.

    Parameters: ``root`` (see :func:`resolve_data_root`), ``train``, ``transform`` (a callable
    ``(data, label) -> ...`` as in MXNet), ``verify`` (check sha1s; ``False`` accepts any files
    in the IDX format), ``download`` (fetch missing files with MXNet's downloader).
    """
    name = "mnist"

    def __init__(self, root=None, train=True, transform=None, verify=True, download=False):
        self._setup(root, train, transform, verify, download)


class FashionMNIST(_IdxDataset, vision.FashionMNIST):
    """Fashion-MNIST (Xiao, Rasul, Vollgraf, 2017), MXNet's ``gluon.data.vision.FashionMNIST``
    with checked files: accepts the 2017-08-26 release MXNet pins, the current 2017-08-31
    release, and (``sample=True``) the 1,000/500-image subset shipped with gluoncnn.
    Items are ``(image, label)``: a (28, 28, 1) uint8 NDArray and an ``np.int32`` in 0-9.
    Other parameters as :class:`MNIST`; ``.release`` says which release was read.
    """
    name = "fashion-mnist"

    def __init__(self, root=None, train=True, transform=None, verify=True, download=False,
                 sample=False):
        self._setup(root, train, transform, verify, download, sample)


class _CifarDataset(_CheckedDataset):
    def _read(self, statuses):
        record = _CIFAR_RECORD[self.name]
        data, labels = [], []
        for status in statuses:
            size = status.path.stat().st_size
            if size == 0 or size % record:
                raise _Unreadable(status.file, f"unreadable: {size} bytes is not a whole "
                                               f"number of {record}-byte CIFAR records")
            images, label = self._read_batch(str(status.path))  # MXNet's own record reader
            if label.size and label.max() >= self._label_count():
                raise _Unreadable(status.file, f"unreadable: label {label.max()} is not in "
                                               f"0-{self._label_count() - 1}")
            data.append(images)
            labels.append(label)
        return np.concatenate(data), np.concatenate(labels)

    def _label_count(self):
        return 10


class CIFAR10(_CifarDataset, vision.CIFAR10):
    """CIFAR-10 (Krizhevsky, 2009), MXNet's ``gluon.data.vision.CIFAR10`` with checked files:
    ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin`` directly in the folder,
    each a run of 3,073-byte records (label byte, then the 1,024-byte R, G and B planes of a
    32x32 image). Only the split's own files are needed. Items are ``(image, label)``: a
    (32, 32, 3) uint8 NDArray and an ``np.int32`` in 0-9. ``verify=False`` reads any files in
    this format (e.g. your own or a test's); other parameters as :class:`MNIST`.
    """
    name = "cifar10"

    def __init__(self, root=None, train=True, transform=None, verify=True, download=False):
        self._setup(root, train, transform, verify, download)


class CIFAR100(_CifarDataset, vision.CIFAR100):
    """CIFAR-100 (Krizhevsky, 2009), MXNet's ``gluon.data.vision.CIFAR100`` with checked files:
    ``train.bin`` and ``test.bin``, 3,074-byte records (coarse label byte, fine label byte,
    then the R, G, B planes). ``fine_label=True`` (the default here, unlike MXNet's ``False``)
    gives the 100 classes, ``False`` the 20 super-classes. Other parameters as :class:`CIFAR10`.
    """
    name = "cifar100"

    def __init__(self, root=None, fine_label=True, train=True, transform=None, verify=True,
                 download=False):
        self._fine_label = bool(fine_label)
        self._setup(root, train, transform, verify, download)

    def _label_count(self):
        return 100 if self._fine_label else 20


_CLASSES = {"fashion-mnist": FashionMNIST, "mnist": MNIST, "cifar10": CIFAR10,
            "cifar100": CIFAR100}


# --------------------------------------------------------------------------- labels
def classes(name, fine_label=True):
    """The class names of dataset ``name``, indexed by label (CIFAR-100: fine or coarse)."""
    name = canonical_name(name)
    if name == "cifar100":
        return CIFAR100_CLASSES if fine_label else CIFAR100_COARSE_CLASSES
    return {"fashion-mnist": FASHION_MNIST_CLASSES, "mnist": MNIST_CLASSES,
            "cifar10": CIFAR10_CLASSES}[name]


def text_labels(name, labels, fine_label=True):
    """Class names for ``labels`` (int, list, numpy array or NDArray); a str for a single int,
    else a list, like d2l's ``get_fashion_mnist_labels``."""
    names = classes(name, fine_label)
    if hasattr(labels, "asnumpy"):
        labels = labels.asnumpy()
    array = np.asarray(labels)
    if array.ndim == 0:
        return names[int(array)]
    return [names[int(i)] for i in array.ravel()]


def get_fashion_mnist_labels(labels):
    """d2l's name: the Fashion-MNIST class names of ``labels``."""
    return text_labels("fashion-mnist", labels)


# --------------------------------------------------------------------------- transforms
class RandomCrop(gluon.Block):
    """Random ``size`` crop of an HWC image after zero-padding ``padding`` pixels on each side
    (the CIFAR "pad 4, crop 32" augmentation). Offsets come from ``numpy.random``."""

    def __init__(self, size, padding=0):
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding

    def forward(self, x):
        height, width, channels = x.shape
        pad = self.padding
        if pad:
            canvas = nd.zeros((height + 2 * pad, width + 2 * pad, channels), dtype=x.dtype,
                              ctx=x.context)
            canvas[pad:pad + height, pad:pad + width, :] = x
            x, height, width = canvas, height + 2 * pad, width + 2 * pad
        crop_h, crop_w = self.size
        if crop_h > height or crop_w > width:
            raise ValueError(f"crop {crop_h}x{crop_w} is larger than the padded image "
                             f"{height}x{width}")
        top = np.random.randint(0, height - crop_h + 1)
        left = np.random.randint(0, width - crop_w + 1)
        return x[top:top + crop_h, left:left + crop_w, :]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def _positive_int(what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _resize_hw(resize):
    if resize is None:
        return None
    if isinstance(resize, (int, np.integer)) and not isinstance(resize, bool):
        return (_positive_int("resize", resize),) * 2
    if isinstance(resize, (tuple, list)) and len(resize) == 2:
        return tuple(_positive_int("resize", v) for v in resize)
    raise ValueError(f"resize must be a positive int or a (height, width) pair, got {resize!r}")


def _mean_std(name, normalize):
    if normalize is True:
        return MEAN_STD[name]
    channels = len(MEAN_STD[name][0])
    try:
        mean, std = normalize
        mean = tuple(float(m) for m in np.atleast_1d(mean))
        std = tuple(float(s) for s in np.atleast_1d(std))
    except (TypeError, ValueError):
        mean = std = ()
    if not (len(mean) in (1, channels) and len(std) in (1, channels) and min(std) > 0):
        raise ValueError(f"normalize must be True, False or (mean, std) with 1 or {channels} "
                         f"value(s) each and std > 0, got {normalize!r}")
    return mean, std


def get_transform(name, train=True, resize=None, normalize=False, augment=False):
    """The per-image transform ``load_data`` applies (HWC uint8 -> CHW float32).

    Order: augmentation (training only: CIFAR random 32x32 crop of the image zero-padded by 4
    plus horizontal flip; Fashion-MNIST random 28x28 crop with padding 2 plus horizontal flip;
    MNIST the crop only, since a mirrored digit is another symbol), then ``Resize``, then
    ``ToTensor`` (to [0, 1]), then ``Normalize`` when ``normalize`` is set.
    """
    name = canonical_name(name)
    steps = []
    if augment and train:
        size = 32 if name.startswith("cifar") else 28
        steps.append(RandomCrop(size, padding=4 if name.startswith("cifar") else 2))
        if name != "mnist":
            steps.append(transforms.RandomFlipLeftRight())
    hw = _resize_hw(resize)
    if hw is not None:
        steps.append(transforms.Resize((hw[1], hw[0])))  # gluon's Resize takes (width, height)
    steps.append(transforms.ToTensor())
    if normalize is not None and normalize is not False:
        mean, std = _mean_std(name, normalize)
        steps.append(transforms.Normalize(mean, std))
    return transforms.Compose(steps)


# --------------------------------------------------------------------------- datasets and loaders
def get_dataset(name, train=True, root=None, transform=None, sample=False, size=None,
                verify=True, download=False, fine_label=True):
    """The raw dataset ``name`` (items: HWC uint8 NDArray image, ``np.int32`` label).

    ``size`` keeps only the first ``size`` examples; ``sample=True`` reads the subset shipped
    with gluoncnn (Fashion-MNIST only); ``fine_label`` is for CIFAR-100 only. Raises
    :class:`DatasetNotFoundError` when the files are missing or wrong.
    """
    return _get_dataset(name, train, root, transform, sample, size, "size", verify, download,
                        fine_label)


def _get_dataset(name, train, root, transform, sample, size, size_name, verify, download,
                 fine_label):
    name = canonical_name(name)
    if sample and root is not None:
        raise ValueError("pass either sample=True (the shipped subset) or root=, not both")
    if not fine_label and name != "cifar100":
        raise ValueError(f"fine_label=False (coarse labels) is for 'cifar100' only, not {name!r}")
    kwargs = dict(root=root, train=train, transform=transform, verify=verify, download=download)
    if sample:
        _sample_root(name)  # a clear error for datasets without a shipped subset
        kwargs["sample"] = True
    if name == "cifar100":
        kwargs["fine_label"] = fine_label
    dataset = _CLASSES[name](**kwargs)
    if size is not None:
        dataset._keep_first(_positive_int(size_name, size), size_name)
    return dataset


def load_data(name, batch_size, resize=None, root=None, normalize=False, augment=False,
              train_size=None, test_size=None, sample=False, num_workers=0, download=False,
              verify=True, fine_label=True):
    """Load dataset ``name`` into memory and return ``(train_iter, test_iter)`` DataLoaders.

    Each batch is ``(X, y)``: ``X`` float32 ``(batch_size, C, H, W)`` in [0, 1] (or normalised),
    ``y`` int32 ``(batch_size,)``. As in d2l, the training loader shuffles and both keep the last,
    smaller batch (``last_batch='keep'``); the test set is never augmented nor shuffled.

    Parameters
    ----------
    name : 'fashion-mnist' | 'mnist' | 'cifar10' | 'cifar100' (case and '-'/'_' do not matter)
    batch_size : positive int
    resize : int or (height, width), optional; images are resized (after augmentation)
    root : folder with the files or holding ``<name>/``; default ``$GLUONCNN_DATA/<name>``, then
        ``$MXNET_HOME/datasets/<name>``
    normalize : False, True (the dataset's ``MEAN_STD``) or ``(mean, std)``
    augment : random crop with zero padding (4 for CIFAR, 2 for 28x28 images) and horizontal
        flip (not for MNIST digits); training set only
    train_size, test_size : keep only the first N examples of each set (quick runs)
    sample : use the Fashion-MNIST subset shipped with gluoncnn (1,000 train / 500 test)
    num_workers : DataLoader worker processes. 0 (default) loads in the main process, which is
        fastest for these small in-memory images on a 2-core machine
    download : fetch missing files with MXNet's downloader (also ``GLUONCNN_DOWNLOAD=1``);
        existing files are never overwritten
    verify : check sha1s against ``KNOWN_FILES``; ``False`` reads any files in the same format
    fine_label : CIFAR-100 only: 100 fine classes (True) or 20 coarse ones (False)
    """
    name = canonical_name(name)
    batch_size = _positive_int("batch_size", batch_size)
    num_workers = int(num_workers)
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    _resize_hw(resize)
    if normalize is not None and not isinstance(normalize, bool):
        _mean_std(name, normalize)
    for what, value in (("train_size", train_size), ("test_size", test_size)):
        if value is not None:
            _positive_int(what, value)
    common = dict(verify=verify, download=download, fine_label=fine_label)
    train_set = _get_dataset(name, True, root, None, sample, train_size, "train_size", **common)
    test_set = _get_dataset(name, False, root, None, sample, test_size, "test_size", **common)
    train_set = _transformed(train_set, True, resize, normalize, augment)
    test_set = _transformed(test_set, False, resize, normalize, augment)
    train_iter = gluon.data.DataLoader(train_set, batch_size, shuffle=True, last_batch="keep",
                                       num_workers=num_workers)
    test_iter = gluon.data.DataLoader(test_set, batch_size, shuffle=False, last_batch="keep",
                                      num_workers=num_workers)
    return train_iter, test_iter


#: Largest float32 set (bytes) that ``load_data`` transforms once, up front, instead of per image.
PRETRANSFORM_LIMIT = 1 << 30


class TensorDataset(gluon.data.ArrayDataset):
    """A dataset already turned into CHW float32 tensors (numpy), with its ``classes``."""

    def __init__(self, images, labels, classes):
        super().__init__(images, labels)
        self.classes = classes


def _transformed(dataset, train, resize, normalize, augment):
    """``dataset`` with ``get_transform``'s transform. A deterministic transform (no
    augmentation) whose result fits in ``PRETRANSFORM_LIMIT`` bytes is applied to the whole set
    at once with the same MXNet image operators, so an epoch does no per-image Python work
    (about 20x faster for Fashion-MNIST); otherwise it is applied per image, lazily."""
    transform = get_transform(dataset.name, train, resize, normalize, augment)
    n, h, w, c = dataset._data.shape
    hw = _resize_hw(resize) or (h, w)
    if (augment and train) or n * c * hw[0] * hw[1] * 4 > PRETRANSFORM_LIMIT:
        return dataset.transform_first(transform)
    chunks = []
    for start in range(0, n, 4096):
        chunks.append(transform(dataset._data[start:start + 4096]).asnumpy())
    images = np.concatenate(chunks) if chunks else np.zeros((0, c) + tuple(hw), np.float32)
    return TensorDataset(images, dataset._label, dataset.classes)


def load_data_fashion_mnist(batch_size, resize=None, **kwargs):
    """d2l's ``load_data_fashion_mnist``: ``load_data('fashion-mnist', batch_size, resize,
    ...)``."""
    return load_data("fashion-mnist", batch_size, resize, **kwargs)


def load_data_mnist(batch_size, resize=None, **kwargs):
    """``load_data('mnist', batch_size, resize, ...)``."""
    return load_data("mnist", batch_size, resize, **kwargs)


def load_data_cifar10(batch_size, resize=None, **kwargs):
    """``load_data('cifar10', batch_size, resize, ...)``."""
    return load_data("cifar10", batch_size, resize, **kwargs)


def load_data_cifar100(batch_size, resize=None, **kwargs):
    """``load_data('cifar100', batch_size, resize, ...)``; ``fine_label=False`` for 20 classes."""
    return load_data("cifar100", batch_size, resize, **kwargs)


# --------------------------------------------------------------------------- looking at data
def show_images(images, num_rows, num_cols, titles=None, scale=1.5):
    """Plot ``images`` (NDArray/array of HW, HWC or CHW images) on a grid, like d2l's
    ``show_images``; returns the matplotlib axes."""
    import matplotlib.pyplot as plt
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.ravel()
    for i, (ax, img) in enumerate(zip(axes, images)):
        img = img.asnumpy() if hasattr(img, "asnumpy") else np.asarray(img)
        if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
            img = img.transpose(1, 2, 0)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return axes
