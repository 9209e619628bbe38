"""Plant one bug at a time into the corpus by editing the implementation's SOURCE TEXT, exec the
edited text into a fresh module, build the model and run the doctor on it.

A mutant is (bug class, style, build options, [(old, new), ...], accepted finding ids). Every
``old`` must occur in the source (checked), so a mutant cannot silently be the correct model.
"""

from __future__ import annotations

import pathlib
import types
from dataclasses import dataclass, field

import torch

HERE = pathlib.Path(__file__).parent
STYLES = ("gpt_fused", "gpt_heads", "annotated", "bert_style", "seq_first", "llama_style", "classifier", "head_list",
          "einsum_style", "bmm_heads")

CLASSES = {
    "softmax_axis": "softmax over the query axis",
    "mask_off_by_one": "causal mask off by one",
    "mask_value": "mask applied after softmax, or filled with 0 instead of -inf",
    "scaling": "missing / wrong 1/sqrt(d_k)",
    "k_at_q": "scores as K @ Q^T",
    "position": "positional encoding dropped or added after the blocks",
    "head_merge": "heads merged without the transpose",
    "residual": "residual connection missing",
    "layernorm": "LayerNorm missing or normalising the wrong axis",
    "padding": "padding mask ignored / built with the wrong shape",
}


def source(style: str) -> str:
    return (HERE / f"{style}.py").read_text()


def load(style: str, edits=()) -> types.ModuleType:
    """The style's module, built from its source with the edits applied."""
    text = source(style)
    for old, new in edits:
        if old not in text:
            raise AssertionError(f"mutant edit not found in {style}.py: {old!r}")
        text = text.replace(old, new)
    module = types.ModuleType(f"wild_{style}")
    module.__file__ = str(HERE / f"{style}.py")
    exec(compile(text, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own corpus text
    return module


@dataclass
class Mutant:
    bug: str
    style: str
    edits: list
    expect: set
    options: dict = field(default_factory=dict)


def _m(bug, style, edits, expect, **options):
    return Mutant(bug, style, edits if isinstance(edits, list) else [edits], set(expect), options)


SOFT = {"attention.softmax_axis"}
LEAK = {"causal_leak"}
FILL = {"attention.mask_value"}
AFTER = {"attention.mask_after_softmax"}
SCALE = {"attention.scaling"}
KQ = {"attention.score_shape"}
POS = {"position_signal"}
MERGE = {"attention.head_merge"}
RES = {"residual"}
LN = {"norm.missing"}
AXIS = {"norm.axis"}
PAD = {"padding_mask"}
MANUAL, FLASH = {"flash": False}, {"flash": True}

MUTANTS = [
    # GPT, fused c_attn
    _m("softmax_axis", "gpt_fused", ("probs = F.softmax(scores, dim=-1)", "probs = F.softmax(scores, dim=-2)"), SOFT, **MANUAL),
    _m("mask_off_by_one", "gpt_fused", ("torch.tril(torch.ones(block_size, block_size))",
                                        "torch.tril(torch.ones(block_size, block_size), diagonal=1)"), LEAK, **MANUAL),
    _m("mask_value", "gpt_fused", ('self.bias[:, :, :T, :T] == 0, float("-inf"))', "self.bias[:, :, :T, :T] == 0, 0.0)"),
       FILL, **MANUAL),
    _m("mask_value", "gpt_fused", ('scores = scores.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))\n'
                                   "            probs = F.softmax(scores, dim=-1)",
                                   "probs = F.softmax(scores, dim=-1)\n"
                                   "            probs = probs.masked_fill(self.bias[:, :, :T, :T] == 0, 0.0)"), AFTER, **MANUAL),
    _m("scaling", "gpt_fused", ("(q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))", "(q @ k.transpose(-2, -1))"),
       SCALE, **MANUAL),
    _m("scaling", "gpt_fused", ("is_causal=True)", "is_causal=True, scale=1.0)"), SCALE, **FLASH),
    _m("k_at_q", "gpt_fused", ("scores = (q @ k.transpose(-2, -1))", "scores = (k @ q.transpose(-2, -1))"), KQ, **MANUAL),
    _m("position", "gpt_fused", ("self.transformer.wte(idx) + self.transformer.wpe(positions)", "self.transformer.wte(idx)"),
       POS, **FLASH),
    _m("position", "gpt_fused", [("x = self.transformer.wte(idx) + self.transformer.wpe(positions)",
                                  "x = self.transformer.wte(idx)"),
                                 ("x = self.transformer.ln_f(x)", "x = self.transformer.ln_f(x + self.transformer.wpe(positions))")],
       POS, **MANUAL),
    _m("head_merge", "gpt_fused", ("out.transpose(1, 2).contiguous().view(B, T, C)", "out.contiguous().view(B, T, C)"),
       MERGE, **MANUAL),
    _m("head_merge", "gpt_fused", ("out.transpose(1, 2).contiguous().view(B, T, C)", "out.contiguous().view(B, T, C)"),
       MERGE, **FLASH),
    _m("residual", "gpt_fused", ("x = x + self.attn(self.ln_1(x))", "x = self.attn(self.ln_1(x))"), RES, **FLASH),
    _m("layernorm", "gpt_fused", ("self.attn(self.ln_1(x))", "self.attn(x)"), LN, **MANUAL),
    _m("layernorm", "gpt_fused", ("self.attn(self.ln_1(x))", "self.attn(F.layer_norm(x.transpose(1, 2), (x.size(1),)).transpose(1, 2))"),
       AXIS, **FLASH),
    # GPT, separate key/query/value and a `bias` buffer
    _m("softmax_axis", "gpt_heads", ("att = F.softmax(att, dim=-1)", "att = F.softmax(att, dim=-2)"), SOFT),
    _m("mask_off_by_one", "gpt_heads", ("torch.tril(torch.ones(context, context))",
                                        "torch.tril(torch.ones(context, context), diagonal=1)"), LEAK),
    _m("mask_value", "gpt_heads", ('self.bias[:T, :T] == 0, float("-inf"))', "self.bias[:T, :T] == 0, 0.0)"), FILL),
    _m("scaling", "gpt_heads", (" * hs ** -0.5", ""), SCALE),
    _m("scaling", "gpt_heads", ("hs ** -0.5", "C ** -0.5"), SCALE),
    _m("k_at_q", "gpt_heads", ("att = q @ k.transpose(-2, -1)", "att = k @ q.transpose(-2, -1)"), KQ),
    _m("position", "gpt_heads", ("x = tok + pos\n", "x = tok\n"), POS),
    _m("position", "gpt_heads", ("x = tok + pos\n        x = self.blocks(x)", "x = self.blocks(tok) + pos"), POS),
    _m("head_merge", "gpt_heads", ("out.permute(0, 2, 1, 3).reshape(B, T, C)", "out.reshape(B, T, C)"), MERGE),
    _m("residual", "gpt_heads", ("x = x + self.mlp(self.norm_b(x))", "x = self.mlp(self.norm_b(x))"), RES),
    _m("layernorm", "gpt_heads", ("self.mlp(self.norm_b(x))", "self.mlp(x)"), LN),
    # Annotated-Transformer-style encoder-decoder
    _m("softmax_axis", "annotated", ("weights = scores.softmax(dim=-1)", "weights = scores.softmax(dim=-2)"), SOFT),
    _m("mask_off_by_one", "annotated", ("torch.ones(1, size, size), diagonal=1)", "torch.ones(1, size, size), diagonal=2)"), LEAK),
    _m("mask_value", "annotated", ("scores.masked_fill(mask == 0, -1e9)", "scores.masked_fill(mask == 0, 0)"), FILL),
    _m("mask_value", "annotated", ("        scores = scores.masked_fill(mask == 0, -1e9)\n    weights = scores.softmax(dim=-1)\n",
                                   "        scores = scores * 1.0\n    weights = scores.softmax(dim=-1)\n"
                                   "    if mask is not None:\n        weights = weights.masked_fill(mask == 0, 0)\n"), AFTER),
    _m("scaling", "annotated", (" / math.sqrt(q.size(-1))", ""), SCALE),
    _m("scaling", "annotated", (" / math.sqrt(q.size(-1))", " / q.size(-1)"), SCALE),
    _m("k_at_q", "annotated", ("q.matmul(k.transpose(-2, -1))", "k.matmul(q.transpose(-2, -1))"), KQ),
    _m("position", "annotated", [("Embeddings(d_model, src_vocab), PositionalEncoding(d_model))", "Embeddings(d_model, src_vocab))"),
                                 ("Embeddings(d_model, tgt_vocab), PositionalEncoding(d_model))", "Embeddings(d_model, tgt_vocab))")],
       POS),
    _m("head_merge", "annotated", ("x.transpose(1, 2).contiguous().view(n, -1", "x.contiguous().view(n, -1"), MERGE),
    _m("residual", "annotated", ("return x + sublayer(self.norm(x))", "return sublayer(self.norm(x))"), RES),
    _m("layernorm", "annotated", ("return x + sublayer(self.norm(x))", "return x + sublayer(x)"), LN),
    _m("layernorm", "annotated", ("mu = x.mean(-1, keepdim=True)\n        sigma = x.std(-1, keepdim=True)",
                                  "mu = x.mean(1, keepdim=True)\n        sigma = x.std(1, keepdim=True)"), AXIS),
    # BERT-style encoder
    _m("softmax_axis", "bert_style", ("nn.functional.softmax(scores, dim=-1)", "nn.functional.softmax(scores, dim=-2)"), SOFT),
    _m("mask_value", "bert_style", ("scores.masked_fill(~keep, -1e9)", "scores.masked_fill(~keep, 0.0)"), FILL),
    _m("mask_value", "bert_style", ("scores = scores.masked_fill(~keep, -1e9)\n        probs = nn.functional.softmax(scores, dim=-1)",
                                    "probs = nn.functional.softmax(scores, dim=-1)\n        probs = probs * keep"), AFTER),
    _m("scaling", "bert_style", ("scores = scores / math.sqrt(self.head_dim)", "scores = scores"), SCALE),
    _m("k_at_q", "bert_style", ("torch.matmul(q, k.transpose(-1, -2))", "torch.matmul(k, q.transpose(-1, -2))"), KQ),
    _m("position", "bert_style", ("x = self.word_embeddings(input_ids) + self.position_embeddings(positions)",
                                  "x = self.word_embeddings(input_ids)"), POS),
    _m("position", "bert_style", [("x = self.word_embeddings(input_ids) + self.position_embeddings(positions)",
                                   "x = self.word_embeddings(input_ids)"),
                                  ("pooled = torch.tanh(", "x = x + self.position_embeddings(positions)\n        pooled = torch.tanh(")],
       POS),
    _m("head_merge", "bert_style", ("context.transpose(1, 2).reshape(b, t, h * d)", "context.reshape(b, t, h * d)"), MERGE),
    _m("residual", "bert_style", ("x = self.attn_norm(x + attended)", "x = self.attn_norm(attended)"), RES),
    _m("layernorm", "bert_style", ("x = self.attn_norm(x + attended)", "x = x + attended"), LN),
    _m("padding", "bert_style", ("scores = scores.masked_fill(~keep, -1e9)", "scores = scores"), PAD),
    _m("padding", "bert_style", ("attention_mask[:, None, None, :]", "attention_mask[:, None, :, None]"), PAD),
    # sequence-first nn.TransformerEncoder LM
    _m("mask_off_by_one", "seq_first", ('float("-inf")), diagonal=1)', 'float("-inf")), diagonal=2)'), LEAK),
    _m("mask_value", "seq_first", ('float("-inf")), diagonal=1)', "0.0), diagonal=1)"), LEAK),
    _m("position", "seq_first", ("h = self.positions(h)", "h = h"), POS),
    _m("position", "seq_first", [("h = self.positions(h)", "h = h"),
                                 ("h = self.encoder(h, src_mask)", "h = self.positions(self.encoder(h, src_mask))")], POS),
    # Llama-style decoder (RoPE, grouped KV heads)
    _m("softmax_axis", "llama_style", ("F.softmax(scores.float(), dim=-1)", "F.softmax(scores.float(), dim=-2)"), SOFT),
    _m("mask_off_by_one", "llama_style", ('float("-inf")), diagonal=1)', 'float("-inf")), diagonal=2)'), LEAK),
    _m("mask_value", "llama_style", ("scores = scores + causal\n            scores = F.softmax(scores.float(), dim=-1).type_as(xq)",
                                     "scores = F.softmax(scores.float(), dim=-1).type_as(xq)\n"
                                     "            scores = scores * (causal == 0)"), AFTER),
    _m("scaling", "llama_style", (" / math.sqrt(self.head_dim)", ""), SCALE),
    _m("scaling", "llama_style", ("is_causal=True, enable_gqa=True)", "is_causal=True, enable_gqa=True, scale=1.0)"), SCALE,
       use_sdpa=True),
    _m("k_at_q", "llama_style", ("torch.matmul(xq, xk.transpose(2, 3))", "torch.matmul(xk, xq.transpose(2, 3))"), KQ),
    _m("position", "llama_style", ("xq, xk = apply_rope(xq, cos, sin), apply_rope(xk, cos, sin)", "xq, xk = xq, xk"), POS),
    _m("head_merge", "llama_style", ("out.transpose(1, 2).contiguous().view(bsz, seqlen, -1)", "out.contiguous().view(bsz, seqlen, -1)"),
       MERGE),
    _m("head_merge", "llama_style", ("out.transpose(1, 2).contiguous().view(bsz, seqlen, -1)", "out.contiguous().view(bsz, seqlen, -1)"),
       MERGE, use_sdpa=True),
    _m("residual", "llama_style", ("h = x + self.attention(", "h = self.attention("), RES),
    _m("layernorm", "llama_style", ("self.attention(self.attention_norm(x), cos, sin)", "self.attention(x, cos, sin)"), LN),
    _m("layernorm", "llama_style", ("x.pow(2).mean(-1, keepdim=True)", "x.pow(2).mean(1, keepdim=True)"), AXIS),
    # nn.TransformerEncoder classifier with a key-padding mask
    _m("padding", "classifier", ("x = self.encoder(x, src_key_padding_mask=padding_mask)", "x = self.encoder(x)"), PAD),
    _m("padding", "classifier", ("pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)", "pooled = x.mean(1)"), PAD),
    _m("position", "classifier", ("x = self.embed(ids) + self.pos(torch.arange(ids.size(1), device=ids.device))",
                                  "x = self.embed(ids)"), POS),
    # single-head modules concatenated (keys computed before queries)
    _m("softmax_axis", "head_list", ("F.softmax(att, dim=-1)", "F.softmax(att, dim=1)"), SOFT),
    _m("mask_off_by_one", "head_list", ("torch.tril(torch.ones(block_size, block_size))",
                                        "torch.tril(torch.ones(block_size, block_size), diagonal=1)"), LEAK),
    _m("mask_value", "head_list", ('self.tril[:T, :T] == 0, float("-inf"))', "self.tril[:T, :T] == 0, 0)"), FILL),
    _m("scaling", "head_list", (" * k.shape[-1] ** -0.5", ""), SCALE),
    _m("k_at_q", "head_list", ("att = q @ k.transpose(-2, -1)", "att = k @ q.transpose(-2, -1)"), KQ),
    _m("position", "head_list", ("x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))", "x = self.tok(idx)"),
       POS),
    _m("residual", "head_list", ("x = x + self.mix(self.ln1(x))", "x = self.mix(self.ln1(x))"), RES),
    _m("layernorm", "head_list", ("self.mix(self.ln1(x))", "self.mix(x)"), LN),
    # einsum attention, torch.where mask
    _m("softmax_axis", "einsum_style", ("attn = sim.softmax(dim=-1)", "attn = sim.softmax(dim=-2)"), SOFT),
    _m("mask_off_by_one", "einsum_style", ("device=x.device).tril()", "device=x.device).tril(1)"), LEAK),
    _m("mask_value", "einsum_style", ("torch.where(allowed, sim, torch.finfo(sim.dtype).min)", "torch.where(allowed, sim, 0.0)"),
       FILL),
    _m("scaling", "einsum_style", ("self.dim_head ** -0.5", "self.dim_head ** -1.0"), SCALE),
    _m("k_at_q", "einsum_style", ('torch.einsum("bhid,bhjd->bhij", q, k)', 'torch.einsum("bhid,bhjd->bhij", k, q)'), KQ),
    _m("position", "einsum_style", [("        x = x + self.pos_emb[:n]\n", ""),
                                    ("return self.to_logits(self.norm(x))", "return self.to_logits(self.norm(x + self.pos_emb[:n]))")],
       POS),
    _m("k_at_q", "einsum_style", ('torch.einsum("bhid,bhjd->bhij", q, k)', 'torch.einsum("bhjd,bhid->bhij", q, k)'), KQ),
    _m("head_merge", "einsum_style", ("out.permute(0, 2, 1, 3).reshape(b, n, -1)", "out.reshape(b, n, -1)"), MERGE),
    _m("residual", "einsum_style", ("return self.ff(self.norm2(x)) + x", "return self.ff(self.norm2(x))"), RES),
    # heads folded into the batch (3-d bmm), valid lengths, post-norm
    _m("softmax_axis", "bmm_heads", ("torch.softmax(flat.reshape(scores.shape), dim=-1)",
                                     "torch.softmax(flat.reshape(scores.shape), dim=-2)"), SOFT),
    _m("scaling", "bmm_heads", (" / math.sqrt(q.shape[-1])", ""), SCALE),
    _m("mask_value", "bmm_heads", ("flat[outside] = -1e6", "flat[outside] = 0"), FILL),
    _m("k_at_q", "bmm_heads", ("torch.bmm(q, k.transpose(1, 2))", "torch.bmm(k, q.transpose(1, 2))"), KQ),
    _m("position", "bmm_heads", (" + self.table[:, : tokens.shape[1]]", ""), POS),
    _m("head_merge", "bmm_heads", ("    x = x.permute(0, 2, 1, 3)\n    return x.reshape(bh // heads, t, heads * d)",
                                   "    return x.reshape(bh // heads, t, heads * d)"), MERGE),
    _m("residual", "bmm_heads", ("return self.norm(x + update)", "return self.norm(update)"), RES),
    _m("layernorm", "bmm_heads", ("return self.norm(x + update)", "return x + update"), LN),
    _m("padding", "bmm_heads", ("weights = softmax_within_lengths(scores, folded_lengths)",
                                "weights = softmax_within_lengths(scores, None)"), PAD),
]


def check(module, model, seed=0, example_options=None):
    """Run the doctor the way a user would on this corpus model."""
    from scratchformers.doctor import check_model

    ex = module.example(model, seed, **(example_options or {}))
    kwargs = {"causal": module.CAUSAL, "forward_kwargs": ex["forward_kwargs"], "pretrained": False}
    if ex.get("input_arg"):
        kwargs["input_arg"] = ex["input_arg"]
    return check_model(model, ex["input_ids"], **kwargs)


def run_mutant(mutant: Mutant):
    module = load(mutant.style, mutant.edits)
    model = module.build(0, **mutant.options)
    return check(module, model, 0)


# ----- correct models: the corpus styles at several seeds/sizes, and Hugging Face models ----------------
CORRECT = [
    ("gpt_fused", {"flash": False}, 0, {}), ("gpt_fused", {"flash": True}, 1, {}),
    ("gpt_fused", {"flash": False, "n_layer": 3}, 2, {}),
    ("gpt_heads", {}, 0, {}), ("gpt_heads", {"n_layers": 3}, 1, {"with_targets": True}),
    ("annotated", {}, 0, {}), ("annotated", {"n": 1}, 1, {}),
    ("bert_style", {}, 0, {}), ("bert_style", {"layers": 3}, 1, {}),
    ("seq_first", {}, 0, {}), ("seq_first", {"nlayers": 3}, 1, {}),
    ("llama_style", {}, 0, {}), ("llama_style", {"use_sdpa": True}, 1, {}),
    ("classifier", {}, 0, {}), ("classifier", {"layers": 1}, 1, {}),
    ("head_list", {}, 0, {}), ("head_list", {"n_layer": 3}, 1, {}),
    ("einsum_style", {}, 0, {}), ("einsum_style", {"depth": 3}, 1, {}),
    ("bmm_heads", {}, 0, {}), ("bmm_heads", {"depth": 3}, 1, {}),
]
HF = [("gpt2", 0, "eager"), ("gpt2", 1, "sdpa"), ("bert", 0, "eager"), ("bert", 1, "sdpa"), ("llama", 0, "eager"),
      ("llama", 1, "sdpa")]


def build_hf(kind: str, seed: int, attn: str):
    import transformers

    torch.manual_seed(seed)
    common = {"vocab_size": 64, "attn_implementation": attn}
    if kind == "gpt2":
        config = transformers.GPT2Config(n_layer=2, n_head=4, n_embd=32, n_positions=32, **common)
        return transformers.GPT2LMHeadModel(config).eval(), True, {}
    if kind == "bert":
        config = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=64, max_position_embeddings=32, **common)
        ids = torch.randint(5, 64, (2, 12), generator=torch.Generator().manual_seed(seed))
        return transformers.BertModel(config).eval(), False, {
            "token_type_ids": (torch.arange(12) >= 6).long().expand(2, 12).contiguous(),
            "attention_mask": torch.ones_like(ids)}
    config = transformers.LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                      intermediate_size=64, max_position_embeddings=64, **common)
    return transformers.LlamaForCausalLM(config).eval(), True, {}


def hf_ids(seed: int) -> torch.Tensor:
    return torch.randint(5, 64, (2, 12), generator=torch.Generator().manual_seed(seed))
