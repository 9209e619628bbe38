"""Checks of a block's wiring, read off the traced ops and the module outputs:

- head merge: ``y.view(B, T, C)`` applied to the (B, H, T, D) attention output without moving the
  head axis next to D first: the memory order mixes heads and positions;
- LayerNorm over the wrong axis: normalisation statistics taken over an axis of size T (or B);
- LayerNorm missing: a projection that reads the residual stream un-normalised after the first
  norm has run (pre-LN reads ln(x); post-LN reads the previous block's ln(x + f(x)));
- residual missing: a block's output is uncorrelated with its input (y = x + f(x) keeps x).
"""

from __future__ import annotations

import inspect

import torch

from scratchformers.analysis.graph import (
    DROPOUT,
    LINEARS,
    NORM_KERNELS,
    NORM_STATISTICS,
    PASSTHROUGH,
    RESHAPES,
    SCALAR_DIV,
    SCALAR_MUL,
    TRANSPOSES,
)
from scratchformers.doctor.findings import Finding

RESIDUAL_MIN_COSINE = 0.2  # y = x + f(x) measured >= 0.45 on every correct model of the corpus; none: ~0
_STAT_FOLLOW = {"add", "__add__", "__radd__", "sqrt", "pow", "__pow__", "reciprocal", "clamp", "clamp_min", "to",
                "float", "type_as", "expand", "expand_as", "sub", "__sub__", "neg"}
_ACTIVATIONS = {"gelu", "relu", "silu", "tanh", "sigmoid", "mish", "leaky_relu", "elu", "softplus", "glu", "relu_",
                "gelu_", "silu_", "hardswish", "selu", "celu", "relu6", "hardtanh"}


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def _attention_owner(site) -> str:
    """The module that owns an attention: the common prefix of the module running the softmax and
    the parent of its query projection (``blocks.0.attn`` for ``blocks.0.attn.c_attn``)."""
    source = site.operand_sources[0]
    if source is None:
        return site.module
    proj = source[0].module
    parent = proj if proj == site.module or site.module.startswith(proj + ".") else proj.rsplit(".", 1)[0]
    a, b = site.module.split("."), parent.split(".")
    common = []
    for x, y in zip(a, b):
        if x != y:
            break
        common.append(x)
    return ".".join(common) or site.module


def find_blocks(trace, called: set[str]) -> dict[str, object]:
    """Transformer blocks: for each attention, the nearest module around it (itself included when the
    attention is written inline) that also runs an activation (the feed-forward). Block -> one site."""
    active = {n.module for n in trace.nodes if n.name in _ACTIVATIONS}
    blocks = {}
    for site in trace.sites:
        owner = _attention_owner(site)
        for name in [owner] + _ancestors(owner):
            if name in called and any(m == name or m.startswith(name + ".") for m in active):
                blocks.setdefault(name, site)
                break
    return blocks


def _source_line(model, name: str) -> str | None:
    try:
        module = model.get_submodule(name) if name and name != "<model>" else model
        forward = type(module).forward
        return f"{inspect.getsourcefile(forward)}:{inspect.getsourcelines(forward)[1]}"
    except (AttributeError, OSError, TypeError):
        return None


# ----- head merge ----------------------------------------------------------------------------------
def check_head_merge(trace) -> Finding:
    outputs = {id(s.output) for s in trace.sites if s.output is not None}
    if not outputs:
        return Finding("attention.head_merge", "skip", "no attention output (weights @ V) found")
    for node in trace.nodes:
        if node.name not in RESHAPES or not isinstance(node.out, torch.Tensor) or node.out.dim() != 3:
            continue
        x = node.tensors[0]  # the tensor being merged: (B, H, T, D) if it comes from the attention
        if x.dim() != 4 or not _reaches_without_transpose(node.tensor_parent(0), outputs):
            continue
        b, a1, a2, d = x.shape
        out = node.out.shape
        if a1 != a2 and a1 > 1 and out[0] == b and out[1] == a2 and out[2] == a1 * d:
            return Finding(
                "attention.head_merge", "fail",
                f"the attention output {tuple(x.shape)} (B, H, T, D) is reshaped straight to {tuple(out)} at "
                f"{node.where}: without moving the head axis next to D, each 'position' row takes D-wide pieces "
                f"of {a1} heads from consecutive positions of one head",
                cause="heads merged without the transpose: y.view(B, T, C) on a (B, H, T, D) tensor mixes positions "
                      "(a causal leak) and heads",
                fix="y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, H, T, D) -> (B, T, H, D) -> (B, T, C)",
                module=node.module,
            )
    return Finding("attention.head_merge", "ok", f"{len(outputs)} attention output(s) keep positions apart when "
                   "the heads are merged")


def _reaches_without_transpose(node, outputs, depth: int = 6) -> bool:
    """``node`` is an attention output, or made from one by views/casts only (no transpose/permute)."""
    while node is not None and depth > 0:
        if id(node) in outputs:
            return True
        if node.name in TRANSPOSES or node.name not in PASSTHROUGH | DROPOUT:
            return False
        node, depth = node.tensor_parent(0), depth - 1
    return False


# ----- normalisation -------------------------------------------------------------------------------
def _reduced_axes(node) -> set[int] | None:
    x = node.tensors[0]
    n = x.dim()
    if node.name in ("layer_norm", "rms_norm"):
        shape = node.kwargs.get("normalized_shape", node.args[1] if len(node.args) > 1 else None)
        count = 1 if isinstance(shape, int) else len(shape) if shape is not None else 0
        return set(range(n - count, n))
    if node.name in ("std", "var", "var_mean", "std_mean", "mean", "norm"):
        dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 and not isinstance(node.args[1], bool) else None)
        keepdim = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 and isinstance(node.args[2], bool) else False)
        if dim is None or (node.name == "mean" and not keepdim):
            return None  # a full reduction (a loss) or a pooling, not a normalisation
        dims = dim if isinstance(dim, (list, tuple)) else [dim]
        return {int(d) % n for d in dims}
    return None


def _stream_axes(x: torch.Tensor, batch: int, seq_len: int, width: int):
    """A hidden state with its (B, T, C) axes in any order (a transposed (B, C, T) one included)."""
    if x.dim() != 3 or len({batch, seq_len, width}) < 3 or sorted(x.shape) != sorted((batch, seq_len, width)):
        return None
    return x


def check_norm_axis(trace, batch: int, seq_len: int, width: int | None) -> Finding:
    if not width:
        return Finding("norm.axis", "skip", "model width unknown (no token embedding)")
    seen = 0
    for node in trace.nodes:
        if node.name not in NORM_KERNELS | NORM_STATISTICS | {"mean"} or not node.tensors:
            continue
        x = _stream_axes(node.tensors[0], batch, seq_len, width)
        axes = _reduced_axes(node) if x is not None else None
        if axes is None:
            continue
        seen += 1
        if [int(x.shape[a]) for a in axes] != [width]:
            sizes = [int(x.shape[a]) for a in sorted(axes)]
            return Finding(
                "norm.axis", "fail",
                f"{node.name} at {node.where} normalises a {tuple(x.shape)} hidden state over axis "
                f"{sorted(axes)} (size {sizes}): statistics across positions, not across the {width} features "
                "of each token",
                cause="LayerNorm over the wrong axis: each token's output depends on the other tokens (a causal "
                      "leak, padding changes the results) and per-token feature scales are not normalised",
                fix="x.mean(dim=-1, keepdim=True), x.std(dim=-1, keepdim=True)  # or nn.LayerNorm(d_model) on (B, T, C)",
                module=node.module,
            )
    if not seen:
        return Finding("norm.axis", "skip", "no normalisation of a (B, T, C) hidden state found")
    return Finding("norm.axis", "ok", f"{seen} normalisation statistic(s) are taken over the feature axis")


def _normalised_nodes(trace) -> tuple[set[int], int | None]:
    """Ids of nodes whose output is normalised per token, and the op index of the first norm."""
    stat, normed, first = set(), set(), None
    for node in trace.nodes:
        parents = [p for p in node.parents if p is not None]
        pid = {id(p) for p in parents}
        if node.name in NORM_KERNELS:
            normed.add(id(node))
        elif node.name in NORM_STATISTICS or (node.name == "mean" and node.kwargs.get("keepdim", len(node.args) > 2)):
            stat.add(id(node))
            continue
        elif node.name in _STAT_FOLLOW and parents and pid <= stat:
            stat.add(id(node))
            continue
        elif node.name in SCALAR_MUL | SCALAR_DIV and pid & stat:
            normed.add(id(node))  # x * rsqrt(mean(x^2)), (x - mean) / (std + eps)
        elif node.name in SCALAR_MUL | {"add", "__add__", "__radd__"} and pid & normed and _affine(node, normed):
            normed.add(id(node))  # gamma * x_hat + beta
        elif node.name in PASSTHROUGH | TRANSPOSES | DROPOUT and parents and id(parents[0]) in normed:
            normed.add(id(node))
        else:
            continue
        if first is None:
            first = node.index
    return normed, first


def _affine(node, normed) -> bool:
    """Every operand besides the normalised one is a per-feature vector or a scalar."""
    others = [t for t, p in zip(node.tensors, node.parents) if p is None or id(p) not in normed]
    return all(t.dim() <= 1 for t in others)


def _reads_activation(src) -> bool:
    """The input of an MLP's down projection: an activation, or a gated product of one (SwiGLU)."""
    return src.name in _ACTIVATIONS or (src.name in SCALAR_MUL and any(
        p is not None and p.name in _ACTIVATIONS for p in src.parents))


def check_norm_missing(trace, width: int | None, blocks: dict[str, object]) -> Finding:
    """``blocks``: :func:`find_blocks` of this trace."""
    if not width:
        return Finding("norm.missing", "skip", "model width unknown (no token embedding)")
    normed, first = _normalised_nodes(trace)
    if first is None:
        if not blocks:
            return Finding("norm.missing", "skip", "no transformer block (attention + feed-forward) found")
        return Finding("norm.missing", "fail",
                       f"no normalisation op at all in the forward pass (no LayerNorm / RMSNorm) although "
                       f"{len(blocks)} transformer block(s) run (e.g. {next(iter(blocks))})",
                       cause="LayerNorm missing: every sublayer sees the raw, growing residual stream",
                       fix="add nn.LayerNorm(d_model) before each sublayer (pre-LN) or after each residual add",
                       module=next(iter(blocks)))
    attn_out = {id(s.output) for s in trace.sites if s.output is not None}
    after_attention = set(attn_out)  # the stream once an attention has written into it
    for node in trace.nodes:
        if any(p is not None and id(p) in after_attention for p in node.parents):
            after_attention.add(id(node))
    memory_reads = _cross_attention_memory_reads(trace)
    for node in trace.nodes:
        if node.name not in LINEARS or node.index < first or id(node) in memory_reads:
            continue
        x_i = 1 if node.name == "addmm" else 0
        if len(node.tensors) <= x_i or node.tensors[x_i].shape[-1] != width:
            continue
        src = node.tensor_parent(x_i)
        while src is not None and src.name in PASSTHROUGH | TRANSPOSES and id(src) not in attn_out:
            src = src.tensor_parent(0)
        if src is None or id(src) in normed or id(src) in attn_out or src.name in NORM_KERNELS:
            continue
        if id(src) not in after_attention:
            continue  # embeddings read by a post-LN stack's first layer are not normalised either
        if _reads_activation(src) or _from_attention(src, attn_out):
            continue
        if not any(node.module == b or node.module.startswith(b + ".") for b in blocks):
            continue  # heads after the stack (pooling, classifiers) read whatever the user pooled
        return Finding(
            "norm.missing", "fail",
            f"{node.module} ({node.name} at {node.where}) reads the residual stream un-normalised, after "
            f"normalisation ops ran elsewhere (first at op {first})",
            cause="a LayerNorm is missing: the sublayer sees the growing residual stream directly, activations and "
                  "gradients drift with depth",
            fix="x = x + self.attn(self.ln_1(x)); x = x + self.mlp(self.ln_2(x))  # pre-LN",
            module=node.module,
        )
    return Finding("norm.missing", "ok", "every projection reading the residual stream reads a normalised tensor")


def _cross_attention_memory_reads(trace) -> set[int]:
    """K/V projections of cross-attention: they read the encoder's output (the memory), whose
    normalisation is the encoder's business (a pre-LN encoder without a final norm is a choice)."""
    found = set()
    for site in trace.sites:
        query, key = site.operand_sources
        if query is None or key is None or not query[0].tensors or not key[0].tensors:
            continue
        if key[0].tensors[0] is not query[0].tensors[0]:
            found.add(id(key[0]))
            if site.value_source is not None:
                found.add(id(site.value_source[0]))
    return found


def _from_attention(node, attn_out, depth: int = 8) -> bool:
    """An attention output, possibly moved / concatenated over heads (the output projection's input)."""
    stack = [(node, 0)]
    while stack:
        node, d = stack.pop()
        if id(node) in attn_out:
            return True
        if d < depth and node.name in PASSTHROUGH | TRANSPOSES | DROPOUT | RESHAPES | {"cat", "stack"}:
            stack.extend((p, d + 1) for p in node.parents if p is not None)
    return False


# ----- residual ------------------------------------------------------------------------------------
def check_residual(model, blocks: dict[str, object], records) -> Finding:
    """``blocks``: :func:`find_blocks` of the trace; ``records``: the module calls of the same forward."""
    blocks = sorted(blocks)
    by_name = {}
    for name, inp, out in records:
        by_name.setdefault(name, (inp, out))
    measured = []
    for block in blocks:
        inp, out = by_name.get(block, (None, None))
        if inp is None or out is None or inp.shape != out.shape or not inp.is_floating_point() or inp.dim() < 2:
            continue
        # centred over the tokens (a bias adds the same vector to every token) and over the features
        x, y = inp.float().flatten(0, -2), out.float().flatten(0, -2)
        x = x - x.mean(0) - (x - x.mean(0)).mean(-1, keepdim=True)
        y = y - y.mean(0) - (y - y.mean(0)).mean(-1, keepdim=True)
        cosine = float((x * y).sum() / (x.norm() * y.norm() + 1e-12))
        measured.append((block, cosine))
    if not measured:
        return Finding("residual", "skip", "no block with matching input/output shapes around an attention")
    block, cosine = min(measured, key=lambda bc: bc[1])
    if cosine < RESIDUAL_MIN_COSINE:
        return Finding(
            "residual", "fail",
            f"{block}: its output is uncorrelated with its input (cosine {cosine:.3f}; a block y = x + f(x) "
            f"keeps x, cosine >= 0.45 in every correct model measured) - block defined at {_source_line(model, block)}",
            cause="a residual connection is missing (x = attn(ln(x)) instead of x = x + attn(ln(x))): the signal "
                  "and the gradient must pass through every sublayer, deep stacks stop training",
            fix="x = x + self.attn(self.ln_1(x)); x = x + self.mlp(self.ln_2(x))",
            module=block,
        )
    return Finding("residual", "ok", f"{len(measured)} block(s) keep their input (lowest cosine {cosine:.2f} in {block})")
