"""Root cause first: one bug gives one failure that names it.

Some bugs show up in the black-box checks too: a softmax over the query axis, a mask filled with 0
or applied after the softmax, heads merged without the transpose and a LayerNorm over the sequence
axis all make a position read other positions, so ``causal_leak`` / ``padding_mask`` fail as
well. Those become warnings that point at the root cause.
"""

from __future__ import annotations

from scratchformers.doctor.findings import Report

# root cause -> why it also breaks the black-box checks
ROOTS = {
    "attention.softmax_axis": "normalising over queries sums over other (future, padded) positions",
    "attention.mask_value": "masked keys filled with a finite value stay visible",
    "attention.mask_after_softmax": "the softmax normalised over the blocked keys before the mask",
    "attention.head_merge": "merging heads without the transpose mixes positions",
    "norm.axis": "normalising over the sequence axis mixes positions",
    "norm.missing": "LayerNorm modules that are never called get no gradient",
}
MIXING = ("causal_leak", "padding_mask", "nan_inf")
CONSEQUENCES = {root: MIXING for root in ROOTS} | {"norm.missing": ("gradient_flow",)}


def attribute_consequences(report: Report) -> None:
    root = next((f for f in report.findings if f.id in ROOTS and f.status == "fail"), None)
    if root is None:
        return
    for finding in report.findings:
        if finding.id in CONSEQUENCES[root.id] and finding.status == "fail":
            finding.status = "warn"
            finding.message += f" (a consequence of {root.id}: {ROOTS[root.id]})"
