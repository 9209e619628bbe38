"""Padding: with the last positions marked as padding, the pad tokens must not change anything at
the real positions.

The mask is the user's own argument (``attention_mask``, ``src_mask``, ``src_key_padding_mask``
... in whatever per-token shape and polarity they pass it: the value at the first position is
read as "keep"; or valid lengths, ``valid_lens`` (B,)), or a synthesized ``attention_mask`` of
ones/zeros when the forward takes one.
Two forwards differ only in the ids at the padded positions; the real positions' outputs must agree.
A decoder is skipped: padding at the end is hidden by the causal mask anyway.
"""

from __future__ import annotations

import torch

from scratchformers.doctor.call import Call, find_padding_mask
from scratchformers.doctor.causal import _as_rows, _tol, diff, perturb, probe_ids
from scratchformers.doctor.findings import Finding


def _with_padding(mask: torch.Tensor, real: int) -> torch.Tensor:
    """The same mask (shape, dtype, polarity) with positions >= ``real`` set to the pad value."""
    keep = mask.reshape(-1)[0]
    if mask.dtype == torch.bool:
        pad = ~keep
    elif mask.is_floating_point() and float(keep) == 0.0:  # an additive mask: 0 = keep, very negative = pad
        pad = torch.tensor(torch.finfo(mask.dtype).min, dtype=mask.dtype)
    elif float(keep) in (0.0, 1.0):  # 1 = keep (Hugging Face), or integer 0 = keep / 1 = pad
        pad = 1 - keep
    else:
        raise ValueError(f"cannot tell the padding value of a mask whose real positions hold {float(keep)}")
    out = mask.clone()
    out[..., real:] = pad
    return out


def check_padding(call: Call, input_ids, vocab_size: int, causal: bool | None) -> Finding:
    if causal:
        return Finding("padding_mask", "skip", "a decoder: padding at the end is hidden by the causal mask")
    found = find_padding_mask(call)
    if found is None:
        return Finding("padding_mask", "skip", "the forward takes no padding mask (attention_mask, src_mask, "
                       "key_padding_mask ...); pass yours in forward_kwargs to check it")
    name, mask = found
    ids, kwargs = probe_ids(call, input_ids)
    t = ids.shape[1]
    if t < 4:
        return Finding("padding_mask", "skip", "needs at least 4 tokens")
    real = t - max(2, t // 4)
    if mask.dim() == 1 and mask.shape[0] == call.batch and "len" in name.lower():
        padded = torch.full((1,), real, dtype=mask.dtype, device=mask.device)  # valid lengths
    else:
        mask = mask[:1, ..., :t] if mask.dim() > 1 else mask[:t]
        if mask.dim() > 1 and not torch.equal(mask, mask.reshape(-1)[0].expand_as(mask)):
            mask = mask.reshape(-1)[0].expand_as(mask).contiguous()  # start from "all real" in the user's encoding
        padded = _with_padding(mask.contiguous(), real)
    kwargs = dict(kwargs, **{name: padded})
    other = ids.clone()
    other[:, real:] = perturb(ids, vocab_size, torch.Generator().manual_seed(2))[:, real:]
    with torch.no_grad():
        raw_a, raw_b = call.run_main(ids, kwargs), call.run_main(other, kwargs)
    a, b = _as_rows(raw_a, 1, t), _as_rows(raw_b, 1, t)
    if a is None or b is None:
        a, b = raw_a, raw_b  # a pooled output: all of it
        region = "the pooled output"
    else:
        a, b = a[:, :real], b[:, :real]
        region = f"the real positions 0..{real - 1}"
    change = float(diff(a, b).max())
    if change <= _tol(a):
        return Finding("padding_mask", "ok", f"with positions {real}..{t - 1} marked as padding in `{name}`, changing "
                       f"those tokens leaves {region} unchanged")
    scale = float(a.float().abs().max()) + 1e-12
    return Finding(
        "padding_mask", "fail",
        f"with positions {real}..{t - 1} marked as padding in `{name}` ({tuple(padded.shape)}, {padded.dtype}), "
        f"changing the pad tokens changes {region} by {change:.3g} ({change / scale:.1%} of their largest value)",
        cause="the padding mask is ignored or applied along the wrong axis: real tokens attend to padding, so "
              "predictions depend on how much padding the batch has",
        fix="scores = scores.masked_fill(mask[:, None, None, :] == 0, float('-inf'))  # (B, T) -> (B, 1, 1, Tk): "
            "blocks the padded KEYS for every query and head",
    )
