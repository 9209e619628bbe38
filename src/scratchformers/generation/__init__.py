"""Text generation: greedy, sampling and beam search, identical to Hugging Face ``generate``.

``generate(model, input_ids, generation_config=None, **overrides)`` works for every decoder in the
package (options: the fields of :class:`GenerationConfig`); the logits processors are plain functions too (``top_k(scores, 50)``); streaming yields UTF-8-safe
text pieces; :func:`repetition_report` scores how repetitive a generation is.
"""

from scratchformers.generation.beam_search import BeamSearch
from scratchformers.generation.config import GenerationConfig
from scratchformers.generation.state import DecodeState, GenerationModel
from scratchformers.generation.generate import generate
from scratchformers.generation.mixin import EncoderDecoderGenerationMixin, GenerationMixin
from scratchformers.generation.nonfinite import NonFiniteLogitsError
from scratchformers.generation.outputs import GenerateOutput
from scratchformers.generation import processors
from scratchformers.generation.processors import (
    LogitsProcessorList,
    MinP,
    NoRepeatNGram,
    RepetitionPenalty,
    Temperature,
    TopK,
    TopP,
    build_processors,
    min_p,
    no_repeat_ngram,
    repetition_penalty,
    temperature,
    top_k,
    top_p,
)
from scratchformers.generation.repetition import RepetitionReport, distinct_n, repetition_report
from scratchformers.generation.stopping import EosCriteria, StoppingCriteriaList, StopStringCriteria
from scratchformers.generation.streaming import TextIteratorStreamer, TextStreamer, stream

__all__ = [
    "BeamSearch",
    "DecodeState",
    "EncoderDecoderGenerationMixin",
    "EosCriteria",
    "GenerateOutput",
    "GenerationConfig",
    "GenerationMixin",
    "GenerationModel",
    "LogitsProcessorList",
    "MinP",
    "NoRepeatNGram",
    "NonFiniteLogitsError",
    "RepetitionPenalty",
    "RepetitionReport",
    "StopStringCriteria",
    "StoppingCriteriaList",
    "Temperature",
    "TextIteratorStreamer",
    "TextStreamer",
    "TopK",
    "TopP",
    "build_processors",
    "distinct_n",
    "generate",
    "min_p",
    "no_repeat_ngram",
    "repetition_penalty",
    "repetition_report",
    "stream",
    "temperature",
    "top_k",
    "top_p",
]
