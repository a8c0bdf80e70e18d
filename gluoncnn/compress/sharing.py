"""Weight sharing (Han, Mao, Dally, "Deep Compression", ICLR 2016): k-means over each layer's
weights, the indices Huffman-coded."""
from collections import OrderedDict

import numpy as np
from mxnet import nd

from ..errors import OptionError
from .blocks import Layers, check_initialized, layer_weights
from .encoding import pack, raw_entry
from .huffman import huffman_encode


def _check_bits(bits):
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise OptionError(f"bits must be an integer in 1..16 (2**bits shared values per layer), "
                          f"got {bits!r}")
    return int(bits)


def kmeans_1d(values, k: int, max_iter: int = 100):
    """Deterministic 1-D k-means (Lloyd) with the linear initialisation Deep Compression
    recommends (k centroids evenly spaced between min and max).

    Returns ``(centroids float32 sorted, indices)``; empty clusters are dropped, so there may be
    fewer than ``k`` centroids; if there are at most ``k`` distinct values they are the
    centroids (lossless).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise OptionError("kmeans_1d got no values")
    if k < 1:
        raise OptionError(f"k must be >= 1, got {k}")
    uniq = np.unique(x)
    if uniq.size <= k:
        return uniq.astype(np.float32), np.searchsorted(uniq, x)
    c = np.linspace(x.min(), x.max(), k)
    idx = None
    for _ in range(max_iter):
        new_idx = np.searchsorted((c[1:] + c[:-1]) / 2, x)  # nearest of the sorted centroids
        if idx is not None and np.array_equal(new_idx, idx):
            break
        idx = new_idx
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=x, minlength=k)
        nonempty = counts > 0
        c[nonempty] = sums[nonempty] / counts[nonempty]  # empty clusters keep their place
        c = np.maximum.accumulate(c)  # stays sorted (means of ordered intervals are ordered)
    used = np.unique(idx)
    remap = np.full(k, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return c[used].astype(np.float32), remap[idx]


class SharedWeights:
    """Weight sharing of some layers: per layer a float32 codebook, an index per weight, and the
    Huffman-coded index stream.

    ``layers`` maps path -> dict(shape, centroids, indices, zero_cluster, lengths, stream).
    :meth:`apply` writes the shared weights (centroid of each index) into a net;
    :meth:`encode` gives the whole model as bytes (shared layers + the other parameters in
    float32), whose ``len`` is the stored size; :func:`decode_params` reverses it exactly.
    """

    def __init__(self, bits, layers, other):
        self.bits = bits
        self.layers = layers
        self._other = other  # name -> float32 array, the parameters that are not shared

    def weights(self, path):
        """The shared weight of layer ``path`` (numpy float32)."""
        d = self.layers[path]
        return d["centroids"][d["indices"]].reshape(d["shape"])

    def apply(self, net):
        """Set each shared layer's weight in ``net`` to its centroid values (in place)."""
        params = layer_weights(net, list(self.layers))
        for path, p in params.items():
            p.set_data(nd.array(self.weights(path), dtype=p.dtype))
        return net

    def encode(self, path=None):
        """The model as one byte string (optionally also written to ``path``). Per shared layer:
        centroids (float32), code length per centroid (uint8), Huffman bit stream; other
        parameters raw float32."""
        entries = []
        for p, d in self.layers.items():
            k = d["centroids"].size
            payload = (d["centroids"].astype(np.float32).tobytes() + d["lengths"].tobytes()
                       + d["stream"])
            entries.append(({"name": f"{p}.weight", "codec": "shared", "shape": list(d["shape"]),
                             "clusters": int(k)}, payload))
        entries += [raw_entry(k, v) for k, v in self._other.items()]
        data = pack(entries)
        if path is not None:
            with open(path, "wb") as f:
                f.write(data)
        return data

    @property
    def nbytes(self):
        return len(self.encode())

    def report(self):
        """pandas table per shared layer: weights, clusters, zero cluster, Huffman bits per
        weight, codebook + stream bytes, float32 bytes, ratio."""
        import pandas as pd
        rows = []
        for p, d in self.layers.items():
            n = int(np.prod(d["shape"]))
            stored = 5 * d["centroids"].size + len(d["stream"])
            rows.append({"layer": p, "shape": tuple(d["shape"]), "weights": n,
                         "clusters": d["centroids"].size, "zero_cluster": d["zero_cluster"],
                         "bits_per_weight": 8 * len(d["stream"]) / n, "bytes": stored,
                         "float32_bytes": 4 * n, "ratio": 4 * n / stored})
        return pd.DataFrame(rows)

    def __repr__(self):
        return f"SharedWeights({len(self.layers)} layers, bits={self.bits}, {self.nbytes} bytes)"


def share_weights(net, bits: int | dict = 5, layers: Layers = None, max_iter: int = 100,
                  apply: bool = True) -> SharedWeights:
    """Deep Compression's weight sharing + Huffman coding of the compressible layers.

    Each layer's weights are clustered (:func:`kmeans_1d`) into at most ``2**bits`` shared
    values; the cluster index of every weight is Huffman-coded (canonical code, so only the
    code lengths are stored). Pruned layers: if a layer has exact zeros, zero is its own cluster
    (centroid exactly 0.0, so pruned weights stay pruned) and the non-zeros get the other
    ``2**bits - 1`` clusters; Huffman coding then gives the frequent zero a short code.
    (Deep Compression instead stores the non-zeros with relative positions; this keeps one
    stream per layer and the same exactness.)

    ``bits``: an int in 1..16 for all layers or a dict path -> bits. With ``apply=True`` the
    net's weights are replaced by the shared ones (in place). Returns a :class:`SharedWeights`.
    """
    check_initialized(net)
    if isinstance(bits, dict):
        if layers is None:
            layers = list(bits)
        per = {p: _check_bits(b) for p, b in bits.items()}
    else:
        per = None
        _check_bits(bits)
    params = layer_weights(net, layers)
    coded = OrderedDict()
    for path, p in params.items():
        b = per[path] if per is not None else bits
        if per is not None and path not in per:
            raise OptionError(f"no bits given for layer {path}")
        w = p.data().asnumpy().astype(np.float32)
        flat = w.ravel()
        zeros = flat == 0
        zero_cluster = bool(zeros.any()) and (1 << b) >= 2 and not zeros.all()
        if zero_cluster:
            c_nz, i_nz = kmeans_1d(flat[~zeros], (1 << b) - 1, max_iter)
            centroids = np.concatenate([[0.0], c_nz]).astype(np.float32)
            idx = np.zeros(flat.size, dtype=np.int64)
            idx[~zeros] = i_nz + 1
        else:
            centroids, idx = kmeans_1d(flat, 1 << b, max_iter)
        stream, lengths = huffman_encode(idx, centroids.size)
        coded[path] = {"shape": tuple(w.shape), "bits": b, "centroids": centroids,
                       "indices": idx.astype(np.uint16 if centroids.size <= 65536 else np.int64),
                       "zero_cluster": zero_cluster, "lengths": lengths, "stream": stream}
    skip = {f"{p}.weight" for p in coded}
    other = OrderedDict((k, prm.data().asnumpy().astype(np.float32))
                        for k, prm in net._collect_params_with_prefix().items() if k not in skip)
    shared = SharedWeights(bits, coded, other)
    if apply:
        shared.apply(net)
    return shared
