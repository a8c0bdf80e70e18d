"""The dataset catalogue: every fact about a dataset, written once, in its :class:`DatasetSpec`.

``DATASETS`` maps each canonical name to its spec; the loaders, the file checks, the
downloader, the command line and ``gluoncnn doctor`` all read it. Adding a dataset means adding
one spec here (and, if its files are in a format no reader knows yet, a dataset class in
:mod:`gluoncnn.data.datasets`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OptionError
from ..utils import did_you_mean

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample"
"""The shipped subsets: ``SAMPLE_DIR / 'fashion-mnist'`` holds 1,000 train + 500 test images."""

# --------------------------------------------------------------------------- releases
FASHION_MNIST_2017_08_26 = "2017-08-26 release (the one MXNet 1.9.1 pins)"
FASHION_MNIST_2017_08_31 = "2017-08-31 release (current, duplicates removed)"
FASHION_MNIST_SAMPLE = "gluoncnn sample (first 1,000 train / 500 test of the 2017-08-31 release)"
MNIST_ORIGINAL = "original LeCun files"
CIFAR_OFFICIAL = "official binary version"

MXNET_REPO = "mxnet"
"""A :class:`Download` base meaning MXNet's Gluon dataset repository (``$MXNET_GLUON_REPO``,
read at call time)."""

# --------------------------------------------------------------------------- class names
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


# --------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Download:
    """Where ``download=True`` fetches one release.

    ``kind='files'``: each file alone, from ``base + file`` (``base=MXNET_REPO``: MXNet's Gluon
    repository, ``gluon/dataset/<name>/<file>``). ``kind='archive'``: one ``tar.gz`` named
    ``base`` in MXNet's repository, with sha1 ``archive_sha1``, the files taken from it."""
    kind: str
    base: str
    archive_sha1: str | None = None


@dataclass(frozen=True)
class Augmentation:
    """The training augmentation ``augment=True`` applies: a random ``crop`` x ``crop`` window
    of the image zero-padded by ``padding`` pixels, then a horizontal flip if ``flip``."""
    crop: int
    padding: int
    flip: bool


@dataclass(frozen=True)
class DatasetSpec:
    """Everything gluoncnn knows about one dataset.

    - ``name``: canonical name, also the folder under ``GLUONCNN_DATA`` and
      ``$MXNET_HOME/datasets``; ``aliases``: other accepted spellings (after lower-casing and
      ``_`` -> ``-``);
    - ``title``: the name people write (``'CIFAR-10'``);
    - ``image_size``, ``channels``: the native images (square);
    - ``class_names`` (indexed by label), ``coarse_class_names`` (CIFAR-100's super-classes);
    - ``mean``, ``std``: per-channel statistics of the training images in [0, 1]
      (``normalize=True``);
    - ``split_files``: ``{'train': files, 'test': files}``, directly in the dataset folder;
    - ``known_files``: ``{file: {sha1: release}}``, every accepted release of every file (a
      plain dict, so a test can register a file);
    - ``downloads``: ``{release: Download}``; the first is the default when the folder holds no
      file of a known release yet;
    - ``sample``: the folder of a subset shipped with gluoncnn, or ``None``;
    - ``augmentation``: what ``augment=True`` does on the training set.
    """
    name: str
    title: str
    image_size: int
    channels: int
    class_names: tuple
    mean: tuple
    std: tuple
    split_files: Mapping[str, tuple]
    known_files: Mapping[str, dict]
    downloads: Mapping[str, Download]
    augmentation: Augmentation
    coarse_class_names: tuple = ()
    sample: Path | None = None
    aliases: tuple = field(default=())

    @property
    def num_classes(self) -> int:
        """How many classes the (fine) labels have."""
        return len(self.class_names)

    @property
    def files(self) -> tuple:
        """Every file of the dataset, train then test."""
        return self.split_files["train"] + self.split_files["test"]

    def classes(self, fine_label: bool = True) -> tuple:
        """The class names indexed by label; ``fine_label=False``: the coarse ones."""
        if fine_label:
            return self.class_names
        if not self.coarse_class_names:
            raise OptionError(f"fine_label=False (coarse labels) is for "
                              f"{', '.join(repr(n) for n in coarse_datasets())} only, not "
                              f"{self.name!r}")
        return self.coarse_class_names

    def sha1_of(self, file: str, release: str) -> str:
        """The sha1 of ``file`` in ``release``."""
        return next(sha for sha, rel in self.known_files[file].items() if rel == release)


# --------------------------------------------------------------------------- the catalogue
_IDX_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
              "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def _idx_sha1s(*columns):
    """``{file: {sha1: release}}`` for the four IDX files, one ``(release, four sha1s)`` each."""
    files = _IDX_FILES["train"] + _IDX_FILES["test"]
    return {file: {sha1s[i]: release for release, sha1s in columns}
            for i, file in enumerate(files)}


_ZALANDO_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

_SPECS = (
    DatasetSpec(
        name="fashion-mnist", title="Fashion-MNIST", image_size=28, channels=1,
        class_names=FASHION_MNIST_CLASSES,
        # Computed here over all 60,000 training images of the 2017-08-31 release.
        mean=(0.2860,), std=(0.3530,),
        split_files=_IDX_FILES,
        known_files=_idx_sha1s(
            (FASHION_MNIST_2017_08_26, ("0cf37b0d40ed5169c6b3aba31069a9770ac9043d",
                                        "236021d52f1e40852b06a4c3008d8de8aef1e40b",
                                        "626ed6a7c06dd17c0eec72fa3be1740f146a2863",
                                        "17f9ab60e7257a1620f4ad76bbbaf857c3920701")),
            (FASHION_MNIST_2017_08_31, ("95978b76b6897f6ca69a25145d01716efb615989",
                                        "09814cfef5a041118ceace42f8dae995319d331a",
                                        "5edda96c6d8c36ff915115a0e8136d370a021576",
                                        "9caad14e1aff9adac77d3744963212d36af15bee")),
            (FASHION_MNIST_SAMPLE, ("9d0b2e457e39b4a89eb13f68a68394ccdcb0a722",
                                    "0e71cab1e91e003e73a8348f2a57d33a6744b7fe",
                                    "2ce8cfbc925f82930d1a7ef8cd6e4568b861f0fc",
                                    "7692ba43da5b0070e32c97b708e61497a1672096"))),
        downloads={FASHION_MNIST_2017_08_26: Download("files", MXNET_REPO),
                   FASHION_MNIST_2017_08_31: Download("files", _ZALANDO_URL)},
        augmentation=Augmentation(crop=28, padding=2, flip=True),
        sample=SAMPLE_DIR / "fashion-mnist", aliases=("fashionmnist",)),
    DatasetSpec(
        name="mnist", title="MNIST", image_size=28, channels=1, class_names=MNIST_CLASSES,
        mean=(0.1307,), std=(0.3081,),  # over all 60,000 training images
        split_files=_IDX_FILES,
        known_files=_idx_sha1s((MNIST_ORIGINAL, ("6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d",
                                                 "2a80914081dc54586dbdf242f9805a6b8d2a15fc",
                                                 "c3a25af1f52dad7f726cce8cacb138654b760d48",
                                                 "763e7fa3757d93b0cdec073cef058b2004252c17"))),
        downloads={MNIST_ORIGINAL: Download("files", MXNET_REPO)},
        # A mirrored digit is another symbol: no flip.
        augmentation=Augmentation(crop=28, padding=2, flip=False)),
    DatasetSpec(
        name="cifar10", title="CIFAR-10", image_size=32, channels=3, class_names=CIFAR10_CLASSES,
        # The usual values for the official training set.
        mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
        split_files={"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
                     "test": ("test_batch.bin",)},
        known_files={
            "data_batch_1.bin": {"aadd24acce27caa71bf4b10992e9e7b2d74c2540": CIFAR_OFFICIAL},
            "data_batch_2.bin": {"c0ba65cce70568cd57b4e03e9ac8d2a5367c1795": CIFAR_OFFICIAL},
            "data_batch_3.bin": {"1dd00a74ab1d17a6e7d73e185b69dbf31242f295": CIFAR_OFFICIAL},
            "data_batch_4.bin": {"aab85764eb3584312d3c7f65fd2fd016e36a258e": CIFAR_OFFICIAL},
            "data_batch_5.bin": {"26e2849e66a845b7f1e4614ae70f4889ae604628": CIFAR_OFFICIAL},
            "test_batch.bin": {"67eb016db431130d61cd03c7ad570b013799c88c": CIFAR_OFFICIAL}},
        downloads={CIFAR_OFFICIAL: Download("archive", "cifar-10-binary.tar.gz",
                                            "fab780a1e191a7eda0f345501ccd62d20f7ed891")},
        augmentation=Augmentation(crop=32, padding=4, flip=True), aliases=("cifar-10",)),
    DatasetSpec(
        name="cifar100", title="CIFAR-100", image_size=32, channels=3,
        class_names=CIFAR100_CLASSES, coarse_class_names=CIFAR100_COARSE_CLASSES,
        mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762),
        split_files={"train": ("train.bin",), "test": ("test.bin",)},
        known_files={
            "train.bin": {"e207cd2e05b73b1393c74c7f5e7bea451d63e08e": CIFAR_OFFICIAL},
            "test.bin": {"8fb6623e830365ff53cf14adec797474f5478006": CIFAR_OFFICIAL}},
        downloads={CIFAR_OFFICIAL: Download("archive", "cifar-100-binary.tar.gz",
                                            "a0bb982c76b83111308126cc779a992fa506b90b")},
        augmentation=Augmentation(crop=32, padding=4, flip=True), aliases=("cifar-100",)),
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}
"""Canonical name -> :class:`DatasetSpec`; iterating it gives the names, as the tuple it once
was did."""

DATASET_NAMES = tuple(DATASETS)
"""The canonical names, in catalogue order."""

# Views of the catalogue under their historical names (the same dict objects as the specs').
MEAN_STD = {name: (spec.mean, spec.std) for name, spec in DATASETS.items()}
SPLIT_FILES = {name: spec.split_files for name, spec in DATASETS.items()}
KNOWN_FILES = {name: spec.known_files for name, spec in DATASETS.items()}
_TITLES = {name: spec.title for name, spec in DATASETS.items()}


def coarse_datasets() -> tuple:
    """The datasets with coarse (super-class) labels."""
    return tuple(name for name, spec in DATASETS.items() if spec.coarse_class_names)


def canonical_name(name: str) -> str:
    """The dataset's canonical name: ``'Fashion_MNIST'`` -> ``'fashion-mnist'``, ``'CIFAR-10'``
    -> ``'cifar10'``. Raises :class:`~gluoncnn.errors.OptionError` (a ``ValueError``) listing
    the valid names for anything else."""
    if isinstance(name, str):
        key = name.strip().lower().replace("_", "-")
        for spec in DATASETS.values():
            if key == spec.name or key in spec.aliases:
                return spec.name
    raise OptionError(f"unknown dataset {name!r}; choose one of "
                      + ", ".join(repr(n) for n in DATASETS) + did_you_mean(name, DATASETS))


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of dataset ``name`` (any spelling :func:`canonical_name`
    accepts)."""
    return DATASETS[canonical_name(name)]


# --------------------------------------------------------------------------- labels
def classes(name: str, fine_label: bool = True) -> tuple:
    """The class names of dataset ``name``, indexed by label (CIFAR-100: fine or coarse)."""
    return dataset_spec(name).classes(fine_label)


LabelsLike = int | Sequence[int] | np.ndarray


def text_labels(name: str, labels: LabelsLike, fine_label: bool = True):
    """Class names for ``labels`` (int, list, numpy array or NDArray); a str for a single int,
    else a list, like d2l's ``get_fashion_mnist_labels``."""
    names = classes(name, fine_label)
    if hasattr(labels, "asnumpy"):
        labels = labels.asnumpy()
    array = np.asarray(labels)
    if array.ndim == 0:
        return names[int(array)]
    return [names[int(i)] for i in array.ravel()]


def get_fashion_mnist_labels(labels: LabelsLike):
    """d2l's name: the Fashion-MNIST class names of ``labels``."""
    return text_labels("fashion-mnist", labels)
