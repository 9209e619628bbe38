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

Strategy = Literal["greedy", "sample", "beam", "beam_sample", "group_beam", "constrained_beam"]


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
    # length and token rules (processors/rules.py)
    min_length: int = 0  # EOS banned while the sequence (prompt included) is shorter
    min_new_tokens: int = 0  # EOS banned before this many new tokens
    suppress_tokens: list[int] | None = None
    begin_suppress_tokens: list[int] | None = None
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | list[int] | None = None
    remove_invalid_values: bool = False
    # penalties and biases (processors/penalties.py)
    bad_words_ids: list[list[int]] | None = None
    sequence_bias: dict | list | None = None
    encoder_repetition_penalty: float = 1.0
    encoder_no_repeat_ngram_size: int = 0
    # more sampling warpers (processors/sampling.py)
    typical_p: float | None = None
    epsilon_cutoff: float | None = None
    eta_cutoff: float | None = None
    # diverse (group) beam search (group_beam_search.py) and constrained beams (constrained.py)
    num_beam_groups: int = 1
    diversity_penalty: float = 0.0
    force_words_ids: list | None = None
    # what generate returns: the token tensor, or a GenerateOutput with these extras
    return_dict_in_generate: bool = False
    output_scores: bool = False
    output_logits: bool = False

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
        if self.force_words_ids is not None:
            return "constrained_beam"
        if self.num_beams > 1 and self.num_beam_groups > 1:
            return "group_beam"
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
        self._validate_rules(fail)

    def _validate_rules(self, fail) -> None:
        def is_count(value) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0

        for name in ("min_length", "min_new_tokens", "encoder_no_repeat_ngram_size"):
            if not is_count(getattr(self, name)):
                fail(name, getattr(self, name), "it must be an integer >= 0 (0 = off)")
        for name in ("suppress_tokens", "begin_suppress_tokens"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (list, tuple)) and all(is_count(t) for t in value)):
                fail(name, value, "it must be a list of token ids (ints >= 0)")
        if self.forced_bos_token_id is not None and not is_count(self.forced_bos_token_id):
            fail("forced_bos_token_id", self.forced_bos_token_id, "it must be a token id (int >= 0)")
        forced_eos = self.forced_eos_token_id
        if forced_eos is not None and not (is_count(forced_eos) or (isinstance(forced_eos, (list, tuple)) and forced_eos and all(is_count(t) for t in forced_eos))):
            fail("forced_eos_token_id", forced_eos, "it must be a token id or a non-empty list of them")
        def is_number(value) -> bool:  # checked before any comparison: a string must not raise TypeError
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        if not is_number(self.encoder_repetition_penalty) or not self.encoder_repetition_penalty > 0:
            fail("encoder_repetition_penalty", self.encoder_repetition_penalty, "it must be > 0 (1.0 = off)")
        if self.typical_p is not None and not (is_number(self.typical_p) and 0 < self.typical_p <= 1):
            fail("typical_p", self.typical_p, "it must be in (0, 1] (1.0 or None disables it)")
        for name in ("epsilon_cutoff", "eta_cutoff"):
            value = getattr(self, name)
            if value is not None and not (is_number(value) and 0 <= value < 1):
                fail(name, value, "it must be in [0, 1) (0 or None disables it; 3e-4 is typical)")
        groups = self.num_beam_groups
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            fail("num_beam_groups", groups, "it must be an integer >= 1 (1 = ordinary beam search)")
        if groups > 1 and (self.num_beams % groups or self.do_sample):
            fail("num_beam_groups", groups, f"it must divide num_beams={self.num_beams}, without do_sample")
        if groups > 1 and self.stop_strings:
            fail("stop_strings", self.stop_strings, "group beam search stops on EOS and max_new_tokens only; drop num_beam_groups")
        if not isinstance(self.diversity_penalty, (int, float)) or self.diversity_penalty < 0:
            fail("diversity_penalty", self.diversity_penalty, "it must be >= 0")
        if groups > 1 and not self.diversity_penalty > 0:
            fail("diversity_penalty", self.diversity_penalty, "num_beam_groups > 1 needs it > 0, or every group finds the same beams")
        if self.force_words_ids is not None and (self.num_beams < 2 or self.do_sample or groups > 1 or self.stop_strings):
            fail("force_words_ids", self.force_words_ids, "constrained beam search needs num_beams > 1, do_sample=False, "
                 "num_beam_groups=1 and no stop_strings")


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
