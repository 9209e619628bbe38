"""BERT (and MiniLM): Hugging Face ``BertModel`` / ``BertForMaskedLM`` / ``BertForSequenceClassification``
<-> ours.

The body is named ``bert.*`` inside the task models and has no prefix in ``BertModel``, on both
sides. Old TensorFlow-converted checkpoints call LayerNorm parameters ``gamma``/``beta`` and
store a ``position_ids`` buffer; both are handled. The MLM decoder is tied to the word embeddings.
Heads the target model lacks (the NSP head of ``BertForPreTraining``, the pooler when loading an
MLM) are dropped, as ``transformers`` does.
"""

from __future__ import annotations

import warnings

import torch

from scratchformers.checkpoints.naming import drop, fix_legacy_norm_names, invert, rename, strip_prefix
from scratchformers.errors import ConfigError

MODEL_TYPE = "bert"
GGUF_ARCHITECTURES: tuple[str, ...] = ()  # BERT GGUF files are not read
# HF ``architectures`` entries -> the name of the class we build for them (in models.bert)
ARCHITECTURES = {
    "BertModel": "BertModel",
    "BertForMaskedLM": "BertForMaskedLM",
    "BertForPreTraining": "BertForMaskedLM",  # MLM + NSP heads; we keep the MLM one
    "BertForSequenceClassification": "BertForSequenceClassification",
}
HEAD_PREFIXES = ("mlm_", "classifier.", "pooler.", "bert.pooler.")  # our names of task-head tensors
ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}
ACTIVATIONS_TO_HF = {"gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh", "relu": "relu"}

BODY_NAMES = [  # HF name inside the body -> ours
    ("embeddings.word_embeddings.weight", "embeddings.token_embedding.weight"),
    ("embeddings.position_embeddings.weight", "embeddings.position_embedding.weight"),
    ("embeddings.token_type_embeddings.weight", "embeddings.token_type_embedding.weight"),
    ("embeddings.LayerNorm.{p}", "embeddings.norm.{p}"),
    ("encoder.layer.{i}.attention.self.query.{p}", "blocks.{i}.self_attn.q_proj.{p}"),
    ("encoder.layer.{i}.attention.self.key.{p}", "blocks.{i}.self_attn.k_proj.{p}"),
    ("encoder.layer.{i}.attention.self.value.{p}", "blocks.{i}.self_attn.v_proj.{p}"),
    ("encoder.layer.{i}.attention.output.dense.{p}", "blocks.{i}.self_attn.out_proj.{p}"),
    ("encoder.layer.{i}.attention.output.LayerNorm.{p}", "blocks.{i}.attn_norm.{p}"),  # Post-LN
    ("encoder.layer.{i}.intermediate.dense.{p}", "blocks.{i}.ffn.up_proj.{p}"),
    ("encoder.layer.{i}.output.dense.{p}", "blocks.{i}.ffn.down_proj.{p}"),
    ("encoder.layer.{i}.output.LayerNorm.{p}", "blocks.{i}.ffn_norm.{p}"),
    ("pooler.dense.{p}", "pooler.{p}"),
]
HEAD_NAMES = [
    ("cls.predictions.transform.dense.{p}", "mlm_transform.{p}"),
    ("cls.predictions.transform.LayerNorm.{p}", "mlm_norm.{p}"),
    ("cls.predictions.decoder.weight", "mlm_decoder.weight"),
    ("cls.predictions.bias", "mlm_decoder.bias"),
    ("classifier.{p}", "classifier.{p}"),
]
HEAD_KEYS = tuple(src.split("{")[0] for src, _ in HEAD_NAMES)  # HF key prefixes outside the body


def hf_architecture(model_class: type) -> str:
    return model_class.__name__  # our three classes carry the HF names


def config_from_hf(hf: dict, model_class: type):
    act = hf.get("hidden_act", "gelu")
    if act not in ACTIVATIONS:
        raise ConfigError(f"BERT hidden_act={act!r} is not supported; expected one of {sorted(ACTIVATIONS)}")
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise ConfigError(
            f"BERT position_embedding_type={hf['position_embedding_type']!r} is not supported (only 'absolute')"
        )
    labels = hf.get("id2label")
    return model_class.config_class(
        vocab_size=hf.get("vocab_size", 30522),
        max_positions=hf.get("max_position_embeddings", 512),
        num_layers=hf.get("num_hidden_layers", 12),
        num_heads=hf.get("num_attention_heads", 12),
        d_model=hf.get("hidden_size", 768),
        d_ff=hf.get("intermediate_size", 3072),
        type_vocab_size=hf.get("type_vocab_size", 2),
        dropout=hf.get("hidden_dropout_prob", 0.1),
        attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
        norm_eps=hf.get("layer_norm_eps", 1e-12),
        activation=ACTIVATIONS[act],
        pad_token_id=hf.get("pad_token_id") or 0,
        num_labels=len(labels) if labels else hf.get("num_labels", 2),
        pooling=hf.get("scratchformers_pooling", "cls"),
        classifier_dropout=hf.get("classifier_dropout"),
        init_std=hf.get("initializer_range", 0.02),
    )


def config_to_hf(config, model_class: type) -> dict:
    if config.activation not in ACTIVATIONS_TO_HF:
        raise ConfigError(f"BERT activation {config.activation!r} has no Hugging Face equivalent")
    hf = {
        "model_type": MODEL_TYPE,
        "vocab_size": config.vocab_size,
        "max_position_embeddings": config.max_positions,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "hidden_size": config.d_model,
        "intermediate_size": config.d_ff,
        "type_vocab_size": config.type_vocab_size,
        "hidden_dropout_prob": config.dropout,
        "attention_probs_dropout_prob": config.attention_dropout,
        "layer_norm_eps": config.norm_eps,
        "hidden_act": ACTIVATIONS_TO_HF[config.activation],
        "pad_token_id": config.pad_token_id,
        "classifier_dropout": config.classifier_dropout,
        "initializer_range": config.init_std,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": True,
    }
    if model_class.__name__ == "BertForSequenceClassification":
        hf["id2label"] = {str(i): f"LABEL_{i}" for i in range(config.num_labels)}
        hf["label2id"] = {f"LABEL_{i}": i for i in range(config.num_labels)}
        if config.pooling != "cls":
            hf["scratchformers_pooling"] = config.pooling  # read back by us; unknown to transformers
            warnings.warn(
                f"BertForSequenceClassification with pooling={config.pooling!r}: transformers' class "
                "always classifies the pooled [CLS] vector, so its logits will differ from ours.",
                stacklevel=3,
            )
    return hf


def state_from_hf(state: dict[str, torch.Tensor], config, model_class: type) -> dict[str, torch.Tensor]:
    state = fix_legacy_norm_names(state)
    state = drop(state, "embeddings.position_ids", "bert.embeddings.position_ids", "cls.seq_relationship.{p}")
    if "cls.predictions.bias" in state:
        state.pop("cls.predictions.decoder.bias", None)  # the same vector, stored twice
    state = {("cls.predictions.bias" if k == "cls.predictions.decoder.bias" else k): v for k, v in state.items()}
    body = rename(strip_prefix(state, "bert."), BODY_NAMES + HEAD_NAMES)
    if model_class.__name__ == "BertModel":
        return body
    heads = {dst.split("{")[0] for _, dst in HEAD_NAMES}
    return {(k if k.startswith(tuple(heads)) else "bert." + k): v for k, v in body.items()}


def state_to_hf(state: dict[str, torch.Tensor], config, model_class: type) -> dict[str, torch.Tensor]:
    state = dict(state)
    state.pop("mlm_decoder.weight", None)  # tied to the word embeddings; transformers re-ties it
    hf = rename(strip_prefix(state, "bert."), invert(BODY_NAMES + HEAD_NAMES))
    if model_class.__name__ == "BertModel":
        return hf
    return {(k if k.startswith(HEAD_KEYS) else "bert." + k): v for k, v in hf.items()}
