"""``get_dataset`` and ``load_data``: a dataset of the catalogue as MXNet DataLoaders.

The loaders return ``(train_iter, test_iter)`` of ``gluon.data.DataLoader`` like d2l's
``load_data_fashion_mnist``: ``X`` is a float32 NCHW batch in [0, 1] (or normalised) and ``y``
an int32 batch of class indices.
"""
from __future__ import annotations

import numpy as np
from mxnet import gluon, nd

from ..errors import OptionError
from .catalogue import DATASETS, canonical_name, coarse_datasets
from .datasets import DATASET_CLASSES
from .files import PathLike, sample_root
from .transforms import (
    Normalize,
    Resize,
    get_transform,
    mean_std,
    positive_int,
    resize_hw,
)

#: Largest float32 set (bytes) that ``load_data`` transforms once, up front, instead of per image.
PRETRANSFORM_LIMIT = 1 << 30


def get_dataset(name: str, train: bool = True, root: PathLike | None = None,
                transform=None, sample: bool = False, size: int | None = None,
                verify: bool = True, download: bool = False, fine_label: bool = True):
    """The raw dataset ``name`` (items: HWC uint8 NDArray image, ``np.int32`` label).

    ``size`` keeps only the first ``size`` examples; ``sample=True`` reads the subset shipped
    with gluoncnn (Fashion-MNIST only); ``fine_label`` is for CIFAR-100 only. Raises
    :class:`~gluoncnn.data.DatasetNotFoundError` when the files are missing or wrong.
    """
    return _get_dataset(name, train, root, transform, sample, size, "size", verify, download,
                        fine_label)


def _get_dataset(name, train, root, transform, sample, size, size_name, verify, download,
                 fine_label):
    name = canonical_name(name)
    if sample and root is not None:
        raise OptionError("pass either sample=True (the shipped subset) or root=, not both")
    if not fine_label and not DATASETS[name].coarse_class_names:
        raise OptionError(f"fine_label=False (coarse labels) is for "
                          f"{', '.join(repr(n) for n in coarse_datasets())} only, not {name!r}")
    kwargs = dict(root=root, train=train, transform=transform, verify=verify, download=download)
    if sample:
        sample_root(name)  # a clear error for datasets without a shipped subset
        kwargs["sample"] = True
    if DATASETS[name].coarse_class_names:
        kwargs["fine_label"] = fine_label
    dataset = DATASET_CLASSES[name](**kwargs)
    if size is not None:
        dataset._keep_first(positive_int(size_name, size), size_name)
    return dataset


def _check_options(name, batch_size, num_workers, resize, normalize, train_size, test_size):
    """Every argument of ``load_data`` checked before any file is read."""
    positive_int("batch_size", batch_size)
    if int(num_workers) < 0:
        raise OptionError(f"num_workers must be >= 0, got {int(num_workers)}")
    resize_hw(resize)
    if normalize is not None and not isinstance(normalize, bool):
        mean_std(name, normalize)
    for what, value in (("train_size", train_size), ("test_size", test_size)):
        if value is not None:
            positive_int(what, value)


def load_data(name: str, batch_size: int, resize: Resize = None, root: PathLike | None = None,
              normalize: Normalize = False, augment: bool = False,
              train_size: int | None = None, test_size: int | None = None,
              sample: bool = False, num_workers: int = 0, download: bool = False,
              verify: bool = True, fine_label: bool = True
              ) -> tuple[gluon.data.DataLoader, gluon.data.DataLoader]:
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
    normalize : False, True (the dataset's ``mean``/``std`` in the catalogue) or ``(mean, std)``
    augment : the dataset's ``augmentation``: random crop with zero padding (4 for CIFAR, 2 for
        28x28 images) and horizontal flip (not for MNIST digits); training set only
    train_size, test_size : keep only the first N examples of each set (quick runs)
    sample : use the Fashion-MNIST subset shipped with gluoncnn (1,000 train / 500 test)
    num_workers : DataLoader worker processes. 0 (default) loads in the main process, which is
        fastest for these small in-memory images on a 2-core machine
    download : fetch missing files with MXNet's downloader (also ``GLUONCNN_DOWNLOAD=1``);
        existing files are never overwritten
    verify : check sha1s against the catalogue's ``known_files``; ``False`` reads any files in
        the same format
    fine_label : CIFAR-100 only: 100 fine classes (True) or 20 coarse ones (False)
    """
    name = canonical_name(name)
    _check_options(name, batch_size, num_workers, resize, normalize, train_size, test_size)
    common = dict(verify=verify, download=download, fine_label=fine_label)
    train_set = _get_dataset(name, True, root, None, sample, train_size, "train_size", **common)
    test_set = _get_dataset(name, False, root, None, sample, test_size, "test_size", **common)
    train_set = _transformed(train_set, True, resize, normalize, augment)
    test_set = _transformed(test_set, False, resize, normalize, augment)
    train_iter = TensorLoader(train_set, int(batch_size), shuffle=True, last_batch="keep",
                              num_workers=int(num_workers))
    test_iter = TensorLoader(test_set, int(batch_size), shuffle=False, last_batch="keep",
                             num_workers=int(num_workers))
    return train_iter, test_iter


class TensorDataset(gluon.data.ArrayDataset):
    """A dataset already turned into CHW float32 tensors (numpy), with its ``classes``."""

    def __init__(self, images, labels, classes):
        super().__init__(images, labels)
        self.classes = classes


class TensorLoader(gluon.data.DataLoader):
    """``gluon.data.DataLoader`` that cuts the batches of a :class:`TensorDataset` (in the main
    process) ahead, a chunk of about ``CHUNK_BYTES`` at a time: the same batches in the same
    order (the same sampler), without the per-batch Python work that, between training steps,
    competes with MXNet's OpenMP threads for the cores. Other datasets, or worker processes: the
    DataLoader's own iteration."""

    CHUNK_BYTES = 64 << 20

    def __iter__(self):
        if self._num_workers or not isinstance(self._dataset, TensorDataset):
            yield from super().__iter__()
            return
        images, labels = self._dataset._data
        batches = [np.asarray(b, dtype=np.int64) for b in self._batch_sampler]
        per_batch = max(1, images[:1].nbytes * max(map(len, batches), default=1))
        batches_per_chunk = max(1, self.CHUNK_BYTES // per_batch)
        for first in range(0, len(batches), batches_per_chunk):
            chunk = batches[first:first + batches_per_chunk]
            order = np.concatenate(chunk)
            X = nd.array(images[order], dtype=images.dtype)
            y = nd.array(labels[order], dtype=labels.dtype)
            start = 0
            for b in chunk:
                yield [X[start:start + len(b)], y[start:start + len(b)]]
                start += len(b)


def _transformed(dataset, train, resize, normalize, augment):
    """``dataset`` with ``get_transform``'s transform. A deterministic transform (no
    augmentation) whose result fits in ``PRETRANSFORM_LIMIT`` bytes is applied to the whole set
    at once with the same MXNet image operators, so an epoch does no per-image Python work
    (about 20x faster for Fashion-MNIST); otherwise it is applied per image, lazily."""
    transform = get_transform(dataset.name, train, resize, normalize, augment)
    n, h, w, c = dataset._data.shape
    hw = resize_hw(resize) or (h, w)
    if (augment and train) or n * c * hw[0] * hw[1] * 4 > PRETRANSFORM_LIMIT:
        return dataset.transform_first(transform)
    chunks = []
    for start in range(0, n, 4096):
        chunks.append(transform(dataset._data[start:start + 4096]).asnumpy())
    images = np.concatenate(chunks) if chunks else np.zeros((0, c) + tuple(hw), np.float32)
    return TensorDataset(images, dataset._label, dataset.classes)


def load_data_fashion_mnist(batch_size: int, resize: Resize = None, **kwargs):
    """d2l's ``load_data_fashion_mnist``: ``load_data('fashion-mnist', batch_size, resize,
    ...)``."""
    return load_data("fashion-mnist", batch_size, resize, **kwargs)


def load_data_mnist(batch_size: int, resize: Resize = None, **kwargs):
    """``load_data('mnist', batch_size, resize, ...)``."""
    return load_data("mnist", batch_size, resize, **kwargs)


def load_data_cifar10(batch_size: int, resize: Resize = None, **kwargs):
    """``load_data('cifar10', batch_size, resize, ...)``."""
    return load_data("cifar10", batch_size, resize, **kwargs)


def load_data_cifar100(batch_size: int, resize: Resize = None, **kwargs):
    """``load_data('cifar100', batch_size, resize, ...)``; ``fine_label=False`` for 20 classes."""
    return load_data("cifar100", batch_size, resize, **kwargs)
