"""``check_model``: run every model check and collect the findings in one report.

Each check runs in its own guard: a check that cannot run on this model reports ``skip`` with the
reason (the doctor's own failure is never reported as the model's). The model's forward is run
once under the op tracer; the black-box checks run it again on perturbed inputs.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from scratchformers.analysis.trace import AttentionTrace, plain_attention_path
from scratchformers.doctor import probe
from scratchformers.doctor.attention_checks import (
    check_mask_fill,
    check_scaling,
    check_score_orientation,
    check_score_shape_error,
    check_softmax_axis,
)
from scratchformers.doctor.behaviour import check_dropout, check_nan_inf, check_position_signal
from scratchformers.doctor.call import Call, infer_seq_first
from scratchformers.doctor.causal import check_causal_leak
from scratchformers.doctor.consequences import attribute_consequences
from scratchformers.doctor.findings import Finding, Report
from scratchformers.doctor.gradients import check_gradient_flow
from scratchformers.doctor.padding import check_padding
from scratchformers.doctor.structure_checks import (
    check_head_merge,
    check_norm_axis,
    check_norm_missing,
    check_residual,
    find_blocks,
)
from scratchformers.doctor.weights import check_pretrained

ALL_CHECKS = ("inputs", "dropout", "attention", "structure", "nan_inf", "causal_leak", "position_signal",
              "padding_mask", "pretrained", "gradient_flow")


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


def _forward_failure(trace: AttentionTrace, err: Exception) -> Finding:
    explained = check_score_shape_error(trace, err)
    if explained is not None:
        return explained
    if trace.error is None and not trace.nodes and isinstance(err, TypeError) and "argument" in str(err):
        return Finding("forward", "fail", f"the doctor could not call the model: {err}",
                       cause="the forward needs arguments besides the ids (or takes the ids under another name); "
                             "nothing of the model was run or judged",
                       fix="check_model(model, ids, forward_kwargs={...}, input_arg='name_of_the_ids_argument')")
    oriented = check_score_orientation(trace.sites)  # the sites that ran before the crash
    if oriented.status == "fail":
        oriented.message += f"; the forward then fails: {type(err).__name__}: {str(err)[:200]}"
        return oriented
    text = f"{type(err).__name__}: {err}"
    hint = ""
    if isinstance(err, IndexError) and "index out of range" in str(err):
        hint = "an id or a position is past an embedding table (check inputs.length / inputs.vocab)"
    where = f" (at {trace.error.where})" if trace.error is not None and trace.error.where else ""
    return Finding("forward", "fail", text[:500] + ("..." if len(text) > 500 else "") + where,
                   cause=hint or "the forward pass raised", fix="see the message; run the model alone to get the traceback",
                   module=trace.error.module if trace.error is not None else None)


def _guarded(report: Report, check_id: str, run) -> Finding | None:
    """Run one check; an exception inside the doctor becomes a ``skip`` naming it, never a crash."""
    try:
        finding = run()
    except Exception as err:  # noqa: BLE001 - the doctor must never crash on a user's model
        finding = Finding(check_id, "skip", f"the check could not run on this model: {type(err).__name__}: "
                          f"{str(err)[:200]}")
    if finding is not None:
        report.add(finding)
    return finding


def _token_embedding(trace: AttentionTrace, ids: torch.Tensor) -> tuple[int, int] | None:
    """(rows, width) of the embedding table the ids are looked up in (seen in the trace)."""
    for node in trace.nodes:
        if node.name == "embedding" and len(node.tensors) >= 2:
            looked_up, table = node.tensors[0], node.tensors[1]
            if looked_up.shape in (ids.shape, ids.t().shape) and not looked_up.is_floating_point():
                return int(table.shape[0]), int(table.shape[-1])
    return None


def check_model(
    model: nn.Module,
    input_ids: torch.Tensor | None = None,
    *,
    causal: bool | None = None,
    pretrained: bool | None = None,
    forward_kwargs: dict | None = None,
    reference=None,
    checks: tuple[str, ...] = ALL_CHECKS,
    input_arg: str | None = None,
    seq_first: bool | None = None,
) -> Report:
    """Run the model checks on ``model`` (ours, Hugging Face, or any ``nn.Module`` taking ids).

    ``causal``/``pretrained``: None = infer from the model's config (a user's own module should
    pass them). ``forward_kwargs`` are passed to every forward exactly as given (e.g. an encoder
    context, ``attention_mask``, ``token_type_ids``, ``targets``). ``input_arg``: the forward
    parameter that takes the ids when it is not the first (e.g. ``"tgt"``). ``seq_first``: the
    model takes ``(T, B)`` ids (None = measured). ``reference``: a checkpoint the weights must equal.
    """
    report = Report(f"doctor: {type(model).__name__}")
    generated = input_ids is None
    if generated:
        input_ids = probe.default_input_ids(model)
    if causal is None:
        causal = probe.infer_causal(model)
    forward_kwargs = dict(forward_kwargs or {})
    _, device = probe.model_dtype_device(model)
    input_ids = input_ids.to(device)
    with probe.eval_mode(model), plain_attention_path():
        if seq_first is None:
            seq_first = infer_seq_first(model, input_ids, forward_kwargs, input_arg)
        if seq_first and not generated:
            input_ids = input_ids.t()  # inside the doctor ids are (B, T)
    call = Call(model, forward_kwargs, input_arg, bool(seq_first), input_ids.shape[0], input_ids.shape[1])

    if "inputs" in checks:
        findings, input_ids = check_inputs(model, input_ids)
        report.extend(findings)
        if input_ids.shape[1] != call.seq_len:  # cut to the position table: per-token arguments follow
            call.kwargs = call.cut(input_ids.shape[1])  # recognised by the old length
            call.seq_len = input_ids.shape[1]
    deterministic = True
    if "dropout" in checks:
        try:
            finding = report.add(check_dropout(call, input_ids, was_training=model.training))
            deterministic = not (finding.status == "fail" and not model.training)
        except Exception:  # noqa: BLE001 - the forward itself fails: reported below
            pass

    with probe.eval_mode(model), plain_attention_path():
        _run_checks(report, call, input_ids, causal, pretrained, reference, checks, deterministic)
    attribute_consequences(report)
    return report


def _run_checks(report, call, input_ids, causal, pretrained, reference, checks, deterministic) -> None:
    model = call.model
    trace = AttentionTrace(model)
    try:
        with torch.no_grad(), trace, probe.capture_io(model) as records:
            raw = call(input_ids)
    except Exception as err:  # noqa: BLE001 - every failure becomes a finding
        failure = _forward_failure(trace, err)
    else:
        failure = None if probe.find_main_output(raw) is not None else Finding(
            "output", "fail", probe.no_output_message(raw), cause="the forward must return the model's outputs",
            fix="return logits  # a tensor, a tuple, a dict or an object with .logits")
    if failure is not None:
        report.add(failure)
        for name in checks:
            if name not in ("inputs", "dropout", "pretrained"):
                report.add(Finding(name, "skip", "the forward pass failed"))
        if "pretrained" in checks:
            _guarded(report, "pretrained", lambda: check_pretrained(model, pretrained, reference))
        return
    sites = trace.sites
    table_rows, width = _token_embedding(trace, input_ids) or (None, None)
    vocab = table_rows or probe.infer_vocab_size(model) or int(input_ids.max()) + 1
    if "attention" in checks:
        _guarded(report, "attention.softmax_axis", lambda: check_softmax_axis(sites))
        _guarded(report, "attention.scaling", lambda: check_scaling(sites))
        _guarded(report, "attention.score_shape", lambda: check_score_orientation(sites))
        _guarded(report, "attention.mask_value", lambda: check_mask_fill(sites))
        _guarded(report, "attention.head_merge", lambda: check_head_merge(trace))
    if "structure" in checks:
        batch, t = input_ids.shape
        _guarded(report, "norm.axis", lambda: check_norm_axis(trace, batch, t, width))
        called = {name for name, _, _ in records}
        blocks = functools.cache(lambda: find_blocks(trace, called))  # once, inside the guards
        _guarded(report, "norm.missing", lambda: check_norm_missing(trace, width, blocks()))
        _guarded(report, "residual", lambda: check_residual(model, blocks(), records))
    outputs_finite = all(bool(torch.isfinite(t).all()) for _, t in probe.output_tensors(raw))
    if "nan_inf" in checks:
        _guarded(report, "nan_inf", lambda: check_nan_inf(raw, records, sites))
    random_outputs = Finding("causal_leak", "skip", "outputs are random in eval mode (see dropout)")
    if "causal_leak" in checks:
        if not deterministic:
            report.add(random_outputs)
        elif causal:
            _guarded(report, "causal_leak", lambda: check_causal_leak(call, input_ids, vocab, sites))
        else:
            report.add(Finding("causal_leak", "skip", "not a decoder (pass causal=True to check a model of your own)"
                               if causal is False else "causal unknown: pass causal=True/False"))
    if "position_signal" in checks:
        if deterministic:
            _guarded(report, "position_signal", lambda: check_position_signal(call, input_ids, causal))
        else:
            report.add(Finding("position_signal", "skip", random_outputs.message))
    if "padding_mask" in checks and deterministic:
        _guarded(report, "padding_mask", lambda: check_padding(call, input_ids, vocab, causal))
    if "pretrained" in checks:
        _guarded(report, "pretrained", lambda: check_pretrained(model, pretrained, reference))
    if "gradient_flow" in checks:
        if outputs_finite:
            _guarded(report, "gradient_flow", lambda: check_gradient_flow(model, input_ids, call=call))
        else:  # NaN outputs give NaN gradients everywhere; the nan_inf finding names the cause
            report.add(Finding("gradient_flow", "skip", "the outputs are not finite (see nan_inf)"))
