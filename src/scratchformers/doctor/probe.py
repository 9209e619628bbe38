"""Treat any model as a black box: run it, find its output tensor, read what its config says.

Works for scratchformers models, Hugging Face models and a user's own ``nn.Module``: the output may
be a tensor, a tuple, a dict or an object with ``.logits`` / ``.last_hidden_state``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re

import torch
from torch import nn

_CAUSAL_MODEL_TYPES = {
    "gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "mixtral", "qwen2", "qwen3", "phi", "phi3",
    "gemma", "gemma2", "opt", "bloom", "falcon", "codegen", "smollm", "olmo", "starcoder2",
}
_SKIP_FIELDS = {"attentions", "hidden_states", "past_key_values", "cache", "cross_attentions", "loss"}


def output_tensors(out) -> list[tuple[str, torch.Tensor]]:
    """The floating-point tensors a model returned, with a name each (attentions/caches left out)."""
    if isinstance(out, torch.Tensor):
        return [("output", out)] if out.is_floating_point() else []
    if isinstance(out, (tuple, list)):
        return [(f"output[{i}]", t) for i, t in enumerate(out) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if isinstance(out, dict):
        items = out.items()
    elif dataclasses.is_dataclass(out):
        items = ((f.name, getattr(out, f.name)) for f in dataclasses.fields(out))
    else:
        items = ((k, v) for k, v in vars(out).items()) if hasattr(out, "__dict__") else ()
    return [
        (k, v) for k, v in items
        if k not in _SKIP_FIELDS and isinstance(v, torch.Tensor) and v.is_floating_point()
    ]


def find_main_output(out) -> torch.Tensor | None:
    """``.logits`` if present, else ``.last_hidden_state``, else the first floating tensor, else None."""
    for key in ("logits", "last_hidden_state"):
        value = out.get(key) if isinstance(out, dict) else getattr(out, key, None)
        if isinstance(value, torch.Tensor):
            return value
    tensors = output_tensors(out)
    return tensors[0][1] if tensors else None


def no_output_message(out) -> str:
    return f"the model returned {type(out).__name__} without a floating-point tensor in it"


def main_output(out) -> torch.Tensor:
    """:func:`find_main_output`; a TypeError when the model returned no floating-point tensor."""
    found = find_main_output(out)
    if found is None:
        raise TypeError(no_output_message(out))
    return found


def run(model: nn.Module, input_ids: torch.Tensor, forward_kwargs: dict | None = None):
    return model(input_ids, **(forward_kwargs or {}))


def config_of(model: nn.Module):
    return getattr(model, "config", None)


def _config_get(config, *names):
    for name in names:
        value = config.get(name) if isinstance(config, dict) else getattr(config, name, None)
        if value is not None:
            return value
    return None


def infer_causal(model: nn.Module) -> bool | None:
    """True for decoders, False for encoders, None when the model does not say."""
    config = config_of(model)
    cls = type(model).__name__
    if config is not None:
        cfg_cls = type(config).__name__
        if cfg_cls in ("GPTConfig", "LlamaConfig"):
            return True
        if cfg_cls in ("BertConfig", "EncoderConfig", "TransformerEncoderConfig"):
            return False
        model_type = _config_get(config, "model_type")
        if model_type in _CAUSAL_MODEL_TYPES:
            return True
        if model_type in ("bert", "roberta", "distilbert", "albert", "electra", "deberta", "deberta-v2", "xlm-roberta"):
            return bool(_config_get(config, "is_decoder"))
        causal_flag = _config_get(config, "causal", "is_causal")
        if isinstance(causal_flag, bool):
            return causal_flag
    if "CausalLM" in cls or "LMHead" in cls or cls in ("GPT", "GPT2Model", "LlamaModel"):
        return True
    return None


_NOT_TOKENS = re.compile(r"(pos|position|wpe|type|segment|seg)", re.IGNORECASE)


def infer_vocab_size(model: nn.Module) -> int | None:
    """``config.vocab_size``, else the largest embedding table that is not a position or segment table
    (a 64-row position table must not pass for the vocabulary of a 16-token model)."""
    config = config_of(model)
    if config is not None and _config_get(config, "vocab_size"):
        return int(_config_get(config, "vocab_size"))
    embeddings = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Embedding)]
    tokens = [m for n, m in embeddings if not _NOT_TOKENS.search(n.split(".")[-1])]
    chosen = tokens or [m for _, m in embeddings]
    return max(e.num_embeddings for e in chosen) if chosen else None


_POS_NAME = re.compile(r"(pos|position|wpe)", re.IGNORECASE)


def infer_max_positions(model: nn.Module) -> int | None:
    """The longest input the model's position table allows (None for RoPE/none/unknown)."""
    value = getattr(model, "max_positions", None)
    if isinstance(value, int):
        return value
    config = config_of(model)
    if config is not None:
        value = _config_get(config, "max_positions", "n_positions", "max_position_embeddings")
        if value and _config_get(config, "model_type") not in ("llama", "mistral", "qwen2", "qwen3", "gemma"):
            return int(value)
    for name, module in model.named_modules():
        if isinstance(module, nn.Embedding) and _POS_NAME.search(name.split(".")[-1]):
            return module.num_embeddings
        for bname, buf in module.named_buffers(recurse=False):
            if _POS_NAME.search(bname) or bname == "pe":
                # (max_len, d), (1, max_len, d) and the sequence-first (max_len, 1, d) all hold max_len rows
                return int(max(buf.shape[:-1])) if buf.dim() >= 2 else None
    return None


def model_dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    p = next(iter(model.parameters()), None)
    return (p.dtype, p.device) if p is not None else (torch.float32, torch.device("cpu"))


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Run checks in eval mode and put the model back the way the user left it."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes.items():
            m.train(training)


def seq_first_axis(t: torch.Tensor, batch: int, seq_len: int) -> int | None:
    """Which axis of a module's tensor is the sequence axis: 1 for (B, T, ...), 0 for (T, B, ...)."""
    if t.dim() >= 2 and t.shape[0] == batch and t.shape[1] == seq_len:
        return 1
    if t.dim() >= 2 and t.shape[0] == seq_len and t.shape[1] == batch:
        return 0
    return None


def first_tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)):
        return next((t for t in x if isinstance(t, torch.Tensor)), None)
    try:
        return main_output(x)
    except TypeError:
        return None


@contextlib.contextmanager
def capture_io(model: nn.Module):
    """Record (name, first input tensor, first output tensor) of every submodule, in the order
    the calls *finish* (inner modules before the modules that contain them)."""
    records: list[tuple[str, torch.Tensor | None, torch.Tensor | None]] = []
    hooks = []

    def make_hook(name):
        def hook(module, args, kwargs, out):
            inp = first_tensor(args) if args else first_tensor(list(kwargs.values()))
            records.append((name, _detach(inp), _detach(first_tensor(out))))

        return hook

    for name, module in model.named_modules():
        if name:
            hooks.append(module.register_forward_hook(make_hook(name), with_kwargs=True))
    try:
        yield records
    finally:
        for h in hooks:
            h.remove()


def _detach(t):
    """A copy: a module's output buffer may be reused or changed in place later in the forward."""
    return t.detach().clone() if isinstance(t, torch.Tensor) else None


def default_input_ids(model: nn.Module, batch: int = 2, length: int = 12, seed: int = 0) -> torch.Tensor:
    vocab = infer_vocab_size(model) or 100
    max_pos = infer_max_positions(model)
    length = min(length, max_pos) if max_pos else length
    gen = torch.Generator().manual_seed(seed)
    # avoid the first ids: they are often special tokens ([PAD]=0, [UNK]=100 in BERT)
    low = min(1000, vocab // 2)
    return torch.randint(low, vocab, (batch, length), generator=gen)
