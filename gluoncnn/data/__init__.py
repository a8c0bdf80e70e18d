"""Datasets and data loaders: Fashion-MNIST, MNIST, CIFAR-10 and CIFAR-100.

One catalogue (:mod:`~gluoncnn.data.catalogue`, ``DATASETS``: name -> :class:`DatasetSpec`)
holds every fact about every dataset: title, image size, channels, class names, mean/std, the
files of each split with the sha1s of every accepted release, where to download them, the
shipped sample and the augmentation. The rest reads it:

========================  ==================================================================
module                    job
========================  ==================================================================
``catalogue``             the specs, ``DATASETS``, names, class names and labels
``files``                 where the files are (data root), their sha1 check, folder status,
                          :class:`DatasetNotFoundError`
``download``              fetching missing files with MXNet's downloader, never over a file
``datasets``              the dataset classes (MXNet's ``gluon.data.vision`` ones, checked)
``transforms``            augmentation, resize, ``ToTensor``, normalisation
``loading``               :func:`get_dataset`, :func:`load_data` and d2l's loader names
``show``                  :func:`show_images`
========================  ==================================================================

The dataset classes are MXNet's own (same items, same ``transform_first``); they accept every
known release of a file by its sha1 (both Fashion-MNIST releases and the subset shipped in
``gluoncnn/sample/``), never download unless asked (``download=True`` or
``GLUONCNN_DOWNLOAD=1``) and never overwrite a file that is already there, and raise one clear
:class:`DatasetNotFoundError` naming the dataset, the folder, each file and what was wrong with
it, and how to fix it.

Where the files are looked for (:func:`resolve_data_root`): ``root=``, then
``$GLUONCNN_DATA/<name>``, then MXNet's default ``$MXNET_HOME/datasets/<name>``.

The loaders return ``(train_iter, test_iter)`` of ``gluon.data.DataLoader`` like d2l's
``load_data_fashion_mnist``: ``X`` is a float32 NCHW batch in [0, 1] (or normalised) and ``y``
an int32 batch of class indices.
"""
from .. import runtime

runtime.import_mxnet()  # before this package's modules import mxnet: one clear error without it

from .catalogue import (
                        _TITLES,  # noqa: F401  (the name gluoncnn.doctor reads)
                        CIFAR10_CLASSES,
                        CIFAR100_CLASSES,
                        CIFAR100_COARSE_CLASSES,
                        CIFAR_OFFICIAL,
                        DATASET_NAMES,
                        DATASETS,
                        FASHION_MNIST_2017_08_26,
                        FASHION_MNIST_2017_08_31,
                        FASHION_MNIST_CLASSES,
                        FASHION_MNIST_SAMPLE,
                        KNOWN_FILES,
                        MEAN_STD,
                        MNIST_CLASSES,
                        MNIST_ORIGINAL,
                        SAMPLE_DIR,
                        SPLIT_FILES,
                        Augmentation,
                        DatasetSpec,
                        Download,
                        canonical_name,
                        classes,
                        dataset_spec,
                        get_fashion_mnist_labels,
                        text_labels,
)
from .datasets import CIFAR10, CIFAR100, DATASET_CLASSES, MNIST, FashionMNIST
from .files import (
                        DatasetNotFoundError,
                        DatasetStatus,
                        FileStatus,
                        check_file,
                        data_root,
                        dataset_status,
                        folder_status,
                        mixed_releases,
                        resolve_data_root,
)
from .loading import (
                        PRETRANSFORM_LIMIT,
                        TensorDataset,
                        get_dataset,
                        load_data,
                        load_data_cifar10,
                        load_data_cifar100,
                        load_data_fashion_mnist,
                        load_data_mnist,
)
from .show import show_images
from .transforms import RandomCrop, get_transform

_mixed_releases = mixed_releases  # the name gluoncnn.doctor used

__all__ = [
    "DATASETS", "DATASET_NAMES", "DatasetSpec", "Download", "Augmentation", "dataset_spec",
    "SPLIT_FILES", "KNOWN_FILES", "MEAN_STD", "SAMPLE_DIR",
    "FASHION_MNIST_2017_08_26", "FASHION_MNIST_2017_08_31", "FASHION_MNIST_SAMPLE",
    "MNIST_ORIGINAL", "CIFAR_OFFICIAL",
    "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "CIFAR10_CLASSES", "CIFAR100_CLASSES",
    "CIFAR100_COARSE_CLASSES",
    "DatasetNotFoundError", "FileStatus", "DatasetStatus", "mixed_releases",
    "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "DATASET_CLASSES", "RandomCrop",
    "canonical_name", "resolve_data_root", "data_root", "check_file", "folder_status",
    "dataset_status", "get_dataset", "get_transform", "classes", "text_labels",
    "get_fashion_mnist_labels", "load_data", "load_data_fashion_mnist", "load_data_mnist",
    "load_data_cifar10", "load_data_cifar100", "TensorDataset", "PRETRANSFORM_LIMIT",
    "show_images",
]
