"""Generation settings: :class:`GenerationConfig` is the one list of options.

``generate(model, ids, generation_config, **overrides)`` takes its options from the config, then
from ``overrides`` (validated against the dataclass fields: an unknown name is a one-line error
with a suggestion). Every value is checked up front with an error that names it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields, replace
from typing import Literal

from scratchformers.errors import ConfigError

Strategy = Literal["greedy", "sample", "beam", "beam_sample"]


@dataclass
class GenerationConfig:
    max_new_tokens: int = 20
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    num_beams: int = 1
    length_penalty: float = 1.0
    early_stopping: bool | str = False
    num_return_sequences: int = 1
    eos_token_id: int | list[int] | None = None
    pad_token_id: int | None = None
    stop_strings: str | list[str] | None = None
    use_cache: bool = True
    compile_kernels: bool = False

    def __post_init__(self) -> None:
        self.validate()
        if self.temperature == 0:
            # temperature -> 0 concentrates all mass on the argmax: that is greedy, no division.
            self.do_sample = False
            self.temperature = 1.0
        if self.strategy == "greedy" and self.num_return_sequences > 1:
            raise ConfigError(
                f"num_return_sequences={self.num_return_sequences} is invalid with greedy decoding, which "
                "returns one sequence per prompt; use do_sample=True (temperature > 0) or num_beams > 1"
            )

    @property
    def strategy(self) -> Strategy:
        if self.num_beams > 1:
            return "beam_sample" if self.do_sample else "beam"
        return "sample" if self.do_sample else "greedy"

    def validate(self) -> None:
        def fail(name: str, value, requirement: str) -> None:
            raise ConfigError(f"{name}={value!r} is invalid: {requirement}")

        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            fail("max_new_tokens", self.max_new_tokens, "it must be an integer >= 1")
        if not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            fail("temperature", self.temperature, "it must be >= 0 (0 = greedy, 1 = the model's distribution)")
        if self.top_k is not None and (not isinstance(self.top_k, int) or self.top_k < 0):
            fail("top_k", self.top_k, "it must be an integer >= 0 (0 or None disables it)")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            fail("top_p", self.top_p, "it must be in (0, 1] (1.0 or None disables it)")
        if self.min_p is not None and not 0 <= self.min_p <= 1:
            fail("min_p", self.min_p, "it must be in [0, 1]")
        if not self.repetition_penalty > 0:
            fail("repetition_penalty", self.repetition_penalty, "it must be > 0 (1.0 = off, 1.1-1.3 discourages repeats)")
        if not isinstance(self.no_repeat_ngram_size, int) or self.no_repeat_ngram_size < 0:
            fail("no_repeat_ngram_size", self.no_repeat_ngram_size, "it must be an integer >= 0 (0 = off)")
        if not isinstance(self.compile_kernels, bool):
            fail("compile_kernels", self.compile_kernels, "it must be True or False")
        if isinstance(self.num_beams, bool) or not isinstance(self.num_beams, int) or self.num_beams < 1:
            fail("num_beams", self.num_beams, "it must be an integer >= 1 (1 = no beam search)")
        if self.early_stopping not in (True, False, "never") or not isinstance(self.early_stopping, (bool, str)):
            fail("early_stopping", self.early_stopping, "it must be True, False or 'never'")
        n = self.num_return_sequences
        if not isinstance(n, int) or n < 1:
            fail("num_return_sequences", n, "it must be an integer >= 1")
        if self.num_beams > 1 and n > self.num_beams:
            fail("num_return_sequences", n, f"beam search returns at most num_beams={self.num_beams} sequences")


def resolve_config(
    generation_config: GenerationConfig | None, overrides: dict, *, other_arguments: tuple[str, ...] = ()
) -> GenerationConfig:
    """``generation_config`` (default: ``GenerationConfig()``) with ``overrides`` applied and validated.

    ``other_arguments`` are the caller's non-option keywords, offered as suggestions too."""
    if generation_config is not None and not isinstance(generation_config, GenerationConfig):
        raise ConfigError(
            f"generation_config must be a GenerationConfig, got {type(generation_config).__name__}; "
            "pass options as keywords (generate(model, ids, max_new_tokens=20)) or GenerationConfig(...)"
        )
    names = [f.name for f in fields(GenerationConfig)]
    for key in overrides:
        if key not in names:
            close = difflib.get_close_matches(key, names + list(other_arguments), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"unknown generation option {key!r}: {hint}the options are the fields of GenerationConfig: {', '.join(names)}")
    return replace(generation_config or GenerationConfig(), **overrides)
