"""A small container format for parameters: real bytes, measured sizes, exact round trips.

Layout: magic bytes, a uint32 header length, a JSON header (per entry: name, codec, shape,
payload offset and length), then the payloads. Codecs: ``raw`` (float32), ``sparse`` (Deep
Compression's relative indexing, written by :func:`encode_sparse`) and ``shared`` (k-means
centroids + Huffman-coded indices, written by :meth:`SharedWeights.encode`).
"""
import json
import struct
from collections import OrderedDict

import numpy as np
from mxnet import nd

from ..errors import FileFormatError, OptionError
from .blocks import check_initialized, layer_weights
from .huffman import huffman_decode

_MAGIC = b"GCNNZ1\0\0"


def pack(entries):
    """entries: list of (header dict, payload bytes) -> bytes. Layout: magic, uint32 header
    length, JSON header (per entry: its fields + payload offset/length), payloads."""
    header, blobs, off = [], [], 0
    for meta, payload in entries:
        header.append(dict(meta, offset=off, length=len(payload)))
        blobs.append(payload)
        off += len(payload)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    return _MAGIC + struct.pack("<I", len(hjson)) + hjson + b"".join(blobs)


def unpack(data):
    if data[:8] != _MAGIC:
        raise FileFormatError("not a gluoncnn.compress stream (bad magic bytes)")
    (hlen,) = struct.unpack("<I", data[8:12])
    header = json.loads(data[12:12 + hlen].decode())
    base = 12 + hlen
    return [(m, data[base + m["offset"]: base + m["offset"] + m["length"]]) for m in header]


def raw_entry(name, arr):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    return {"name": name, "codec": "raw", "shape": list(arr.shape)}, arr.tobytes()


def sparse_entry(name, arr, max_gap=255):
    """Deep Compression's relative indexing: the nonzero values (float32) and, per stored entry,
    the gap to the previous one in a uint8; a gap over 255 inserts filler zero entries."""
    flat = np.ascontiguousarray(arr, dtype=np.float32).ravel()
    pos = np.flatnonzero(flat)
    d = np.diff(np.concatenate([[-1], pos]))
    fillers = (d - 1) // max_gap
    reps = fillers + 1
    gaps = np.full(int(reps.sum()), max_gap, dtype=np.uint8)
    last = np.cumsum(reps) - 1
    gaps[last] = (d - fillers * max_gap).astype(np.uint8)
    vals = np.zeros(gaps.size, dtype=np.float32)
    vals[last] = flat[pos]
    meta = {"name": name, "codec": "sparse", "shape": list(arr.shape), "entries": int(gaps.size)}
    return meta, vals.tobytes() + gaps.tobytes()


def decode_entry(meta, payload):
    shape = tuple(meta["shape"])
    n = int(np.prod(shape, dtype=np.int64))
    if meta["codec"] == "raw":
        return np.frombuffer(payload, dtype=np.float32).reshape(shape).copy()
    if meta["codec"] == "sparse":
        m = meta["entries"]
        vals = np.frombuffer(payload[:4 * m], dtype=np.float32)
        gaps = np.frombuffer(payload[4 * m:], dtype=np.uint8).astype(np.int64)
        out = np.zeros(n, dtype=np.float32)
        out[np.cumsum(gaps) - 1] = vals
        return out.reshape(shape)
    if meta["codec"] == "shared":
        k = meta["clusters"]
        centroids = np.frombuffer(payload[:4 * k], dtype=np.float32)
        lengths = np.frombuffer(payload[4 * k:5 * k], dtype=np.uint8)
        idx = huffman_decode(payload[5 * k:], lengths, n)
        return centroids[idx].reshape(shape)
    raise FileFormatError(f"unknown codec {meta['codec']!r}")


def decode_params(data: bytes, net=None):
    """Decode a stream from :func:`encode_sparse` or :meth:`SharedWeights.encode` into
    ``{structural name: numpy float32 array}``; with ``net``, also load them into it (in place,
    every context) and return ``net``."""
    arrays = OrderedDict((m["name"], decode_entry(m, p)) for m, p in unpack(data))
    if net is None:
        return arrays
    params = net._collect_params_with_prefix()
    missing = [k for k in params if k not in arrays]
    if missing:
        raise OptionError(f"the stream has no values for {', '.join(missing)}: it was encoded from "
                          "a different architecture")
    for k, p in params.items():
        p.set_data(nd.array(arrays[k], dtype=p.dtype))
    return net


def float_params(net, skip):
    return [raw_entry(k, p.data().asnumpy()) for k, p in net._collect_params_with_prefix().items()
            if k not in skip]


def encode_sparse(net, layers=None, path=None) -> bytes:
    """The net's parameters as one byte string, compressible weights in sparse form (nonzero
    float32 values + uint8 relative positions, as in Deep Compression), everything else float32.
    ``len()`` of it is the pruned model's size; ``path`` also writes it to disk.
    :func:`decode_params` restores the weights exactly."""
    check_initialized(net)
    weights = {f"{p}.weight": prm for p, prm in layer_weights(net, layers).items()}
    entries = [sparse_entry(k, prm.data().asnumpy()) for k, prm in weights.items()]
    data = pack(entries + float_params(net, weights))
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data
