"""Generation checks: a repetitive output (repeated n-gram rate) and the sampling settings."""

from __future__ import annotations

from scratchformers.doctor.findings import Finding, Report

REPEAT_WARN, REPEAT_FAIL = 0.2, 0.5
SUGGESTED = "do_sample=True, temperature=0.7-0.9, top_p=0.9, repetition_penalty=1.1-1.3 (or no_repeat_ngram_size=3)"


def check_generation(text_or_ids, *, n: int = 3, temperature: float | None = None, do_sample: bool | None = None,
                     top_p: float | None = None, repetition_penalty: float | None = None, tokenizer=None) -> Report:
    """Judge one generated text (or id sequence) and the settings that produced it. Given ids and the
    ``tokenizer`` that made them, the evidence quotes the repeated n-gram as text, ids in brackets."""
    from scratchformers.generation.repetition import repetition_report

    report = Report("doctor: generation")
    rep = repetition_report(text_or_ids, n=n)
    repeated = " ".join(map(str, rep.most_repeated))
    if tokenizer is not None and not isinstance(text_or_ids, str) and rep.most_repeated:
        repeated = f"{tokenizer.decode([int(i) for i in rep.most_repeated])!r} (ids {repeated})"
    else:
        repeated = repr(repeated)
    evidence = (f"repeated {n}-gram rate {rep.repeated_ngram_rate:.2f}, distinct-1 {rep.distinct[1]:.2f} over "
                f"{rep.num_units} units; most repeated: {repeated} x{rep.most_repeated_count}")
    greedy = do_sample is False or temperature == 0
    if rep.repeated_ngram_rate > REPEAT_WARN:
        status = "fail" if rep.repeated_ngram_rate > REPEAT_FAIL else "warn"
        settings = SUGGESTED
        if do_sample and (repetition_penalty in (None, 1.0)):
            settings = "repetition_penalty=1.1-1.3 (or no_repeat_ngram_size=3); temperature 0.7-0.9, top_p=0.9"
        report.add(Finding("generation.repetition", status, evidence,
                           cause="greedy/beam decoding of a small model falls into a loop" if greedy or do_sample is None
                           else "the sampling settings still allow loops",
                           fix=f"model.generate(ids, {settings})"))
    else:
        report.add(Finding("generation.repetition", "ok", evidence))
    if temperature is not None and temperature <= 0:
        report.add(Finding("generation.temperature", "warn",
                           f"temperature={temperature} requested: this means greedy decoding (argmax), not sampling"
                           + (" although do_sample=True" if do_sample else ""),
                           cause="dividing logits by 0 is undefined; generate treats temperature 0 as greedy",
                           fix="do_sample=False for deterministic output, or temperature=0.7 to sample"))
    elif temperature is not None and temperature > 1.5:
        report.add(Finding("generation.temperature", "warn", f"temperature={temperature} flattens the distribution",
                           fix="temperature 0.7-0.9 with top_p=0.9"))
    elif top_p is not None and not 0 < top_p <= 1:
        report.add(Finding("generation.temperature", "fail", f"top_p={top_p} is outside (0, 1]", fix="top_p=0.9"))
    else:
        report.add(Finding("generation.temperature", "ok", "sampling settings in the usual range"
                           if do_sample else "greedy decoding (deterministic)"))
    return report
