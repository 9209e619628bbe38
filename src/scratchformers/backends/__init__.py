"""Opt-in CPU speed-ups that transform a built model; ``scratchformers.nn`` stays plain PyTorch.

    model = scratchformers.backends.optimize(model)   # in place; same parameters and state dict
    scratchformers.backends.plain(model)              # back to nn.Linear / MultiHeadAttention
    with scratchformers.backends.optimized(model): ...  # only for the block

- ``onednn``: every ``nn.Linear`` becomes :class:`OneDNNLinear`: each float32 CPU GEMM runs on the
  kernel measured fastest for its shape here (MKL, oneDNN, MKL's matrix-vector product, and for a
  single row the C matrix-vector kernel of :mod:`.native`, built once per machine; :mod:`.choice`,
  cached in ``~/.cache/scratchformers``), ``F.linear`` wherever that does not apply (e.g. the
  doctor's tracer).
- ``dropout``: every ``nn.Dropout`` becomes :class:`FastDropout` (a cheaper Bernoulli mask).
- ``fused_qkv``: every :class:`~scratchformers.nn.MultiHeadAttention` becomes
  :class:`FusedQKVAttention` (Q, K, V from one stacked GEMM over many tokens and in cached decoding).
- :func:`single_row_kernels`: inside this block, single-row inference on an optimized model uses
  compiled matrix-vector kernels (``generate(..., compile_kernels=True)``).

``generate`` applies ``optimize`` for the duration of the call; the Trainer applies it on the CPU
(``TrainConfig.cpu_backends``). Outputs equal the plain model's to
float32 rounding (tests/backends).
"""

from scratchformers.backends import choice, native
from scratchformers.backends.dropout import FastDropout
from scratchformers.backends.fused_qkv import FUSED_QKV_MIN_TOKENS, FusedQKVAttention
from scratchformers.backends.gemv import GEMV_MIN_WEIGHT, gemv_kernel, single_row_kernels
from scratchformers.backends.onednn import ONEDNN_LINEAR, OneDNNLinear, linear
from scratchformers.backends.transform import is_optimized, optimize, optimized, plain, plain_class

__all__ = [
    "FUSED_QKV_MIN_TOKENS",
    "GEMV_MIN_WEIGHT",
    "ONEDNN_LINEAR",
    "FastDropout",
    "FusedQKVAttention",
    "OneDNNLinear",
    "choice",
    "native",
    "gemv_kernel",
    "is_optimized",
    "linear",
    "optimize",
    "optimized",
    "plain",
    "plain_class",
    "single_row_kernels",
]
