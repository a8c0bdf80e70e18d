"""Rebuild the shipped Fashion-MNIST sample: the first 1,000 training and first 500 test
images of the current (2017-08-31) Zalando release, in the same four IDX ``.gz`` files.

Usage (from the repository root)::

    python gluoncnn/sample/make_sample.py /path/to/fashion-mnist [out_dir]

``out_dir`` defaults to ``gluoncnn/sample/fashion-mnist``. The gzip streams are written
deterministically (no file name, mtime 0, level 9), so running this again on the same source
files gives byte-identical output with the same zlib; the script prints each file's sha1,
which ``gluoncnn.data`` registers as the release ``"gluoncnn sample"``.
Needs only numpy and the standard library.
"""
import gzip
import hashlib
import io
import struct
import sys
from pathlib import Path

import numpy as np

TRAIN_SIZE, TEST_SIZE = 1000, 500
FILES = (  # (file name, IDX magic, number of examples to keep)
    ("train-images-idx3-ubyte.gz", 2051, TRAIN_SIZE),
    ("train-labels-idx1-ubyte.gz", 2049, TRAIN_SIZE),
    ("t10k-images-idx3-ubyte.gz", 2051, TEST_SIZE),
    ("t10k-labels-idx1-ubyte.gz", 2049, TEST_SIZE),
)


def first_examples(path, magic, count):
    """The IDX bytes (header + body) of the first ``count`` examples of an IDX ``.gz`` file."""
    with gzip.open(path, "rb") as fin:
        raw = fin.read()
    ndim = magic & 0xFF  # 2051 -> 3 dimensions (n, rows, cols), 2049 -> 1 (n)
    header = struct.unpack(">" + "I" * (1 + ndim), raw[:4 * (1 + ndim)])
    if header[0] != magic or header[1] < count:
        raise ValueError(f"{path}: not an IDX file with magic {magic} and >= {count} examples")
    per_example = int(np.prod(header[2:], dtype=np.int64))  # 784 for images, 1 for labels
    body = raw[4 * (1 + ndim):4 * (1 + ndim) + count * per_example]
    return struct.pack(">" + "I" * (1 + ndim), magic, count, *header[2:]) + body


def gzip_deterministic(data):
    """gzip ``data`` with no stored file name and mtime 0, so the bytes depend only on ``data``."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as fout:
        fout.write(data)
    return buf.getvalue()


def make_sample(source, out_dir):
    """Write the four sample files from ``source`` (a full Fashion-MNIST folder) into ``out_dir``.

    Returns ``{file name: sha1}`` of the written files."""
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sha1s = {}
    for name, magic, count in FILES:
        blob = gzip_deterministic(first_examples(source / name, magic, count))
        (out_dir / name).write_bytes(blob)
        sha1s[name] = hashlib.sha1(blob).hexdigest()
    return sha1s


def class_counts(out_dir):
    """Examples per class in the train and test labels: ``{'train': [...], 'test': [...]}``."""
    counts = {}
    for split, name in (("train", "train-labels-idx1-ubyte.gz"),
                        ("test", "t10k-labels-idx1-ubyte.gz")):
        with gzip.open(Path(out_dir) / name, "rb") as fin:
            labels = np.frombuffer(fin.read()[8:], dtype=np.uint8)
        counts[split] = np.bincount(labels, minlength=10).tolist()
    return counts


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[2] if len(sys.argv) == 3 else Path(__file__).resolve().parent / "fashion-mnist"
    for file_name, sha1 in make_sample(sys.argv[1], out).items():
        print(f"{sha1}  {file_name}")
    for split, per_class in class_counts(out).items():
        print(f"{split}: examples per class {per_class}")
