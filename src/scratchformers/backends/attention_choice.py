"""Training attention on the kernel measured faster for its shape: SDPA's fused CPU kernel or the
explicit math (``softmax(q k^T / sqrt(d)) @ v`` as matmuls).

PyTorch's fused CPU kernel (flash attention) wins for long sequences; for short ones (char-GPT's
T = 64, 32-dim heads) its blocking costs more than it saves and the three plain ops are about 10%
faster forward + backward (measured on a 2-core AMD EPYC, AVX-512 and AVX2 alike). Which one wins is
measured once per process for each exact shape (training shapes repeat every step): both run
forward + backward on random tensors of that shape, interleaved, the minimum of a few samples, and
the math is kept only when more than ``MARGIN`` faster. A shape whose fused call alone takes more
than ``MAX_CALL_S`` is not measured (long sequences: the fused kernel, and no T x T tensor).

Applies to float32 CPU self-attention in training without mask or dropout (none, or causal over
equal lengths), outside tracing and compiling; everything else runs the plain function.
"""

from __future__ import annotations

import threading
import time

import torch
import torch.nn.functional as F

from scratchformers.backends.choice import interleaved_min
from scratchformers.backends.dropout import attention_with_dropout

MARGIN = 0.05
MAX_CALL_S = 0.02
SAMPLES = 5
SAMPLE_S = 0.005

_lock = threading.Lock()
_math_wins: dict[tuple, bool] = {}  # (threads, q shape, k shape, causal) -> the math path is faster


def applies(q: torch.Tensor, k: torch.Tensor, is_causal: bool) -> bool:
    return (
        q.device.type == "cpu"
        and q.dtype == torch.float32
        and torch.is_grad_enabled()
        and q.requires_grad
        and (not is_causal or q.shape[-2] == k.shape[-2])
        and not torch.compiler.is_compiling()
        and not torch._C._is_torch_function_mode_enabled()
    )


def math_is_faster(q: torch.Tensor, k: torch.Tensor, is_causal: bool) -> bool:
    """True when the explicit math beat the fused kernel on this shape here (measured once)."""
    key = (torch.get_num_threads(), tuple(q.shape), tuple(k.shape), is_causal)
    wins = _math_wins.get(key)
    if wins is None:
        with _lock:
            wins = _math_wins.get(key)
            if wins is None:
                wins = _math_wins[key] = _measure(tuple(q.shape), tuple(k.shape), is_causal)
    return wins


def math_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, is_causal: bool) -> torch.Tensor:
    return attention_with_dropout(q, k, v, 0.0, is_causal)  # (..., Tq, dv)


def _measure(q_shape: tuple, k_shape: tuple, is_causal: bool) -> bool:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(q_shape, generator=g, requires_grad=True)
    k = torch.randn(k_shape, generator=g, requires_grad=True)
    v = torch.randn(k_shape, generator=g, requires_grad=True)
    grad = torch.randn(q_shape, generator=g)
    calls = {
        "fused": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=is_causal).backward(grad),
        "math": lambda: math_attention(q, k, v, is_causal).backward(grad),
    }
    with torch.enable_grad():
        start = time.perf_counter()
        calls["fused"]()  # warm-up, and the cost of one call
        once = time.perf_counter() - start
        if once > MAX_CALL_S:
            return False
        calls["math"]()
        repeat = max(1, int(SAMPLE_S / max(once, 1e-6)))  # a sample lasts at least SAMPLE_S
        best = interleaved_min(calls, SAMPLES, repeat)
    return best["math"] < (1 - MARGIN) * best["fused"]


def clear() -> None:
    """Forget this process's measurements."""
    _math_wins.clear()
