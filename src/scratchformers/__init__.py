"""scratchformers: transformers for NLP written from scratch on PyTorch.

``import scratchformers as sf`` gives the building blocks (``sf.MultiHeadAttention``), the models
(``sf.GPT``), the tokenizers, checkpoint loading, generation, training and the doctor.
"""

__version__ = "0.1.0"

# --- nn (foundation) ---
# --- models ---
from scratchformers import errors, models, nn
from scratchformers.errors import (
    CheckpointError,
    ConfigError,
    DTypeError,
    ScratchformersError,
    SequenceTooLongError,
    ShapeError,
    VocabRangeError,
)
from scratchformers.models import (
    GPT,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    EncoderConfig,
    EncoderDecoder,
    EncoderDecoderConfig,
    GPTConfig,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaModel,
    TransformerEncoder,
)
from scratchformers.nn import (
    ALiBi,
    DecoderCache,
    FeedForward,
    KVCache,
    LayerNorm,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    RMSNorm,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    TransformerBlock,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)
# --- tokenizers ---
# --- hub (checkpoints) ---
# --- generation ---
# --- training / data ---
# --- doctor / viz ---
