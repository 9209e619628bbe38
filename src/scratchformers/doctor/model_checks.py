"""``check_model``: run every model check and collect the findings in one report."""

from __future__ import annotations

import torch
from torch import nn

from scratchformers.doctor import probe
from scratchformers.doctor.attention_checks import (
    check_scaling,
    check_score_orientation,
    check_score_shape_error,
    check_softmax_axis,
)
from scratchformers.doctor.behaviour import (
    check_causal_leak,
    check_dropout,
    check_nan_inf,
    check_position_signal,
)
from scratchformers.doctor.findings import Finding, Report
from scratchformers.doctor.gradients import check_gradient_flow
from scratchformers.doctor.trace import AttentionTrace
from scratchformers.doctor.weights import check_pretrained

ALL_CHECKS = ("inputs", "dropout", "attention", "nan_inf", "causal_leak", "position_signal", "pretrained", "gradient_flow")


def check_inputs(model: nn.Module, input_ids: torch.Tensor) -> tuple[list[Finding], torch.Tensor]:
    """Sequence length vs the position table, ids vs the vocabulary. Returns usable ids for the rest."""
    findings = []
    max_pos = probe.infer_max_positions(model)
    t = input_ids.shape[-1]
    if max_pos is not None and t > max_pos:
        findings.append(Finding(
            "inputs.length", "fail",
            f"input has {t} tokens but the model has {max_pos} positions",
            cause="positions beyond the table: PyTorch raises 'IndexError: index out of range in self' "
                  "from the position embedding",
            fix=f"tokenizer(text, truncation=True, max_length={max_pos}); or input_ids[:, :{max_pos}]; "
                "for long documents use a sliding window",
        ))
        input_ids = input_ids[:, :max_pos]
    elif max_pos is not None:
        findings.append(Finding("inputs.length", "ok", f"{t} tokens <= {max_pos} positions"))
    vocab = probe.infer_vocab_size(model)
    if vocab is not None and input_ids.numel():
        low, high = int(input_ids.min()), int(input_ids.max())
        if low < 0 or high >= vocab:
            findings.append(Finding(
                "inputs.vocab", "fail", f"token ids span [{low}, {high}] but the vocabulary has {vocab} entries",
                cause="the tokenizer does not belong to this model (or the embeddings were not resized after "
                      "adding tokens): 'IndexError: index out of range in self' in the embedding",
                fix="use the model's own tokenizer; after adding tokens: model.resize_token_embeddings(len(tokenizer))",
            ))
            input_ids = input_ids.clamp(0, vocab - 1)
        else:
            findings.append(Finding("inputs.vocab", "ok", f"ids in [{low}, {high}] within the vocabulary of {vocab}"))
    return findings, input_ids


def _forward_failure(model, input_ids, forward_kwargs, trace: AttentionTrace, err: Exception) -> Finding:
    explained = check_score_shape_error(trace, err)
    if explained is not None:
        return explained
    text = f"{type(err).__name__}: {err}"
    hint = ""
    if isinstance(err, IndexError) and "index out of range" in str(err):
        hint = "an id or a position is past an embedding table (check inputs.length / inputs.vocab)"
    return Finding("forward", "fail", text[:500] + ("..." if len(text) > 500 else ""),
                   cause=hint or "the forward pass raised", fix="see the message; run the model alone to get the traceback",
                   module=trace.error.module if trace.error is not None else None)


def check_model(
    model: nn.Module,
    input_ids: torch.Tensor | None = None,
    *,
    causal: bool | None = None,
    pretrained: bool | None = None,
    forward_kwargs: dict | None = None,
    reference=None,
    checks: tuple[str, ...] = ALL_CHECKS,
) -> Report:
    """Run the model checks on ``model`` (ours, Hugging Face, or any ``nn.Module`` taking ids).

    ``causal``/``pretrained``: None = infer from the model's config (a user's own module should
    pass them). ``forward_kwargs`` are passed to every forward (e.g. an encoder context).
    ``reference``: a checkpoint (state dict, .safetensors file, folder) the weights must equal.
    """
    report = Report(f"doctor: {type(model).__name__}")
    if input_ids is None:
        input_ids = probe.default_input_ids(model)
    if causal is None:
        causal = probe.infer_causal(model)
    vocab = probe.infer_vocab_size(model) or int(input_ids.max()) + 1
    _, device = probe.model_dtype_device(model)
    input_ids = input_ids.to(device)

    if "inputs" in checks:
        findings, input_ids = check_inputs(model, input_ids)
        report.extend(findings)
    one_row = probe.batch_kwargs(forward_kwargs, input_ids.shape[0], 1)  # kwargs for input_ids[:1]
    deterministic = True
    if "dropout" in checks:
        try:
            finding = report.add(check_dropout(model, input_ids, one_row, was_training=model.training))
            deterministic = not (finding.status == "fail" and not model.training)
        except Exception:  # the forward itself fails: reported below
            pass

    with probe.eval_mode(model):
        trace = AttentionTrace(model)
        try:
            with torch.no_grad(), trace, probe.capture_io(model) as records:
                out = probe.run(model, input_ids, forward_kwargs)
        except Exception as err:  # noqa: BLE001 - every failure becomes a finding
            report.add(_forward_failure(model, input_ids, forward_kwargs, trace, err))
            for name in checks:
                if name not in ("inputs", "dropout", "pretrained"):
                    report.add(Finding(name, "skip", "the forward pass failed"))
            if "pretrained" in checks:
                report.add(check_pretrained(model, pretrained, reference))
            return report
        sites = trace.sites
        if "attention" in checks:
            report.add(check_softmax_axis(sites))
            report.add(check_scaling(sites))
            report.add(check_score_orientation(sites))
        outputs_finite = all(bool(torch.isfinite(t).all()) for _, t in probe.output_tensors(out))
        if "nan_inf" in checks:
            report.add(check_nan_inf(model, input_ids, forward_kwargs, out, records, sites))
        if "causal_leak" in checks:
            if not deterministic:
                report.add(Finding("causal_leak", "skip", "outputs are random in eval mode (see dropout)"))
            elif causal:
                report.add(check_causal_leak(model, input_ids, vocab, one_row, sites))
            else:
                report.add(Finding("causal_leak", "skip",
                                   "not a decoder (pass causal=True to check a model of your own)"
                                   if causal is False else "causal unknown: pass causal=True/False"))
        if "position_signal" in checks:
            report.add(check_position_signal(model, input_ids, one_row, causal) if deterministic else
                       Finding("position_signal", "skip", "outputs are random in eval mode (see dropout)"))
        if "pretrained" in checks:
            report.add(check_pretrained(model, pretrained, reference))
        if "gradient_flow" in checks:
            if outputs_finite:
                report.add(check_gradient_flow(model, input_ids, forward_kwargs))
            else:  # NaN outputs give NaN gradients everywhere; the nan_inf finding names the cause
                report.add(Finding("gradient_flow", "skip", "the outputs are not finite (see nan_inf)"))
    _attribute_consequences(report)
    return report


def _attribute_consequences(report: Report) -> None:
    """A softmax over the query axis makes each weight depend on later queries: a causal leak that
    is a consequence, not a second bug. Report the root cause as the failure."""
    axis, leak = report.get("attention.softmax_axis"), report.get("causal_leak")
    if axis is not None and leak is not None and axis.status == "fail" and leak.status == "fail" \
            and "mask" not in leak.message:
        leak.status = "warn"
        leak.message += " (a consequence of attention.softmax_axis: normalising over queries sums over future positions)"
