"""Watch a forward pass op by op and find the attention inside any model.

:class:`AttentionTrace` is a ``TorchFunctionMode``: every torch call made by the model (``q @ k.T``,
``scores / 8``, ``softmax``, ``F.scaled_dot_product_attention`` ...) passes through it. We keep a
tiny graph (each op's output and the ops that produced its inputs) and the name of the module
running at that moment, which is enough to rebuild each attention site of a user's own code:

    scores = matmul(Q, K^T) -> scalar scaling -> masking -> softmax(dim) -> (dropout) -> matmul(., V)

Each :class:`AttentionSite` knows its module, the softmax axis, the axis the weights are contracted
over, the score matmul and its contracted size d_k, the total scalar scale applied, and the scores
that entered the softmax (so the mask pattern can be read off the -inf entries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

MATMULS = {"matmul", "__matmul__", "__rmatmul__", "bmm", "einsum"}
SOFTMAX = {"softmax"}
FUSED_ATTENTION = {"scaled_dot_product_attention"}
MHA_FUNCTION = {"multi_head_attention_forward"}
# Ops that move or cast data without changing values; the last-two-axes bookkeeping is done apart.
PASSTHROUGH = {
    "view", "reshape", "contiguous", "to", "float", "half", "bfloat16", "double", "type", "type_as",
    "clone", "__getitem__", "expand", "expand_as", "unsqueeze", "squeeze", "flatten", "detach",
    "repeat_interleave", "repeat",
}
TRANSPOSES = {"transpose", "permute", "mT", "T", "swapaxes", "transpose_"}
SCALAR_MUL = {"mul", "__mul__", "__rmul__", "mul_", "__imul__", "multiply"}
SCALAR_DIV = {"div", "__truediv__", "div_", "__itruediv__", "true_divide", "divide"}
MASKING = {"masked_fill", "masked_fill_", "where", "add", "__add__", "__radd__", "add_", "__iadd__",
           "sub", "__sub__", "sub_", "__isub__"}
DROPOUT = {"dropout", "dropout_"}
POSITION_NAME = re.compile(r"(^|[._])(pos|position|positions|wpe|pe|pos_emb|pos_embedding|positional\w*)($|[._])",
                           re.IGNORECASE)
MASKED_BELOW = -1e4  # a score this low counts as masked (-inf, -1e9, finfo.min all qualify)


def op_name(func) -> str:
    name = getattr(func, "__name__", "") or ""
    if name == "__get__":  # a property such as Tensor.mT / Tensor.T
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name


@dataclass
class Node:
    index: int
    name: str
    args: tuple
    kwargs: dict
    parents: list  # the producing Node (or None) of each tensor argument, in argument order
    tensors: list  # the tensor arguments, in argument order
    out: object
    module: str
    site: AttentionSite | None = None  # set on softmax nodes

    def tensor_parent(self, i: int = 0):
        return self.parents[i] if i < len(self.parents) else None


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
    operand_modules: tuple = (None, None)  # modules that produced the two score operands (e.g. "attn.query")
    query_len: int | None = None
    key_len: int | None = None
    is_causal: bool = False  # fused calls: the is_causal flag
    attn_mask: torch.Tensor | None = None  # fused calls: the mask argument
    notes: list = field(default_factory=list)

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


def _tensor_args(args, kwargs) -> list:
    found = []
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(x for x in a if isinstance(x, torch.Tensor))
    return found


def _scalar_value(x) -> float | None:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, torch.Tensor) and x.numel() == 1 and x.is_floating_point():
        return float(x.detach().reshape(()))
    return None


def _einsum_operand_axes(equation: str):
    """'bhqd,bhkd->bhqk' -> (['bhqd', 'bhkd'], 'bhqk') (no ellipsis support)."""
    equation = equation.replace(" ", "")
    if "->" not in equation or "..." in equation:
        return None
    lhs, out = equation.split("->")
    return lhs.split(","), out


class AttentionTrace(TorchFunctionMode):
    """``with AttentionTrace(model) as trace: model(x)`` then read ``trace.sites``."""

    def __init__(self, model: nn.Module | None = None, *, keep_graph: bool = True):
        super().__init__()
        self.model = model
        self.keep_graph = keep_graph
        self.nodes: list[Node] = []
        self.sites: list[AttentionSite] = []
        self.error: Node | None = None  # the op that raised, if the forward failed
        self.producer: dict[int, Node] = {}
        self.first_position_use: int | None = None  # op index where a positional table is first used
        self._position_ids: set[int] = set()
        self._stack: list[str] = []
        self._hooks: list = []
        self._count = 0

    # ----- module bookkeeping --------------------------------------------------------------------
    def __enter__(self):
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
        return super().__exit__(*exc)

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
        tensors = _tensor_args(args, kwargs)
        parents = [self.producer.get(id(t)) for t in tensors]
        if self.first_position_use is None and any(id(t) in self._position_ids for t in tensors):
            self.first_position_use = self._count
        node = Node(self._count, name, args, kwargs, parents, tensors, None, self.current_module)
        self._count += 1
        try:
            out = func(*args, **kwargs)
        except Exception:
            if self.error is None:
                self.error = node
            raise
        node.out = out
        if isinstance(out, torch.Tensor):
            if self.keep_graph or name in SOFTMAX:
                self.producer[id(out)] = node
                self.nodes.append(node)  # keeps `out` alive so ids are never reused during the trace
            self._on_op(node)
        elif name in MHA_FUNCTION:
            self.sites.append(AttentionSite("mha", node.module, node.index))
        return out

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
        site = AttentionSite("softmax", node.module, node.index, scores=scores.detach(), weights=node.out.detach(), dim=dim)
        site.query_len, site.key_len = scores.shape[-2], scores.shape[-1]
        found = _find_score_matmul(node.tensor_parent(0))
        if found is not None:
            matmul, factor = found
            site.d_k = _contracted_size(matmul)
            site.scale = factor * _operand_prescale(matmul)
            site.raw_scores = matmul.out.detach() if isinstance(matmul.out, torch.Tensor) else None
            site.operand_modules = tuple(_producing_module(p) for p in matmul.parents[:2])
        node.site = site
        self.sites.append(site)

    def _add_fused_site(self, node: Node) -> None:
        q = node.args[0] if node.args else node.kwargs.get("query")
        k = node.args[1] if len(node.args) > 1 else node.kwargs.get("key")
        mask = node.kwargs.get("attn_mask", node.args[3] if len(node.args) > 3 else None)
        site = AttentionSite("sdpa", node.module, node.index, dim=-1, contracted_dim=-1)
        site.query_len, site.key_len, site.d_k = q.shape[-2], k.shape[-2], q.shape[-1]
        scale = node.kwargs.get("scale")
        site.scale = (1.0 / q.shape[-1] ** 0.5 if scale is None else float(scale)) * _operand_prescale(node)
        site.is_causal = bool(node.kwargs.get("is_causal", node.args[5] if len(node.args) > 5 else False))
        site.attn_mask = mask.detach() if isinstance(mask, torch.Tensor) else None
        with torch.no_grad():
            site.raw_scores = (q @ k.transpose(-2, -1)).detach()
        self.sites.append(site)

    def _link_consumer(self, node: Node) -> None:
        """If an operand of this matmul is (a view of) softmax weights, note the contracted axis."""
        for i, parent in enumerate(node.parents[:2]):
            found = _walk_to_softmax(parent)
            if found is None:
                continue
            softmax_node, flipped = found
            site = softmax_node.site
            if site is None or site.contracted_dim is not None:
                continue
            axis = _contracted_axis(node, i)
            if axis is not None:
                site.contracted_dim = {-1: -2, -2: -1}[axis] if flipped else axis


def _is_transpose_of_last_two(node: Node) -> bool | None:
    """True: swaps the last two axes; False: leaves them; None: something else we can't follow."""
    x = node.tensors[0] if node.tensors else None
    if x is None:
        return None
    n = x.dim()
    if node.name in ("mT",):
        return True
    if node.name == "T":
        return True if n == 2 else None
    if node.name in ("transpose", "transpose_", "swapaxes"):
        dims = [a for a in node.args[1:3] if isinstance(a, int)]
        if len(dims) != 2:
            return None
        dims = {d % n for d in dims}
        if dims == {n - 1, n - 2}:
            return True
        return False if not dims & {n - 1, n - 2} else None
    if node.name == "permute":
        perm = node.args[1:] if len(node.args) > 1 else ()
        if len(perm) == 1 and isinstance(perm[0], (list, tuple)):
            perm = perm[0]
        perm = [p % n for p in perm]
        if len(perm) != n:
            return None
        if perm[-2:] == [n - 1, n - 2]:
            return True
        return False if perm[-2:] == [n - 2, n - 1] else None
    return None


def _walk_to_softmax(node: Node | None, depth: int = 12):
    """Follow passthrough/dropout/transposes back to a softmax node; returns (node, flipped)."""
    flipped = False
    while node is not None and depth > 0:
        if node.name in SOFTMAX:
            return node, flipped
        if node.name in TRANSPOSES:
            swap = _is_transpose_of_last_two(node)
            if swap is None:
                return None
            flipped ^= swap
        elif node.name in PASSTHROUGH:
            src = node.tensors[0] if node.tensors else None
            if src is None or not isinstance(node.out, torch.Tensor) or src.shape[-2:] != node.out.shape[-2:]:
                return None
        elif node.name not in DROPOUT and node.name not in ("masked_fill", "masked_fill_"):
            return None
        node = node.tensor_parent(0)
        depth -= 1
    return None


def _find_score_matmul(node: Node | None, depth: int = 12):
    """From the softmax input back to the Q K^T matmul: (matmul node, scalar factor) or None."""
    factor = 1.0
    while node is not None and depth > 0:
        if node.name in MATMULS:
            return node, factor
        if node.name in SCALAR_MUL | SCALAR_DIV:
            scalars = [_scalar_value(a) for a in node.args[:2]]
            tensor_i = next((i for i, a in enumerate(node.args[:2]) if _scalar_value(a) is None), None)
            value = next((s for s in scalars if s is not None), None)
            if value is None or tensor_i is None:
                return None  # a tensor-by-tensor product is not a scaling
            factor = factor * value if node.name in SCALAR_MUL else factor / value
            node = _main_parent(node)
        elif node.name in MASKING:
            # follow the operand that has the score shape (the mask is usually broadcast)
            out_shape = node.out.shape if isinstance(node.out, torch.Tensor) else None
            candidates = [p for t, p in zip(node.tensors, node.parents) if t.shape == out_shape and p is not None]
            for cand in candidates:
                found = _find_score_matmul(cand, depth - 1)
                if found is not None:
                    return found[0], factor * found[1]
            return None
        elif node.name in PASSTHROUGH or node.name in TRANSPOSES:
            node = node.tensor_parent(0)
        else:
            return None
        depth -= 1
    return None


def _main_parent(node: Node):
    """The producer of the op's non-scalar tensor input (the data, not the factor)."""
    for t, p in zip(node.tensors, node.parents):
        if t.numel() > 1:
            return p
    return None


def _operand_prescale(node: Node) -> float:
    """Scalar factors applied to q and k before their product (``q = q * d**-0.5`` styles)."""
    total = 1.0
    for parent in node.parents[:2]:
        depth = 8
        while parent is not None and depth > 0:
            if parent.name in SCALAR_MUL | SCALAR_DIV:
                value = next((_scalar_value(a) for a in parent.args[:2] if _scalar_value(a) is not None), None)
                if value is None:
                    break
                total = total * value if parent.name in SCALAR_MUL else total / value
            elif parent.name not in PASSTHROUGH | TRANSPOSES:
                break
            parent = _main_parent(parent)
            depth -= 1
    return total


def _producing_module(node: Node | None, depth: int = 10) -> str | None:
    """The module of the projection (F.linear / matmul with a weight) an operand comes from."""
    while node is not None and depth > 0:
        if node.name in ("linear", "addmm"):
            return node.module
        if node.name not in PASSTHROUGH | TRANSPOSES | SCALAR_MUL | SCALAR_DIV | {"split", "chunk", "unbind"}:
            return None
        node = _main_parent(node)
        depth -= 1
    return None


def _contracted_size(matmul: Node) -> int | None:
    if matmul.name == "einsum":
        parsed = _einsum_operand_axes(matmul.args[0]) if matmul.args and isinstance(matmul.args[0], str) else None
        if parsed is None or len(matmul.tensors) < 2:
            return None
        (a, b), out = parsed[0][:2], parsed[1]
        shared = [c for c in a if c in b and c not in out]
        return int(matmul.tensors[0].shape[a.index(shared[0])]) if shared else None
    a = matmul.tensors[0] if matmul.name != "__rmatmul__" else matmul.tensors[1]
    return int(a.shape[-1])


def _contracted_axis(matmul: Node, operand: int) -> int | None:
    """Negative axis of operand ``operand`` that the matmul sums over (-1 or -2), or None."""
    if matmul.name == "einsum":
        parsed = _einsum_operand_axes(matmul.args[0]) if matmul.args and isinstance(matmul.args[0], str) else None
        if parsed is None or len(parsed[0]) < 2:
            return None
        subs, out = parsed
        mine, other = subs[operand], subs[1 - operand]
        shared = [c for c in mine if c in other and c not in out]
        if len(shared) != 1:
            return None
        axis = mine.index(shared[0]) - len(mine)
        return axis if axis in (-1, -2) else None
    if matmul.name == "__rmatmul__":
        operand = 1 - operand
    return -1 if operand == 0 else -2
