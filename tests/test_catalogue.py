"""gluoncnn.data's catalogue: one spec per dataset, consistent with itself and read by every
part of the data package."""
import pickle

import pytest

from gluoncnn import data as D
from gluoncnn.errors import GluonCNNError, OptionError
from gluoncnn.utils import block_paths


@pytest.mark.parametrize("name", list(D.DATASETS))
def test_every_spec_is_complete_and_consistent(name):
    spec = D.DATASETS[name]
    assert spec.name == name and D.canonical_name(spec.title) == name
    assert all(D.canonical_name(alias) == name for alias in spec.aliases)
    assert len(spec.mean) == len(spec.std) == spec.channels
    assert spec.num_classes == len(spec.class_names) == len(set(spec.class_names))
    assert set(spec.known_files) == set(spec.files)  # a sha1 table for every file, no other
    for release, download in spec.downloads.items():
        assert download.kind in ("files", "archive")
        for file in spec.files:  # every downloadable release is known for every file
            assert spec.known_files[file][spec.sha1_of(file, release)] == release
    assert spec.augmentation.crop == spec.image_size
    assert D.DATASET_CLASSES[name].name == name
    assert spec.sample is None or (spec.sample / spec.files[0]).is_file()


def test_historical_tables_are_views_of_the_specs():
    assert D.DATASET_NAMES == tuple(D.DATASETS) == ("fashion-mnist", "mnist", "cifar10",
                                                    "cifar100")
    assert list(D.DATASETS) == list(D.DATASET_NAMES)  # iterating gives the names, as before
    for name, spec in D.DATASETS.items():
        assert D.KNOWN_FILES[name] is spec.known_files  # registering a sha1 reaches the checks
        assert D.MEAN_STD[name] == (spec.mean, spec.std)
        assert D.SPLIT_FILES[name] == spec.split_files
        assert D.classes(name) == spec.class_names
    assert D.DATASETS["cifar100"].classes(fine_label=False) == D.CIFAR100_COARSE_CLASSES
    assert (D.DATASETS["cifar10"].image_size, D.DATASETS["cifar10"].channels) == (32, 3)


def test_errors_are_gluoncnn_errors():
    error = D.DatasetNotFoundError("mnist", "/nowhere", {"t10k-images-idx3-ubyte.gz": "missing"})
    assert isinstance(error, GluonCNNError) and isinstance(error, FileNotFoundError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is D.DatasetNotFoundError and str(copy) == str(error)
    with pytest.raises(OptionError, match=r"did you mean cifar10, cifar100\?"):
        D.canonical_name("cifar1")
    with pytest.raises(OptionError, match="fine_label=False .* 'cifar100'"):
        D.classes("mnist", fine_label=False)
    with pytest.raises(OptionError, match="only available for 'fashion-mnist'"):
        D.get_dataset("cifar10", sample=True)


def test_block_paths_unique_walks_a_shared_block_once():
    from mxnet.gluon import nn
    shared = nn.Dense(4)
    net = nn.HybridSequential()
    net.add(shared, nn.Dense(3), shared)
    assert [p for p, _ in block_paths(net)] == ["", "0", "1", "2"]
    assert [p for p, _ in block_paths(net, unique=True)] == ["", "0", "1"]
