"""Llama family (Llama, SmolLM, TinyLlama): the model (:mod:`.model`) and its Hugging Face / GGUF
name conversion (:mod:`.convert`)."""

from scratchformers.models.llama.model import LlamaConfig, LlamaForCausalLM, LlamaModel

__all__ = ["LlamaConfig", "LlamaForCausalLM", "LlamaModel"]
