"""The dataset classes: MXNet's own ``gluon.data.vision`` classes (same items, same
``transform_first``), subclassed so that they

- accept every known release of a file by its sha1 (the catalogue's ``known_files``): both
  Fashion-MNIST releases (the 2017-08-26 files MXNet 1.9.1 pins and the current 2017-08-31
  ones) and the subset shipped in ``gluoncnn/sample/``;
- never download unless asked (``download=True`` or ``GLUONCNN_DOWNLOAD=1``), and never
  overwrite a file that is already there;
- raise one clear :class:`~gluoncnn.data.DatasetNotFoundError` when a file is missing, has an
  unknown checksum or cannot be read.

Each class declares the dataset it reads (``name``) and registers itself in
``DATASET_CLASSES``; the facts about the dataset come from its catalogue spec.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import nd
from mxnet.gluon.data import vision

from ..errors import OptionError
from .catalogue import DATASETS
from .files import (
    DatasetNotFoundError,
    download_requested,
    require_files,
    resolve_data_root,
    sample_root,
)

DATASET_CLASSES = {}
"""Canonical dataset name -> the class that reads it (filled as the classes are defined)."""


class _Unreadable(ValueError):
    """``(file, problem)``: a file is there but its content is not what it should be."""


class _CheckedDataset:
    """What the dataset classes add to MXNet's: find the files (data root order), check them
    (known sha1s), fetch missing ones only on request, and read them with checks."""
    name = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name is not None:
            DATASET_CLASSES[cls.name] = cls

    @property
    def spec(self):
        """The dataset's :class:`~gluoncnn.data.DatasetSpec`."""
        return DATASETS[self.name]

    def _setup(self, root, train, transform, verify, download, sample=False):
        self._train = bool(train)
        self._transform = transform
        self._data = self._label = None
        self._namespace = self.name
        folder, self.how_chosen = (sample_root(self.name) if sample
                                   else resolve_data_root(self.name, root))
        self._root = str(folder)
        self._verify = verify
        self._download = download_requested(download) and not sample
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
        return self.spec.classes(getattr(self, "_fine_label", True))

    def _get_data(self):
        folder, split = Path(self._root), self.split
        statuses = require_files(self.name, folder, self.spec.split_files[split],
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

    def _check_labels(self, file, labels):
        count = len(self.classes)
        if labels.size and labels.max() >= count:
            raise _Unreadable(file, f"unreadable: label {labels.max()} is not in 0-{count - 1}")

    def _keep_first(self, count, what):
        """Keep only the first ``count`` examples (file order)."""
        if count > len(self._label):
            raise OptionError(f"{what}={count} is more than the {len(self._label)} examples of "
                              f"the {self.split} set in {self._root}")
        self._data, self._label = self._data[:count], self._label[:count]
        return self

    def __repr__(self):
        return (f"{type(self).__name__}({self.split}, {len(self)} examples, "
                f"{self.release}, root={self._root!r})")


# --------------------------------------------------------------------------- IDX (MNIST family)
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


def _read_idx_file(status, magic):
    try:
        return _read_idx(status.path, magic)
    except _Unreadable as error:
        raise _Unreadable(status.file, str(error)) from None


class _IdxDataset(_CheckedDataset):
    """Grey images in the IDX format: an images file and a labels file per split."""

    def _read(self, statuses):
        images_status, labels_status = statuses
        images = _read_idx_file(images_status, 2051)
        labels = _read_idx_file(labels_status, 2049)
        side = self.spec.image_size
        if images.shape[1:] != (side, side):
            raise _Unreadable(images_status.file, f"unreadable: images are {images.shape[1]}x"
                                                  f"{images.shape[2]}, expected {side}x{side}")
        if len(images) != len(labels):
            raise _Unreadable(labels_status.file, f"unreadable: {len(labels)} labels for "
                                                  f"{len(images)} images in "
                                                  f"{images_status.file}")
        self._check_labels(labels_status.file, labels)
        return images.reshape(-1, side, side, 1), labels.astype(np.int32)


class MNIST(_IdxDataset, vision.MNIST):
    """MNIST handwritten digits (LeCun, Cortes, Burges), MXNet's ``gluon.data.vision.MNIST``
    with checked files. Items are ``(image, label)``: a (28, 28, 1) uint8 NDArray and an
    ``np.int32`` in 0-9. 60,000 training and 10,000 test images.

    Parameters: ``root`` (see :func:`~gluoncnn.data.resolve_data_root`), ``train``,
    ``transform`` (a callable ``(data, label) -> ...`` as in MXNet), ``verify`` (check sha1s;
    ``False`` accepts any files in the IDX format), ``download`` (fetch missing files with
    MXNet's downloader).
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


# --------------------------------------------------------------------------- CIFAR binary
class _CifarDataset(_CheckedDataset):
    """Runs of fixed-size records: ``label_bytes`` label byte(s), then the R, G, B planes."""
    label_bytes = 1

    def _read(self, statuses):
        spec = self.spec
        record = self.label_bytes + spec.channels * spec.image_size ** 2
        data, labels = [], []
        for status in statuses:
            size = status.path.stat().st_size
            if size == 0 or size % record:
                raise _Unreadable(status.file, f"unreadable: {size} bytes is not a whole "
                                               f"number of {record}-byte CIFAR records")
            images, label = self._read_batch(str(status.path))  # MXNet's own record reader
            self._check_labels(status.file, label)
            data.append(images)
            labels.append(label)
        return np.concatenate(data), np.concatenate(labels)


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
    label_bytes = 2

    def __init__(self, root=None, fine_label=True, train=True, transform=None, verify=True,
                 download=False):
        self._fine_label = bool(fine_label)
        self._setup(root, train, transform, verify, download)
