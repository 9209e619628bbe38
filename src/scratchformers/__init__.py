"""scratchformers: transformers for NLP written from scratch on PyTorch.

``import scratchformers as sf`` gives the building blocks (``sf.MultiHeadAttention``), the models
(``sf.GPT``), the tokenizers, checkpoint loading, generation, training and the doctor.
"""

__version__ = "0.1.0"

from scratchformers import errors
from scratchformers.errors import (
    CheckpointError,
    ConfigError,
    DTypeError,
    ScratchformersError,
    SequenceTooLongError,
    ShapeError,
    VocabRangeError,
)

# --- nn (foundation) ---
# --- models ---
# --- tokenizers ---
# --- hub (checkpoints) ---
# --- generation ---
# --- training / data ---
# --- doctor / viz ---
