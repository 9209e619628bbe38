"""BERT (and MiniLM): the models (:mod:`.model`) and their Hugging Face name conversion (:mod:`.convert`)."""

from scratchformers.models.bert.model import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    mean_pool,
)

__all__ = ["BertConfig", "BertForMaskedLM", "BertForSequenceClassification", "BertModel", "mean_pool"]
