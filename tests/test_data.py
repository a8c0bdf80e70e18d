"""gluoncnn.data: the real datasets, the shipped sample, the file checks and their errors,
CIFAR files written here in the exact binary format, transforms and argument checks."""
import gzip
import hashlib
import importlib.util
import inspect
import re
import shutil
import struct
import tarfile

import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon.data import vision

from gluoncnn import data as D

SAMPLE = D.SAMPLE_DIR / "fashion-mnist"
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def sha1(path):
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def sample_copy(tmp_path):
    """A writable copy of the shipped sample, as a user's ``fashion-mnist`` folder."""
    folder = tmp_path / "fashion-mnist"
    shutil.copytree(SAMPLE, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


# --------------------------------------------------------------------------- real data
def test_fashion_mnist_real_files(shared_data):
    train = D.get_dataset("fashion-mnist", train=True, root=shared_data)
    test = D.get_dataset("Fashion_MNIST", train=False, root=shared_data / "fashion-mnist")
    assert (len(train), len(test)) == (60000, 10000)
    assert train.release == test.release == D.FASHION_MNIST_2017_08_31
    image, label = train[0]
    assert image.shape == (28, 28, 1) and image.dtype == np.uint8
    assert label == 9 and test[0][1] == 9
    assert train.labels.dtype == np.int32
    assert np.bincount(train.labels).tolist() == [6000] * 10  # every class 6,000 times
    assert isinstance(train, vision.FashionMNIST)  # MXNet's own class underneath


def test_mnist_real_files(shared_data, monkeypatch):
    monkeypatch.setenv("GLUONCNN_DATA", str(shared_data))
    train, test = D.MNIST(train=True), D.MNIST(train=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert train[0][1] == 5 and test[0][1] == 7
    assert train.labels.min() == 0 and train.labels.max() == 9
    assert train.release == D.MNIST_ORIGINAL and isinstance(train, vision.MNIST)


def test_load_data_fashion_mnist_batches(shared_data, monkeypatch):
    monkeypatch.setenv("GLUONCNN_DATA", str(shared_data))
    train_iter, test_iter = D.load_data_fashion_mnist(256)
    assert len(train_iter) == 235 and len(test_iter) == 40  # ceil(60000/256), last batch kept
    X, y = next(iter(test_iter))
    assert X.shape == (256, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (256,) and y.dtype == np.int32
    assert 0 <= X.min().asscalar() and X.max().asscalar() <= 1
    raw = D.get_dataset("fashion-mnist", train=False)
    assert (y.asnumpy() == raw.labels[:256]).all()  # test set in file order
    np.testing.assert_allclose(X[0, 0].asnumpy(), raw[0][0][:, :, 0].asnumpy() / 255, atol=1e-6)


def test_resize_and_normalize_on_mnist(shared_data):
    train_iter, test_iter = D.load_data("MNIST", 4, resize=96, root=shared_data, normalize=True,
                                        train_size=8, test_size=8)
    X, y = next(iter(train_iter))
    assert X.shape == (4, 1, 96, 96) and y.shape == (4,)
    X, _ = next(iter(test_iter))
    assert X.min().asscalar() == pytest.approx(-0.1307 / 0.3081, abs=1e-4)  # black pixels


def test_sample_is_the_start_of_the_full_set(shared_data, tmp_path):
    spec = importlib.util.spec_from_file_location("make_sample",
                                                  D.SAMPLE_DIR / "make_sample.py")
    make_sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sample)
    made = make_sample.make_sample(shared_data / "fashion-mnist", tmp_path)
    for name, digest in made.items():  # regenerating gives the shipped bytes
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes()
        assert D.KNOWN_FILES["fashion-mnist"][name][digest] == D.FASHION_MNIST_SAMPLE
    full = D.get_dataset("fashion-mnist", train=False, root=shared_data, size=500)
    sample = D.get_dataset("fashion-mnist", train=False, sample=True)
    assert (full.labels == sample.labels).all()
    assert (full[499][0].asnumpy() == sample[499][0].asnumpy()).all()


# --------------------------------------------------------------------------- shipped sample
def test_sample_loads_without_shared_data(no_network, monkeypatch):
    monkeypatch.delenv("GLUONCNN_DATA", raising=False)
    train_iter, test_iter = D.load_data_fashion_mnist(100, sample=True)
    assert len(train_iter._dataset) == 1000 and len(test_iter._dataset) == 500
    assert (len(train_iter), len(test_iter)) == (10, 5)
    X, y = next(iter(train_iter))
    assert X.shape == (100, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int32
    train = D.FashionMNIST(sample=True)
    assert train.release == D.FASHION_MNIST_SAMPLE and train[0][1] == 9
    assert D.folder_status("fashion-mnist", SAMPLE).state == "verified"


def test_train_and_test_size_keep_the_first_examples():
    full = D.get_dataset("fashion-mnist", sample=True)
    train_iter, test_iter = D.load_data("fashion-mnist", 16, sample=True, train_size=40,
                                        test_size=20)
    assert len(train_iter._dataset) == 40 and len(test_iter._dataset) == 20
    labels = np.concatenate([y.asnumpy() for _, y in train_iter])
    assert sorted(labels) == sorted(full.labels[:40])  # shuffled, the same 40 examples
    with pytest.raises(ValueError, match="train_size=2000 is more than the 1000 examples"):
        D.load_data("fashion-mnist", 16, sample=True, train_size=2000)


def test_loader_cuts_the_batches_a_dataloader_gives_in_the_same_order(monkeypatch):
    from mxnet import gluon

    from gluoncnn.data.loading import TensorLoader
    train_iter, _ = D.load_data("fashion-mnist", 64, sample=True, train_size=300)
    assert isinstance(train_iter, TensorLoader)
    monkeypatch.setattr(TensorLoader, "CHUNK_BYTES", 3 * 64 * 28 * 28 * 4)  # 3 batches a chunk
    for shuffle in (True, False):
        plain = gluon.data.DataLoader(train_iter._dataset, 64, shuffle=shuffle,
                                      last_batch="keep")
        cut = TensorLoader(train_iter._dataset, 64, shuffle=shuffle, last_batch="keep")
        np.random.seed(7)
        expected = [(X.asnumpy(), y.asnumpy()) for X, y in plain]
        np.random.seed(7)
        got = [(X.asnumpy(), y.asnumpy()) for X, y in cut]
        assert [len(y) for _, y in got] == [64, 64, 64, 64, 44]
        for (X0, y0), (X1, y1) in zip(expected, got, strict=True):
            assert X1.dtype == X0.dtype and y1.dtype == y0.dtype
            np.testing.assert_array_equal(X1, X0)
            np.testing.assert_array_equal(y1, y0)


# --------------------------------------------------------------------------- data root
def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.delenv("GLUONCNN_DATA", raising=False)
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "home"))  # read at call time
    assert D.data_root("mnist") == tmp_path / "home" / "datasets" / "mnist"
    monkeypatch.setenv("GLUONCNN_DATA", str(tmp_path / "shared"))
    folder, how = D.resolve_data_root("fashion_mnist")
    assert folder == tmp_path / "shared" / "fashion-mnist" and "GLUONCNN_DATA" in how
    assert D.data_root("cifar10", root=tmp_path / "mine") == tmp_path / "mine"
    (tmp_path / "parent" / "cifar100").mkdir(parents=True)  # a folder holding <name>/
    assert D.data_root("CIFAR-100", root=tmp_path / "parent") == tmp_path / "parent" / "cifar100"


# --------------------------------------------------------------------------- releases
def test_every_sha1_mxnet_pins_is_registered_as_the_old_release():
    source = inspect.getsource(vision.FashionMNIST.__init__)
    pinned = re.findall(r"\('([\w.-]+\.gz)',\s*'([0-9a-f]{40})'\)", source)
    assert len(pinned) == 4
    for name, digest in pinned:
        assert D.KNOWN_FILES["fashion-mnist"][name][digest] == D.FASHION_MNIST_2017_08_26


def test_files_with_a_sha1_registered_as_old_release_are_accepted(sample_copy, monkeypatch,
                                                                  no_network):
    # We have no copy of the 2017-08-26 files, so register the sample's sha1s as that release:
    # this checks the acceptance logic (sha1 -> release), not the old files themselves.
    for name in TEST_FILES:
        monkeypatch.setitem(D.KNOWN_FILES["fashion-mnist"], name,
                            {sha1(sample_copy / name): D.FASHION_MNIST_2017_08_26})
    test = D.get_dataset("fashion-mnist", train=False, root=sample_copy)
    assert test.release == D.FASHION_MNIST_2017_08_26 and len(test) == 500
    assert D.check_file("fashion-mnist", sample_copy / TEST_FILES[0]).release == \
        D.FASHION_MNIST_2017_08_26


def test_images_and_labels_of_different_releases_are_refused(sample_copy, monkeypatch):
    images, labels = TEST_FILES
    monkeypatch.setitem(D.KNOWN_FILES["fashion-mnist"], images,
                        {sha1(sample_copy / images): D.FASHION_MNIST_2017_08_26})
    monkeypatch.setitem(D.KNOWN_FILES["fashion-mnist"], labels,
                        {sha1(sample_copy / labels): D.FASHION_MNIST_2017_08_31})
    with pytest.raises(D.DatasetNotFoundError, match="releases"):
        D.get_dataset("fashion-mnist", train=False, root=sample_copy)


# --------------------------------------------------------------------------- clear errors
def test_corrupt_file_gives_the_clear_error_and_is_left_untouched(sample_copy, no_network):
    corrupt = sample_copy / TEST_FILES[0]
    corrupt.write_bytes(corrupt.read_bytes()[:5000])  # a truncated download
    before = corrupt.read_bytes()
    with pytest.raises(D.DatasetNotFoundError) as info:
        D.load_data_fashion_mnist(32, root=sample_copy)
    error = info.value
    assert isinstance(error, FileNotFoundError)
    text = str(error)
    for needed in ("Fashion-MNIST", str(sample_copy), TEST_FILES[0], TEST_FILES[1],
                   "unknown checksum", sha1(corrupt), "GLUONCNN_DATA", "root=", "download=True",
                   "verify=False", "sample=True"):
        assert needed in text
    assert error.problems == {TEST_FILES[0]: error.problems[TEST_FILES[0]]}
    assert corrupt.read_bytes() == before
    assert sorted(p.name for p in sample_copy.iterdir()) == sorted(p.name for p in SAMPLE.iterdir())


def test_missing_folder_gives_the_clear_error_and_creates_nothing(tmp_path, no_network):
    folder = tmp_path / "nowhere"
    with pytest.raises(D.DatasetNotFoundError) as info:
        D.MNIST(root=folder, train=True)
    text = str(info.value)
    assert "MNIST" in text and "does not exist" in text and str(folder) in text
    assert "train-images-idx3-ubyte.gz: missing" in text
    assert "train-labels-idx1-ubyte.gz: missing" in text
    assert not folder.exists()


def test_unreadable_content_with_verify_false(sample_copy):
    bad = sample_copy / TEST_FILES[0]
    bad.write_bytes(gzip.compress(struct.pack(">IIII", 2049, 500, 28, 28) + bytes(500 * 784)))
    with pytest.raises(D.DatasetNotFoundError, match="IDX magic number 2049, expected 2051"):
        D.get_dataset("fashion-mnist", train=False, root=sample_copy, verify=False)
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(D.DatasetNotFoundError, match="not a complete gzip file"):
        D.get_dataset("fashion-mnist", train=False, root=sample_copy, verify=False)


# --------------------------------------------------------------------------- downloading
def test_download_fills_only_missing_files(sample_copy, monkeypatch):
    images, labels = TEST_FILES
    corrupt = sample_copy / images
    corrupt.write_bytes(b"my own file")
    (sample_copy / labels).unlink()
    calls = []

    def fake_download(url, path=None, sha1_hash=None, **kwargs):  # MXNet's downloader, offline
        calls.append(url)
        shutil.copyfile(SAMPLE / url.rsplit("/", 1)[-1], path)
        return path

    monkeypatch.setattr("mxnet.gluon.utils.download", fake_download)
    with pytest.raises(D.DatasetNotFoundError, match="unknown checksum"):
        D.get_dataset("fashion-mnist", train=False, root=sample_copy, download=True)
    assert calls == [calls[0]] and calls[0].endswith("/gluon/dataset/fashion-mnist/" + labels)
    assert (sample_copy / labels).read_bytes() == (SAMPLE / labels).read_bytes()
    assert corrupt.read_bytes() == b"my own file"  # never overwritten
    assert not list(sample_copy.glob(".*part"))  # no temporary files left


def test_download_asked_by_environment_and_network_failure_is_one_clear_error(tmp_path,
                                                                              monkeypatch):
    def offline(url, path=None, **kwargs):
        raise ConnectionError(f"HTTPSConnectionPool(host='x', port=443): Max retries exceeded "
                              f"with url: {url} (Caused by NewConnectionError('<urllib3>: Failed "
                              f"to establish a new connection: [Errno -3] Temporary failure in "
                              f"name resolution'))")

    monkeypatch.setattr("mxnet.gluon.utils.download", offline)
    monkeypatch.setenv("GLUONCNN_DOWNLOAD", "1")
    with pytest.raises(D.DatasetNotFoundError) as info:
        D.MNIST(root=tmp_path / "mnist", train=False)
    error = info.value
    assert "Download failed: ConnectionError: [Errno -3] Temporary failure" in str(error)
    assert error.__cause__ is None and error.__suppress_context__
    assert list((tmp_path / "mnist").iterdir()) == []


def test_no_download_unless_asked(tmp_path, no_network, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.delenv("GLUONCNN_DATA", raising=False)
    with pytest.raises(D.DatasetNotFoundError, match="download=True"):
        D.load_data("cifar10", 8)
    assert no_network == []


# --------------------------------------------------------------------------- CIFAR
def write_cifar(path, images, *label_columns):
    """Records in the CIFAR binary format: label byte(s), then the R, G, B planes (32x32)."""
    records = [bytes(int(col[i]) for col in label_columns) + images[i].tobytes()
               for i in range(len(images))]
    path.write_bytes(b"".join(records))


def random_images(count, seed):
    return np.random.RandomState(seed).randint(0, 256, (count, 3, 32, 32)).astype(np.uint8)


@pytest.fixture
def cifar10_folder(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    images = {}
    for i in range(1, 6):
        images[f"data_batch_{i}.bin"] = random_images(2, i), [2 * i - 2, 2 * i - 1]
    images["test_batch.bin"] = random_images(4, 0), [3, 1, 4, 1]
    for name, (pixels, labels) in images.items():
        write_cifar(folder / name, pixels, labels)
    return folder, images


def test_cifar10_round_trip(cifar10_folder, no_network):
    folder, images = cifar10_folder
    train = D.CIFAR10(root=folder, train=True, verify=False)
    assert len(train) == 10 and train.labels.tolist() == list(range(10))
    image, label = train[3]  # second record of data_batch_2
    chw = images["data_batch_2.bin"][0][1]
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and label == 3
    assert (image.asnumpy() == chw.transpose(1, 2, 0)).all()  # R, G, B planes -> HWC
    assert isinstance(train, vision.CIFAR10)
    _, test_iter = D.load_data_cifar10(4, root=folder.parent, verify=False)
    X, y = next(iter(test_iter))
    assert X.shape == (4, 3, 32, 32) and X.dtype == np.float32 and y.dtype == np.int32
    pixels, labels = images["test_batch.bin"]
    np.testing.assert_allclose(X.asnumpy(), pixels / 255, atol=1e-6)  # NCHW, same places
    assert y.asnumpy().tolist() == labels


def test_cifar10_official_sha1s_are_the_default_check(cifar10_folder, no_network):
    folder, _ = cifar10_folder
    with pytest.raises(D.DatasetNotFoundError) as info:
        D.CIFAR10(root=folder, train=False)
    assert "test_batch.bin: unknown checksum" in str(info.value)
    assert "verify=False" in str(info.value)
    assert D.folder_status("cifar10", folder).state == "broken"


def test_cifar10_augment_and_resize_shapes(cifar10_folder):
    folder, _ = cifar10_folder
    train_iter, test_iter = D.load_data("cifar10", 5, root=folder, verify=False, augment=True,
                                        normalize=True, resize=(40, 48))
    X, y = next(iter(train_iter))
    assert X.shape == (5, 3, 40, 48) and y.shape == (5,)
    assert len(train_iter) == 2 and len(test_iter) == 1


def test_cifar100_fine_and_coarse_labels(tmp_path):
    pixels = random_images(3, 7)
    coarse, fine = [19, 0, 4], [99, 4, 30]
    write_cifar(tmp_path / "train.bin", pixels, coarse, fine)
    write_cifar(tmp_path / "test.bin", pixels[:2], coarse[:2], fine[:2])
    train = D.CIFAR100(root=tmp_path, verify=False)
    assert train.labels.tolist() == fine and (train[2][0].asnumpy()
                                              == pixels[2].transpose(1, 2, 0)).all()
    assert D.text_labels("cifar100", train.labels) == ["worm", "beaver", "dolphin"]
    coarse_set = D.get_dataset("cifar100", root=tmp_path, verify=False, fine_label=False)
    assert coarse_set.labels.tolist() == coarse and coarse_set.classes[19] == "vehicles_2"
    _, test_iter = D.load_data_cifar100(2, root=tmp_path, verify=False, fine_label=False)
    X, y = next(iter(test_iter))
    assert X.shape == (2, 3, 32, 32) and y.asnumpy().tolist() == coarse[:2]


def test_cifar_file_of_the_wrong_size_is_unreadable(tmp_path):
    (tmp_path / "test.bin").write_bytes(bytes(3074 + 10))
    with pytest.raises(D.DatasetNotFoundError, match="not a whole number of 3074-byte"):
        D.CIFAR100(root=tmp_path, train=False, verify=False)


def test_cifar_download_takes_missing_files_from_the_archive(tmp_path, monkeypatch):
    source = tmp_path / "cifar-100-binary"
    source.mkdir()
    write_cifar(source / "train.bin", random_images(2, 1), [1, 2], [3, 4])
    write_cifar(source / "test.bin", random_images(1, 2), [5], [6])
    folder = tmp_path / "cifar100"
    folder.mkdir()
    (folder / "train.bin").write_bytes(b"a user's file")  # present: must stay as it is

    def fake_download(url, path=None, sha1_hash=None, **kwargs):  # the archive, offline
        assert url.endswith("/gluon/dataset/cifar100/cifar-100-binary.tar.gz")
        with tarfile.open(path, "w:gz") as tar:
            tar.add(source, arcname="cifar-100-binary")
        return path

    monkeypatch.setattr("mxnet.gluon.utils.download", fake_download)
    test = D.CIFAR100(root=folder, train=False, verify=False, download=True)
    assert test.labels.tolist() == [6]
    assert (folder / "test.bin").read_bytes() == (source / "test.bin").read_bytes()
    assert (folder / "train.bin").read_bytes() == b"a user's file"
    assert sorted(p.name for p in folder.iterdir()) == ["test.bin", "train.bin"]


# --------------------------------------------------------------------------- transforms, labels
def test_augmentation_flips_clothes_but_never_digits():
    def flat(block):  # Compose groups consecutive hybrid steps in a HybridSequential
        if type(block).__name__ in ("Compose", "Sequential", "HybridSequential"):
            return [name for child in block._children.values() for name in flat(child)]
        return [type(block).__name__]

    def kinds(name, train):
        return flat(D.get_transform(name, train, augment=True))
    assert kinds("fashion-mnist", True) == ["RandomCrop", "RandomFlipLeftRight", "ToTensor"]
    assert kinds("mnist", True) == ["RandomCrop", "ToTensor"]
    assert kinds("cifar10", False) == ["ToTensor"]  # the test set is never augmented


def test_random_crop_pads_with_zeros():
    image = nd.ones((28, 28, 1), dtype="uint8") * 7
    out = D.RandomCrop(28, padding=2)(image).asnumpy()
    assert out.shape == (28, 28, 1) and set(np.unique(out)) <= {0, 7}
    assert (out == 7).sum() >= 26 * 26
    assert (D.RandomCrop(28)(image).asnumpy() == 7).all()


def test_text_labels_like_d2l():
    assert D.get_fashion_mnist_labels([0, 9]) == ["t-shirt", "ankle boot"]
    assert D.text_labels("fashion-mnist", nd.array([2, 3], dtype="int32")) == ["pullover", "dress"]
    assert D.text_labels("mnist", 7) == "7"
    assert D.text_labels("cifar10", np.array([0, 9])) == ["airplane", "truck"]
    assert len(D.CIFAR100_CLASSES) == len(set(D.CIFAR100_CLASSES)) == 100
    assert len(D.CIFAR100_COARSE_CLASSES) == 20


# --------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("kwargs, message", [
    (dict(name="imagenet"), "choose one of 'fashion-mnist', 'mnist', 'cifar10', 'cifar100'"),
    (dict(batch_size=0), "batch_size must be a positive integer"),
    (dict(batch_size=2.5), "batch_size must be a positive integer"),
    (dict(batch_size=True), "batch_size must be a positive integer"),
    (dict(resize=0), "resize must be a positive integer"),
    (dict(resize=(28,)), r"resize must be a positive int or a \(height, width\) pair"),
    (dict(train_size=0), "train_size must be a positive integer"),
    (dict(test_size=-5), "test_size must be a positive integer"),
    (dict(normalize=(0.5, 0)), "std > 0"),
    (dict(name="mnist"), "sample=True is only available for 'fashion-mnist'"),
    (dict(root="/tmp"), "either sample=True"),
    (dict(fine_label=False), "fine_label=False"),
])
def test_bad_arguments_are_clear_errors(kwargs, message, no_network):
    call = dict(name="fashion-mnist", batch_size=8, sample=True)
    call.update(kwargs)
    with pytest.raises(ValueError, match=message):
        D.load_data(**call)


@pytest.mark.parametrize("spelling, name", [("Fashion_MNIST", "fashion-mnist"),
                                            ("FASHION-MNIST", "fashion-mnist"),
                                            ("CIFAR-10", "cifar10"), ("cifar_100", "cifar100")])
def test_dataset_names(spelling, name):
    assert D.canonical_name(spelling) == name


def test_dataset_status(sample_copy, tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    shutil.copyfile(SAMPLE / TEST_FILES[0], tmp_path / "mnist" / TEST_FILES[0])
    monkeypatch.setenv("GLUONCNN_DATA", str(tmp_path))
    status = {s.name: s for s in D.dataset_status()}
    assert status["fashion-mnist"].state == "verified"
    assert status["fashion-mnist"].releases == (D.FASHION_MNIST_SAMPLE,)
    assert status["mnist"].state == "broken"  # a Fashion-MNIST file under mnist/
    assert status["cifar10"].state == status["cifar100"].state == "missing"
    assert status["cifar10"].folder == tmp_path / "cifar10"


@pytest.mark.parametrize("options", [{}, {"resize": 32}, {"normalize": True}])
def test_whole_set_transform_equals_per_image_transform(options):
    """load_data transforms a deterministic set once, up front; the values must be exactly
    those of the per-image transform MXNet's DataLoader would apply."""
    from gluoncnn import data
    _, test_iter = data.load_data("fashion-mnist", 64, sample=True, test_size=64, **options)
    assert isinstance(test_iter._dataset, data.TensorDataset)
    fast_X, fast_y = next(iter(test_iter))
    raw = data.get_dataset("fashion-mnist", train=False, sample=True, size=64)
    transform = data.get_transform("fashion-mnist", False, options.get("resize"),
                                   options.get("normalize", False))
    slow_X = np.stack([transform(raw[i][0]).asnumpy() for i in range(64)])
    np.testing.assert_array_equal(fast_X.asnumpy(), slow_X)
    np.testing.assert_array_equal(fast_y.asnumpy(), raw.labels[:64])
    assert fast_X.dtype == np.float32 and fast_y.dtype == np.int32


def test_augmented_training_set_stays_per_image():
    from gluoncnn import data
    train_iter, _ = data.load_data("fashion-mnist", 32, sample=True, augment=True)
    assert not isinstance(train_iter._dataset, data.TensorDataset)
    X, _ = next(iter(train_iter))
    assert X.shape == (32, 1, 28, 28)
