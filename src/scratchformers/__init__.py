"""scratchformers: transformers for NLP written from scratch on PyTorch.

``import scratchformers as sf`` gives the building blocks (``sf.MultiHeadAttention``), the models
(``sf.GPT``), the tokenizers, checkpoint loading, generation, training and the doctor.
"""

from scratchformers.version import __version__  # noqa: F401 - re-exported
from scratchformers.threads import set_threads  # noqa: F401 - re-exported

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
    BlockSpec,
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
from scratchformers.tokenizers import (
    BPETokenizer,
    ByteLevelBPETokenizer,
    Tokenizer,
    WordLevelTokenizer,
    WordPieceTokenizer,
    count_tokens,
    load_tokenizer,
)
# --- hub (checkpoints) ---
from scratchformers.hub import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    from_pretrained,
    load_tokenizer_for,
    save_pretrained,
)
# --- generation ---
from scratchformers import generation
from scratchformers.generation import GenerationConfig, TextStreamer, generate, repetition_report
from scratchformers.generation import processors as logits_processors
# --- training / data ---
from scratchformers import data, training
from scratchformers.training import Callback, NonFiniteLossError, TrainConfig, Trainer, finetune
# --- doctor / viz ---
from scratchformers import doctor, viz  # torch + numpy only; matplotlib loads on the first plot
from scratchformers.pipelines import pipeline
from scratchformers.memory import free_memory
