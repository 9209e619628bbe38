"""GPT-2 style decoder: the model (:mod:`.model`) and its Hugging Face name conversion (:mod:`.convert`)."""

from scratchformers.models.gpt.model import GPT, GPTConfig

__all__ = ["GPT", "GPTConfig"]
