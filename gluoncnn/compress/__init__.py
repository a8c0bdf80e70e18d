"""Model compression, made real and measured: the four methods of the SqueezeNet chapter.

The SqueezeNet paper (Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer
parameters and <0.5MB model size", arXiv 2016) lists the ways to keep accuracy at a fraction
of the size; this module implements each of them on Gluon nets and measures what it buys:

- **Magnitude pruning** (Han, Pool, Tran, Dally, "Learning both Weights and Connections for
  Efficient Neural Networks", NeurIPS 2015): :func:`magnitude_prune`, :func:`prune`,
  :class:`PruningMask`, :func:`encode_sparse`.
- **Low-rank factorisation** by truncated SVD (Denton et al., "Exploiting Linear Structure
  Within Convolutional Networks for Efficient Evaluation", NeurIPS 2014):
  :func:`svd_compress`.
- **Weight sharing + Huffman coding** (Han, Mao, Dally, "Deep Compression", ICLR 2016):
  :func:`kmeans_1d`, :func:`share_weights`, :class:`SharedWeights`, :func:`huffman_encode`,
  :func:`huffman_decode`, :func:`decode_params`.
- **Post-training int8 quantization** with MXNet's own tool (``mxnet.contrib.quantization``,
  oneDNN kernels on CPU): :func:`quantize`, :func:`quantized_ops`.
- Measurements: :func:`params_nbytes`, :func:`throughput` (accuracy: ``gluoncnn.train.evaluate``),
  :func:`compression_report` (a pandas table) and :func:`plot_report` (a matplotlib figure).

Conventions used everywhere here:

- A *layer* is named by its path in the block tree, the same names ``save_parameters`` uses
  without the parameter suffix: ``'features.0'``, ``'output'``, ``'features.3.body.1'``.
- *Compressible weights* are the ``weight`` of every ``nn.Dense`` and every convolution
  (``Conv1D/2D/3D`` and their transposes). Biases, BatchNorm parameters and any other
  parameters are never pruned or shared; they are stored as float32 in every size measured.
- Pruning, weight sharing and :func:`apply <SharedWeights.apply>` change the net's weights in
  place; :func:`svd_compress` returns a copy by default (``inplace=False``) because it changes
  the net's structure; :func:`quantize` returns a new ``SymbolBlock``. Use :func:`clone` to keep
  the original.

Modules, one per section of the chapter:

==============  ================================================================================
``blocks``      the block tree: compressible layers by path, :func:`clone`, :func:`replace_block`
``pruning``     :class:`PruningMask`, :func:`magnitude_prune`, :func:`prune`, :func:`fine_tuner`
``encoding``    the byte container: :func:`encode_sparse`, :func:`decode_params`
``svd``         :func:`svd_compress`
``huffman``     canonical Huffman coding
``sharing``     :func:`kmeans_1d`, :class:`SharedWeights`, :func:`share_weights`
``int8``        :func:`quantize`, :func:`quantized_ops`
``report``      :func:`params_nbytes`, :func:`compression_report`, :func:`plot_report`
==============  ================================================================================
"""
from .. import runtime

runtime.import_mxnet()  # before this package's modules import mxnet: one clear error without it

from ..analysis import throughput
from .blocks import block_at, clone, compressible_layers, layer_weights, replace_block
from .encoding import decode_params, encode_sparse
from .huffman import canonical_codes, huffman_code_lengths, huffman_decode, huffman_encode
from .int8 import quantize, quantized_ops
from .pruning import PruningMask, fine_tuner, magnitude_prune, prune, sparsity_report
from .report import METHODS, compression_report, params_nbytes, plot_report
from .sharing import SharedWeights, kmeans_1d, share_weights
from .svd import svd_compress

__all__ = [
    "compressible_layers", "layer_weights", "clone", "replace_block", "block_at",
    "PruningMask", "magnitude_prune", "prune", "sparsity_report", "fine_tuner",
    "encode_sparse", "svd_compress",
    "kmeans_1d", "huffman_code_lengths", "canonical_codes", "huffman_encode", "huffman_decode",
    "SharedWeights", "share_weights", "decode_params",
    "quantize", "quantized_ops",
    "params_nbytes", "throughput", "compression_report", "plot_report", "METHODS",
]
