"""Watch a forward pass op by op and find the attention inside any model.

:class:`AttentionTrace` is a ``TorchFunctionMode``: every torch call made by the model (``q @ k.T``,
``scores / 8``, ``softmax``, ``F.scaled_dot_product_attention`` ...) passes through it. We keep a
tiny graph (:mod:`scratchformers.analysis.graph`: each op's output, the ops that produced its inputs,
the module running and the user's file:line), which is enough to rebuild each attention site:

    scores = matmul(Q, K^T) -> scalar scaling -> masking -> softmax(dim) -> (dropout/mask) -> matmul(., V)

Each :class:`AttentionSite` knows its module, the softmax axis, the axis the weights are contracted
over, the score matmul and its contracted size d_k, the total scalar scale, the scores that entered
the softmax (the mask pattern is read off their -inf entries), the values masked entries were
filled with, the row sums of the weights that actually multiply V, and the projections behind Q, K
and V. ``nn.MultiheadAttention`` is followed inside (its functional core is re-entered with the
trace active). The tracer never raises: an op it cannot interpret is noted in ``trace.notes``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from scratchformers.analysis.graph import (
    CHUNK_ITEM,
    FILLS,
    FUSED_ATTENTION,
    MASKED_BELOW,
    MATMULS,
    MHA_FUNCTION,
    POSITION_NAME,
    SOFTMAX,
    SPLITS,
    Node,
    contracted_axis,
    contracted_size,
    einsum_axes,
    find_score_matmul,
    matmul_operands,
    op_name,
    operand_prescale,
    producing_projection,
    scalar_value,
    tensor_args,
    user_location,
    walk_to_softmax,
)


@dataclass
class AttentionSite:
    kind: str  # "softmax" (explicit math), "sdpa" (F.scaled_dot_product_attention), "mha"
    module: str
    index: int  # op index of the softmax / fused call
    scores: torch.Tensor | None = None  # what entered the softmax (..., Tq, Tk) (masked entries very negative)
    weights: torch.Tensor | None = None  # softmax output
    dim: int | None = None  # softmax dim, negative form
    contracted_dim: int | None = None  # axis of the weights contracted with V (negative form), if seen
    d_k: int | None = None  # contracted size of the score matmul
    scale: float | None = None  # total scalar factor applied between Q K^T and softmax (incl. pre-scaled q/k)
    raw_scores: torch.Tensor | None = None  # Q K^T before scaling/masking, when found
    operand_sources: tuple = (None, None)  # (projection node, chunk index) behind the left / right operand
    value_source: tuple | None = None  # (projection node, chunk index) behind V
    query_len: int | None = None
    key_len: int | None = None
    is_causal: bool = False  # fused calls: the is_causal flag
    attn_mask: torch.Tensor | None = None  # fused calls: the mask argument
    where: str | None = None  # file:line of the softmax / fused call in the user's code
    fills: list = field(default_factory=list)  # (fill value, file:line) of masked_fill/where on the scores
    applied_row_sums: tuple | None = None  # (min, max) row sum of the weights that multiply V, over live rows
    post_mask_where: str | None = None  # file:line of a mask applied after the softmax
    output: Node | None = None  # the weights @ V node (or the fused call)

    def masked(self) -> torch.Tensor | None:
        """Boolean (..., Tq, Tk): True where the key is blocked for that query."""
        if self.kind == "softmax" and self.scores is not None:
            return self.scores <= MASKED_BELOW
        if self.kind == "sdpa" and self.query_len is not None:
            t_q, t_k = self.query_len, self.key_len
            blocked = torch.zeros(t_q, t_k, dtype=torch.bool)
            if self.is_causal:
                blocked |= torch.ones(t_q, t_k, dtype=torch.bool).triu(1)  # F.sdpa: top-left aligned
            if self.attn_mask is not None:
                m = self.attn_mask.detach().cpu()
                blocked = blocked | (~m if m.dtype == torch.bool else m <= MASKED_BELOW)
            return blocked
        return None


def _is_positional(name: str, module: nn.Module) -> bool:
    """A positional table/encoding module, by class (ours: Sinusoidal..., LearnedPositional...) or name."""
    by_class = type(module).__name__.lower().startswith(("positional", "sinusoidal", "learnedpos"))
    return by_class or bool(name and POSITION_NAME.search(name.split(".")[-1]))


def _set_fastpath(enabled: bool | None) -> bool | None:
    """Set the nn.MultiheadAttention fast path (None: leave it); returns the previous setting."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or enabled is None:
        return None
    previous = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(enabled)
    return previous


@contextlib.contextmanager
def plain_attention_path():
    """nn.MultiheadAttention / nn.TransformerEncoderLayer take a fused C++ path in eval mode that no
    tracer can see into; inside this block they run the plain path (same numbers)."""
    previous = _set_fastpath(False)
    try:
        yield
    finally:
        _set_fastpath(previous)


class AttentionTrace(TorchFunctionMode):
    """``with AttentionTrace(model) as trace: model(x)`` then read ``trace.sites`` / ``trace.nodes``."""

    def __init__(self, model: nn.Module | None = None):
        super().__init__()
        self.model = model
        self.nodes: list[Node] = []
        self.sites: list[AttentionSite] = []
        self.error: Node | None = None  # the op that raised, if the forward failed
        self.producer: dict[int, Node] = {}
        self.first_position_use: int | None = None  # op index where a positional table is first used
        self.notes: list[str] = []  # ops the tracer could not interpret (it never raises)
        self._position_ids: set[int] = set()
        self._stack: list[str] = []
        self._hooks: list = []
        self._count = 0
        self._fastpath: bool | None = None  # the setting to restore on exit

    # ----- module bookkeeping --------------------------------------------------------------------
    def __enter__(self):
        self._fastpath = _set_fastpath(False)  # the fused nn.MultiheadAttention path is opaque to the tracer
        if self.model is not None:
            for name, module in self.model.named_modules():
                self._hooks.append(module.register_forward_pre_hook(self._push(name or "<model>", module)))
                self._hooks.append(module.register_forward_hook(self._pop))
                if _is_positional(name, module):
                    self._position_ids.update(id(t) for t in module.parameters(recurse=False))
                    self._position_ids.update(id(t) for t in module.buffers(recurse=False))
                for bname, buf in list(module.named_buffers(recurse=False)) + list(module.named_parameters(recurse=False)):
                    if POSITION_NAME.search(bname):
                        self._position_ids.add(id(buf))
        return super().__enter__()

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        try:
            return super().__exit__(*exc)
        finally:
            _set_fastpath(self._fastpath)

    def _push(self, name, module):
        positional = _is_positional(name, module)

        def hook(mod, args):
            self._stack.append(name)
            if positional and self.first_position_use is None:
                self.first_position_use = self._count

        return hook

    def _pop(self, mod, args, out):
        if self._stack:
            self._stack.pop()

    @property
    def current_module(self) -> str:
        return self._stack[-1] if self._stack else "<model>"

    # ----- the op interceptor --------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func)
        tensors = tensor_args(args, kwargs)
        parents = [self.producer.get(id(t)) for t in tensors]
        if self.first_position_use is None and any(id(t) in self._position_ids for t in tensors):
            self.first_position_use = self._count
        node = Node(self._count, name, args, kwargs, parents, tensors, None, self.current_module)
        if name not in ("__get__", "size", "dim", "shape"):
            node.where = user_location()
        self._count += 1
        try:
            out = self._run_inside(func, args, kwargs) if name in MHA_FUNCTION else func(*args, **kwargs)
        except Exception:
            if self.error is None:
                self.error = node
            raise
        node.out = out
        try:
            self._record(node, out)
        except Exception as err:  # noqa: BLE001 - the tracer must never break the user's forward
            self.notes.append(f"{name} at {node.where}: {type(err).__name__}: {err}")
        return out

    def _run_inside(self, func, args, kwargs):
        """Run ``F.multi_head_attention_forward`` with this trace active inside it, so the attention
        of ``nn.MultiheadAttention`` / ``nn.Transformer*`` is seen op by op. The function dispatches
        to the active mode first; its dispatch check is answered 'no' once to run the body."""
        original = F.has_torch_function
        state = {"first": True}

        def once(ops):
            if state["first"]:
                state["first"] = False
                return False
            return original(ops)

        F.has_torch_function = once
        TorchFunctionMode.__enter__(self)
        try:
            return func(*args, **kwargs)
        finally:
            TorchFunctionMode.__exit__(self, None, None, None)
            F.has_torch_function = original

    def _record(self, node: Node, out) -> None:
        if node.name == "__setitem__" and out is None and node.tensors:  # scores[mask] = value, in place
            out = node.out = node.tensors[0]
        if isinstance(out, torch.Tensor):
            self.producer[id(out)] = node
            self.nodes.append(node)  # keeps `out` alive so ids are never reused during the trace
            self._on_op(node)
        elif node.name in SPLITS and isinstance(out, (tuple, list)):
            for i, item in enumerate(out):
                if isinstance(item, torch.Tensor):
                    chunk = Node(node.index, CHUNK_ITEM, (i,), {}, node.parents, node.tensors, item, node.module,
                                 node.where)
                    self.producer[id(item)] = chunk
                    self.nodes.append(chunk)
        elif node.name in MHA_FUNCTION and not any(s.module == node.module for s in self.sites):
            self.sites.append(AttentionSite("mha", node.module, node.index, where=node.where))

    def _on_op(self, node: Node) -> None:
        if node.name in SOFTMAX:
            self._add_softmax_site(node)
        elif node.name in FUSED_ATTENTION:
            self._add_fused_site(node)
        elif node.name in MATMULS:
            self._link_consumer(node)

    def _add_softmax_site(self, node: Node) -> None:
        scores = node.tensors[0] if node.tensors else None
        if scores is None or scores.dim() < 2:
            return
        dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        if dim is None:
            return
        dim = int(dim) - scores.dim() if int(dim) >= 0 else int(dim)
        site = AttentionSite("softmax", node.module, node.index, scores=scores.detach(), weights=node.out.detach(),
                             dim=dim, where=node.where)
        site.query_len, site.key_len = scores.shape[-2], scores.shape[-1]
        found = find_score_matmul(node.tensor_parent(0))
        if found is not None:
            matmul, factor, fills = found
            site.d_k = contracted_size(matmul)
            alpha = scalar_value(matmul.kwargs.get("alpha", 1.0)) if matmul.name == "baddbmm" else 1.0
            site.scale = factor * operand_prescale(matmul) * (alpha if alpha is not None else 1.0)
            site.raw_scores = matmul.out.detach() if isinstance(matmul.out, torch.Tensor) else None
            left, right = _score_rows_first(matmul)
            site.operand_sources = (producing_projection(matmul.tensor_parent(left)),
                                    producing_projection(matmul.tensor_parent(right)))
            site.fills = [(_fill_value(f), f.where) for f in fills]
        node.site = site
        self.sites.append(site)

    def _add_fused_site(self, node: Node) -> None:
        q = node.args[0] if node.args else node.kwargs.get("query")
        k = node.args[1] if len(node.args) > 1 else node.kwargs.get("key")
        mask = node.kwargs.get("attn_mask", node.args[3] if len(node.args) > 3 else None)
        site = AttentionSite("sdpa", node.module, node.index, dim=-1, contracted_dim=-1, where=node.where)
        site.query_len, site.key_len, site.d_k = q.shape[-2], k.shape[-2], q.shape[-1]
        scale = node.kwargs.get("scale", node.args[6] if len(node.args) > 6 else None)
        site.scale = (1.0 / q.shape[-1] ** 0.5 if scale is None else float(scale)) * operand_prescale(node)
        site.is_causal = bool(node.kwargs.get("is_causal", node.args[5] if len(node.args) > 5 else False))
        site.attn_mask = mask.detach() if isinstance(mask, torch.Tensor) else None
        site.output = node
        site.operand_sources = (producing_projection(node.tensor_parent(0)), producing_projection(node.tensor_parent(1)))
        site.value_source = producing_projection(node.tensor_parent(2))
        self.sites.append(site)
        with torch.no_grad():
            if q.dim() >= 3 and k.dim() >= 3 and k.shape[-3] != q.shape[-3] and q.shape[-3] % k.shape[-3] == 0:
                k = k.repeat_interleave(q.shape[-3] // k.shape[-3], dim=-3)  # grouped KV heads (enable_gqa)
            site.raw_scores = (q @ k.transpose(-2, -1)).detach()

    def _link_consumer(self, node: Node) -> None:
        """If an operand of this matmul is (a view of) softmax weights, note the contracted axis, the
        row sums of what multiplies V (a mask after the softmax breaks them) and the value projection."""
        for i in matmul_operands(node):
            found = walk_to_softmax(node.tensor_parent(i))
            if found is None:
                continue
            softmax_node, flipped, post_ops = found
            site = softmax_node.site
            if site is None or site.output is not None:
                continue
            axis = contracted_axis(node, i)
            if axis is None:
                continue
            site.contracted_dim = {-1: -2, -2: -1}[axis] if flipped else axis
            site.output = node
            other = [j for j in matmul_operands(node) if j != i][0]
            site.value_source = producing_projection(node.tensor_parent(other))
            if post_ops:
                site.post_mask_where = post_ops[-1].where
                weights = node.tensors[i].detach().float()
                sums = weights.sum(dim=axis)
                live = sums[sums.abs() > 1e-6]
                if live.numel():
                    site.applied_row_sums = (float(live.min()), float(live.max()))


def _score_rows_first(matmul: Node) -> tuple[int, int]:
    """(operand giving the score rows, operand giving the columns); an einsum says it by its letters
    ('bhjd,bhid->bhij' with (q, k) puts k on the rows)."""
    left, right = matmul_operands(matmul)
    if matmul.name == "einsum":
        parsed = einsum_axes(matmul)
        if parsed is not None and len(parsed[0]) == 2 and len(parsed[1]) >= 2:
            (a, b), out = parsed
            if out[-2] in b and out[-2] not in a and out[-1] in a:
                return right, left
    return left, right


def _fill_value(node: Node) -> float | None:
    """The value a masked_fill / where / ``x[mask] = v`` writes into the blocked entries."""
    if node.name == "__setitem__" and len(node.args) > 2:
        return scalar_value(node.args[2])
    if node.name in ("masked_fill", "masked_fill_"):
        value = node.kwargs.get("value", node.args[2] if len(node.args) > 2 else None)
        return scalar_value(value) if value is not None else None
    if node.name == "where" and len(node.args) >= 3:  # torch.where(keep, scores, fill) or (blocked, fill, scores)
        return next((scalar_value(a) for a in node.args[1:3] if scalar_value(a) is not None), None)
    return None


__all__ = ["AttentionSite", "AttentionTrace", "FILLS", "MASKED_BELOW", "MATMULS", "plain_attention_path"]
