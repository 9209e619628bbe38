"""Were pretrained weights really loaded? Compare weight statistics with the known initialisations.

A freshly initialised tensor matches one of a handful of distributions almost exactly:

- N(0, 0.02) (GPT-2 / BERT ``initializer_range``), and GPT-2's residual N(0, 0.02 / sqrt(2 L));
- PyTorch's default ``nn.Linear``: kaiming-uniform U(-1/sqrt(fan_in), 1/sqrt(fan_in));
- xavier-uniform U(+-sqrt(6 / (fan_in + fan_out))) and xavier-normal;
- ``nn.Embedding``'s default N(0, 1);
- norm layers: weight exactly 1, bias exactly 0; Linear biases exactly 0.

We test std (within 3 %), mean, the shape of the distribution (kurtosis 3 for a normal, 1.8 for a
uniform) and the bound of a uniform. Trained weights drift away from all of them. If most tensors
still match, the checkpoint was not loaded (wrong path, a key-name mismatch, ``strict=False``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from scratchformers.doctor.findings import Finding

MIN_NUMEL = 512  # fewer values than this: the statistics are too noisy to judge
SAMPLE = 1 << 17  # values examined per tensor


@dataclass
class TensorVerdict:
    name: str
    matches: str | None  # the init it matches, or None (looks trained)
    std: float


def _is_norm(module: nn.Module) -> bool:
    return "norm" in type(module).__name__.lower()


def _candidates(fan_in: int, fan_out: int, config) -> list[tuple[str, float, str]]:
    """(label, std, family) for every initialisation we know."""
    stds = [("normal(0.02)", 0.02, "normal"), ("normal(1)", 1.0, "normal")]
    init_range = getattr(config, "initializer_range", None) if config is not None else None
    if init_range and abs(init_range - 0.02) > 1e-9:
        stds.append((f"normal({init_range})", float(init_range), "normal"))
    layers = None
    for key in ("num_layers", "n_layer", "num_hidden_layers"):
        layers = layers or (getattr(config, key, None) if config is not None else None)
    if layers:
        stds.append(("gpt2 residual normal", (init_range or 0.02) / math.sqrt(2 * layers), "normal"))
    stds.append(("pytorch default (kaiming-uniform)", 1 / math.sqrt(3 * fan_in), "uniform"))
    stds.append(("xavier-uniform", math.sqrt(2 / (fan_in + fan_out)), "uniform"))
    stds.append(("xavier-normal", math.sqrt(2 / (fan_in + fan_out)), "normal"))
    stds.append(("kaiming-normal", math.sqrt(2 / fan_in), "normal"))
    return stds


def classify_tensor(w: torch.Tensor, fan_in: int, fan_out: int, config=None) -> str | None:
    """The initialisation ``w`` matches, or None if it looks trained."""
    w = w.detach().float().flatten()
    if w.numel() > SAMPLE:  # a strided sample: plenty for std (+-0.3 %) and kurtosis (+-0.03), much faster
        w = w[:: w.numel() // SAMPLE]
    std = float(w.std())
    if std == 0:
        return "constant"
    mean = float(w.mean())
    if abs(mean) > 0.05 * std + 1e-8:
        return None
    kurtosis = float(((w - mean) ** 4).mean() / std**4)
    n = w.numel()
    std_tol = max(0.03, 4 / math.sqrt(2 * n))  # 4 standard errors of a sample std
    normal_kurt_tol = max(0.3, 4 * math.sqrt(24 / n))  # 4 standard errors of a sample kurtosis
    largest = float(w.abs().max())
    for label, target, family in _candidates(fan_in, fan_out, config):
        if abs(std / target - 1) > std_tol:
            continue
        if family == "normal" and abs(kurtosis - 3.0) < normal_kurt_tol:
            return label
        # a uniform init never exceeds its bound; trained weights do, almost surely
        if family == "uniform" and abs(kurtosis - 1.8) < 0.25 and largest <= target * math.sqrt(3) * 1.001:
            return label
    return None


def _bias_init(b: torch.Tensor, module: nn.Module) -> str | None:
    """Zero, or nn.Linear's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (bound + std within 30 %)."""
    b = b.detach().float()
    if bool((b == 0).all()):
        return "zero bias"
    fan_in = getattr(module, "in_features", None)
    if fan_in:
        bound = 1 / math.sqrt(fan_in)
        if float(b.abs().max()) <= bound * 1.001 and abs(float(b.std()) / (bound / math.sqrt(3)) - 1) < 0.3:
            return "pytorch default bias"
    return None


def weight_verdicts(model: nn.Module) -> list[TensorVerdict]:
    config = getattr(model, "config", None)
    verdicts, seen = [], set()
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            name = f"{mname}.{pname}" if mname else pname
            if _is_norm(module) and p.dim() == 1:
                target = 1.0 if pname == "weight" else 0.0
                exact = bool((p.detach() == target).all())
                verdicts.append(TensorVerdict(name, "norm at init (exactly 1/0)" if exact else None, float(p.detach().float().std())))
            elif p.dim() == 2 and p.numel() >= MIN_NUMEL:
                fan_out, fan_in = p.shape  # Linear (out, in); Embedding (num, dim) uses std only
                verdicts.append(TensorVerdict(name, classify_tensor(p, fan_in, fan_out, config), float(p.detach().float().std())))
            elif pname == "bias" and p.dim() == 1 and p.numel() >= 16:
                verdicts.append(TensorVerdict(name, _bias_init(p, module), float(p.detach().float().std())))
    return verdicts


def looks_random(model: nn.Module, threshold: float = 0.8) -> tuple[bool, float, list[TensorVerdict]]:
    """(looks randomly initialised, fraction of examined tensors at an init, the verdicts)."""
    verdicts = weight_verdicts(model)
    if not verdicts:
        return False, 0.0, verdicts
    frac = sum(v.matches is not None for v in verdicts) / len(verdicts)
    return frac >= threshold, frac, verdicts


def infer_pretrained(model: nn.Module, use_statistics: bool = False) -> bool | None:
    """True when the model says it was loaded from a checkpoint (HF ``name_or_path``, our loader)."""
    for attr in ("pretrained_from", "_pretrained_from", "source_path", "checkpoint_path"):
        if getattr(model, attr, None):
            return True
    config = getattr(model, "config", None)
    name = getattr(config, "name_or_path", None) or getattr(config, "_name_or_path", None)
    if name:
        return True
    if use_statistics:  # only clear cases: < 30 % of tensors at init = trained, >= 80 % = fresh
        _, frac, verdicts = looks_random(model)
        if verdicts and frac < 0.3:
            return True
        if verdicts and frac >= 0.8:
            return False
    return None


def _load_reference(reference) -> dict:
    if isinstance(reference, dict):
        return reference
    from pathlib import Path

    from safetensors.torch import load_file

    path = Path(reference)
    return load_file(str(path / "model.safetensors" if path.is_dir() else path))


def compare_with_reference(model: nn.Module, reference) -> Finding:
    """Tensor-by-tensor comparison with a checkpoint (a state dict, a .safetensors file or a folder).

    Names are matched after dropping the prefix one side has and the other lacks ("bert.", "model.").
    """
    ref = _load_reference(reference)
    ours = model.state_dict()

    def strip(name: str) -> str:
        return name.split(".", 1)[1] if "." in name else name

    ref_by_name = dict(ref)
    ref_by_name.update({strip(k): v for k, v in ref.items() if strip(k) not in ref_by_name})
    pairs = [(k, v, ref_by_name.get(k, ref_by_name.get(strip(k)))) for k, v in ours.items()]
    pairs = [(k, v, r) for k, v, r in pairs if r is not None and r.shape == v.shape]
    if len(pairs) < 0.5 * len(ours):
        return Finding("pretrained", "skip", f"only {len(pairs)}/{len(ours)} tensors have a same-named, same-shaped "
                       "counterpart in the reference; names differ too much to compare")
    differ = [(k, float((v.detach().float().cpu() - r.float()).abs().max())) for k, v, r in pairs]
    differ = [(k, d) for k, d in differ if d > 1e-6]
    evidence = f"{len(pairs) - len(differ)}/{len(pairs)} tensors equal the reference checkpoint"
    if len(differ) > 0.5 * len(pairs):
        k, d = differ[0]
        return Finding("pretrained", "fail", evidence + f" (e.g. {k} differs by up to {d:.3g})",
                       cause="the model does not hold the checkpoint's weights (not loaded, or loaded into another model)",
                       fix="missing, unexpected = model.load_state_dict(state, strict=False); print(missing, unexpected)",
                       module=k.rsplit(".", 1)[0])
    if differ:
        return Finding("pretrained", "warn", evidence + f"; differ: {', '.join(k for k, _ in differ[:4])}",
                       fix="expected for a new head or fine-tuned layers; otherwise check the key names")
    return Finding("pretrained", "ok", evidence)


def check_pretrained(model: nn.Module, pretrained: bool | None, reference=None) -> Finding:
    if reference is not None:
        return compare_with_reference(model, reference)
    if pretrained is None:
        pretrained = infer_pretrained(model)
    random_like, frac, verdicts = looks_random(model)
    at_init = [v for v in verdicts if v.matches is not None]
    examples = ", ".join(f"{v.name} ~ {v.matches}" for v in at_init[:3])
    evidence = f"{len(at_init)}/{len(verdicts)} weight tensors ({frac:.0%}) match a known initialisation"
    if examples:
        evidence += f" (e.g. {examples})"
    if not pretrained:
        return Finding("pretrained", "skip",
                       evidence + ("; the weights look randomly initialised" if random_like else "")
                       + " (pass pretrained=True to check a loaded checkpoint)")
    if random_like:
        return Finding("pretrained", "fail", evidence + ": the model looks randomly initialised",
                       cause="the checkpoint was not loaded: a wrong path, the weights loaded into another "
                             "instance, or load_state_dict(strict=False) silently skipping mismatched keys",
                       fix="missing, unexpected = model.load_state_dict(state, strict=False); print(missing, unexpected)"
                           "  # or use sf.from_pretrained(path)",
                       module=at_init[0].name.rsplit(".", 1)[0] if at_init else None)
    if frac > 0.3:
        return Finding("pretrained", "warn", evidence + ": part of the model looks freshly initialised",
                       cause="some keys of the checkpoint did not match (a new head is expected, whole layers are not)",
                       fix="compare model.state_dict().keys() with the checkpoint's keys")
    return Finding("pretrained", "ok", evidence + ": the weights look trained")
