"""The op graph an :class:`~scratchformers.analysis.trace.AttentionTrace` records, and the walks
over it that rebuild an attention site from a user's own ops.

Each :class:`Node` is one torch call (``matmul``, ``softmax``, ``view`` ...) with the tensors it
read, the nodes that produced them, the module running at the time and the file:line of the
user's code that made the call. The helpers follow data backwards through ops that only move or
cast values (views, transposes, dtype casts) to find, e.g., the ``Q @ K^T`` product behind a
softmax.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

import torch

MATMULS = {"matmul", "__matmul__", "__rmatmul__", "bmm", "einsum", "baddbmm"}
SOFTMAX = {"softmax"}
FUSED_ATTENTION = {"scaled_dot_product_attention"}
MHA_FUNCTION = {"multi_head_attention_forward"}
# Ops that move or cast data without changing values; the last-two-axes bookkeeping is done apart.
PASSTHROUGH = {
    "view", "reshape", "contiguous", "to", "float", "half", "bfloat16", "double", "type", "type_as",
    "clone", "__getitem__", "expand", "expand_as", "unsqueeze", "squeeze", "flatten", "detach",
    "repeat_interleave", "repeat", "unflatten",
}
RESHAPES = {"view", "reshape", "flatten"}
TRANSPOSES = {"transpose", "permute", "mT", "T", "swapaxes", "transpose_", "movedim"}
SCALAR_MUL = {"mul", "__mul__", "__rmul__", "mul_", "__imul__", "multiply"}
SCALAR_DIV = {"div", "__truediv__", "div_", "__itruediv__", "true_divide", "divide"}
FILLS = {"masked_fill", "masked_fill_", "where", "__setitem__"}
MASKING = FILLS | {"add", "__add__", "__radd__", "add_", "__iadd__", "sub", "__sub__", "sub_", "__isub__"}
DROPOUT = {"dropout", "dropout_"}
LINEARS = {"linear", "addmm"}
# Normalisation: fused kernels, and the statistics a hand-written LayerNorm / RMSNorm computes.
NORM_KERNELS = {"layer_norm", "rms_norm", "group_norm", "instance_norm", "batch_norm"}
NORM_STATISTICS = {"std", "var", "var_mean", "std_mean", "rsqrt", "norm"}
MASKED_BELOW = -1e4  # a score this low counts as masked (-inf, -1e9, finfo.min all qualify)

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
POSITION_NAME = re.compile(r"(^|[._])(pos|position|positions|wpe|pe|pos_emb|pos_embedding|positional\w*)($|[._])",
                           re.IGNORECASE)


def op_name(func) -> str:
    name = getattr(func, "__name__", "") or ""
    if name == "__get__":  # a property such as Tensor.mT / Tensor.T
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name


def user_location() -> str | None:
    """``file:line`` of the innermost frame outside torch and this package (the user's code)."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith(_TORCH_DIR) or filename.startswith(_OWN_DIR) or filename.startswith("<frozen")
                or filename.endswith("contextlib.py")):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


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
    where: str | None = None  # file:line of the user's code that made this call
    site: object | None = None  # the AttentionSite of a softmax node

    def tensor_parent(self, i: int = 0):
        return self.parents[i] if i < len(self.parents) else None


def tensor_args(args, kwargs) -> list:
    found = []
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(x for x in a if isinstance(x, torch.Tensor))
    return found


def scalar_value(x) -> float | None:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, torch.Tensor) and x.numel() == 1 and x.is_floating_point():
        return float(x.detach().reshape(()))
    return None


def einsum_operand_axes(equation: str, ranks: list[int] | None = None):
    """'bhqd,bhkd->bhqk' -> (['bhqd', 'bhkd'], 'bhqk'); an ellipsis becomes placeholder letters."""
    equation = equation.replace(" ", "")
    if "->" not in equation:
        return None
    lhs, out = equation.split("->")
    subs = lhs.split(",")
    if "..." in equation:
        if ranks is None or len(ranks) < len(subs):
            return None
        extra = max(rank - (len(s) - 3) for s, rank in zip(subs, ranks) if "..." in s)
        fill = "".join(chr(0x100 + i) for i in range(max(extra, 0)))  # letters no equation uses
        subs = [s.replace("...", fill[len(fill) - (rank - (len(s) - 3)):]) if "..." in s else s
                for s, rank in zip(subs, ranks)]
        out = out.replace("...", fill)
    return subs, out


def matmul_operands(node: Node) -> tuple[int, int]:
    """Indices into node.tensors/parents of the (left, right) operands of a matrix product."""
    if node.name == "__rmatmul__":
        return 1, 0
    if node.name == "baddbmm":
        return 1, 2
    return 0, 1


def is_transpose_of_last_two(node: Node) -> bool | None:
    """True: swaps the last two axes; False: leaves them; None: something else we can't follow."""
    x = node.tensors[0] if node.tensors else None
    if x is None:
        return None
    n = x.dim()
    if node.name == "mT":
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


def walk_to_softmax(node: Node | None, depth: int = 12):
    """Follow passthrough/dropout/transposes/masking back to a softmax node.

    Returns (softmax node, flipped, post_ops): ``flipped`` when the last two axes were swapped on the
    way, ``post_ops`` the masking ops applied to the weights after the softmax.
    """
    flipped, post = False, []
    while node is not None and depth > 0:
        if node.name in SOFTMAX:
            return node, flipped, post
        if node.name in TRANSPOSES:
            swap = is_transpose_of_last_two(node)
            if swap is None:
                return None
            flipped ^= swap
        elif node.name in PASSTHROUGH:
            src = node.tensors[0] if node.tensors else None
            if src is None or not isinstance(node.out, torch.Tensor) or src.shape[-2:] != node.out.shape[-2:]:
                return None
        elif node.name in FILLS or node.name in SCALAR_MUL:
            if node.name in SCALAR_MUL and scalar_value(node.args[1] if len(node.args) > 1 else None) is not None:
                pass  # a scalar factor after the softmax is not a mask
            else:
                post.append(node)
            node = main_parent(node)
            depth -= 1
            continue
        elif node.name not in DROPOUT:
            return None
        node = node.tensor_parent(0)
        depth -= 1
    return None


def main_parent(node: Node):
    """The producer of the op's data input: the operand with the output's shape (else the first
    non-scalar one), so a broadcast mask or a factor is not followed."""
    out_shape = node.out.shape if isinstance(node.out, torch.Tensor) else None
    candidates = [(t, p) for t, p in zip(node.tensors, node.parents) if t.numel() > 1]
    if node.name == "where" and len(node.tensors) >= 2:
        candidates = [(t, p) for t, p in candidates if t.dtype != torch.bool]
    for t, p in candidates:
        if out_shape is not None and t.shape == out_shape and t.is_floating_point():
            return p
    return candidates[0][1] if candidates else None


def find_score_matmul(node: Node | None, depth: int = 12):
    """From the softmax input back to the Q K^T product: (matmul node, scalar factor, fill nodes)."""
    factor, fills = 1.0, []
    while node is not None and depth > 0:
        if node.name in MATMULS:
            return node, factor, fills
        if node.name in SCALAR_MUL | SCALAR_DIV:
            scalars = [scalar_value(a) for a in node.args[:2]]
            value = next((s for s in scalars if s is not None), None)
            if value is None or all(s is not None for s in scalars):
                return None  # a tensor-by-tensor product is not a scaling
            factor = factor * value if node.name in SCALAR_MUL else factor / value
            node = main_parent(node)
        elif node.name in MASKING:
            if node.name in FILLS:
                fills.append(node)
            node = main_parent(node)
        elif node.name in PASSTHROUGH or node.name in TRANSPOSES:
            node = node.tensor_parent(0)
        else:
            return None
        depth -= 1
    return None


def operand_prescale(node: Node) -> float:
    """Scalar factors applied to q and k before their product (``q = q * d**-0.5`` styles)."""
    total = 1.0
    left, right = matmul_operands(node) if node.name in MATMULS else (0, 1)
    for parent in (node.tensor_parent(left), node.tensor_parent(right)):
        depth = 8
        while parent is not None and depth > 0:
            if parent.name in SCALAR_MUL | SCALAR_DIV:
                value = next((scalar_value(a) for a in parent.args[:2] if scalar_value(a) is not None), None)
                if value is None:
                    break
                total = total * value if parent.name in SCALAR_MUL else total / value
            elif parent.name not in PASSTHROUGH | TRANSPOSES:
                break
            parent = main_parent(parent)
            depth -= 1
    return total


SPLITS = {"split", "chunk", "unbind", "tensor_split", "split_with_sizes"}
CHUNK_ITEM = "<chunk>"  # a synthetic node: element i of a split/chunk/unbind result


def producing_projection(node: Node | None, depth: int = 14):
    """The projection an operand comes from: (linear/addmm node, chunk index of a fused projection
    split into q/k/v, or None)."""
    chunk = None
    followed = PASSTHROUGH | TRANSPOSES | SCALAR_MUL | SCALAR_DIV | FILLS | {
        "add", "__add__", "__radd__", "cat", "stack", "sub", "__sub__", "neg", "__neg__", "contiguous"}  # incl. RoPE
    while node is not None and depth > 0:
        if node.name in LINEARS:
            return node, chunk
        if node.name == CHUNK_ITEM:
            chunk = node.args[0] if chunk is None else chunk
            node = node.tensor_parent(0)
        elif node.name == "__getitem__" and len(node.args) > 1 and isinstance(node.args[1], int) and chunk is None:
            chunk = node.args[1]
            node = node.tensor_parent(0)
        elif node.name in followed:
            node = main_parent(node) if node.name not in PASSTHROUGH | TRANSPOSES else node.tensor_parent(0)
        else:
            return None
        depth -= 1
    return None


def contracted_size(matmul: Node) -> int | None:
    left, right = matmul_operands(matmul)
    if matmul.name == "einsum":
        parsed = einsum_axes(matmul)
        if parsed is None:
            return None
        (a, b), out = parsed[0][:2], parsed[1]
        shared = [c for c in a if c in b and c not in out]
        return int(matmul.tensors[0].shape[a.index(shared[0])]) if shared else None
    return int(matmul.tensors[left].shape[-1])


def einsum_axes(matmul: Node):
    """An einsum node's (operand subscripts, output subscripts), or None when it cannot be read."""
    if not matmul.args or not isinstance(matmul.args[0], str) or len(matmul.tensors) < 2:
        return None
    return einsum_operand_axes(matmul.args[0], [t.dim() for t in matmul.tensors])


def contracted_axis(matmul: Node, operand: int) -> int | None:
    """Negative axis of tensor ``operand`` (index into node.tensors) that the matmul sums over."""
    if matmul.name == "einsum":
        parsed = einsum_axes(matmul)
        if parsed is None or len(parsed[0]) < 2 or operand > 1:
            return None
        subs, out = parsed
        mine, other = subs[operand], subs[1 - operand]
        shared = [c for c in mine if c in other and c not in out]
        if len(shared) != 1:
            return None
        axis = mine.index(shared[0]) - len(mine)
        return axis if axis in (-1, -2) else None
    left, right = matmul_operands(matmul)
    if operand == left:
        return -1
    return -2 if operand == right else None
