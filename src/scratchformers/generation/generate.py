"""``generate``: greedy, sampling and beam search for every scratchformers decoder.

The loop, in words (decoder-only)::

    prefill : run the whole (left-padded) prompt once, fill the KV cache, keep the last logits
    repeat  : scores = processors(sequence so far, logits)      (penalties, temperature, top-k, ...)
              token  = argmax(scores) | sample(softmax(scores)) | beam search step
              append the token, stop rows that hit EOS / stop strings
              run the model on the new token only (the cache holds everything before)

Everything the loop touches is allocated once up front: the output buffer ``(rows, max_length)``,
the attention mask and the per-layer KV cache. Logits are computed for the last position only.
The model is driven through a small protocol (:mod:`scratchformers.generation.state`): it prepares
a :class:`DecodeState` (the encoder runs there for encoder-decoders) and computes one step's logits.
The CPU backends (:func:`scratchformers.backends.optimize`) are applied for the duration of the call.
Non-finite logits stop the loop with an error naming the step and the first module that produced them.

Outputs equal HF ``generate`` token for token (tested against transformers on GPT-2 and
SmolLM2), including left padding, EOS/pad handling and beam-search scoring.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torch import nn

from scratchformers.backends import optimized, single_row_kernels
from scratchformers.errors import ConfigError, DTypeError, ShapeError, shape_str
from scratchformers.generation.beam_search import BeamSearch
from scratchformers.generation.config import GenerationConfig, resolve_config
from scratchformers.generation.constrained import check_phrases, constrained_beam_search
from scratchformers.generation.group_beam_search import group_beam_search
from scratchformers.generation.nonfinite import logits_are_finite, nonfinite_error
from scratchformers.generation.outputs import GenerateOutput, StepRecorder
from scratchformers.generation.processors import LogitsProcessorList, build_processors
from scratchformers.generation.processors.base import eos_ids
from scratchformers.generation.state import DecodeState, GenerationModel
from scratchformers.generation.stopping import StoppingCriteriaList, build_stopping_criteria

# generate()'s keywords that are inputs or helpers, not options (offered as did-you-mean too).
INPUT_ARGUMENTS = ("attention_mask", "decoder_input_ids", "generator", "streamer", "tokenizer")


@dataclass
class Decoding:
    """Everything a decoding loop needs, built once by :func:`generate`."""

    model: GenerationModel
    state: DecodeState
    config: GenerationConfig
    processors: LogitsProcessorList
    stopping: StoppingCriteriaList
    eos: list[int] | None
    pad: int | None
    generator: torch.Generator | None = None
    streamer: object | None = None
    inputs: dict | None = None  # what prepare_generation_inputs got: the diagnostic pass reruns it
    recorder: StepRecorder = field(default_factory=lambda: StepRecorder(scores=False, logits=False))  # per-step extras

    def next_logits(self, sequences: torch.Tensor, cur_len: int) -> torch.Tensor:
        """The checked float32 logits (rows, vocab) of position ``cur_len``."""
        logits = self.model.forward_step(sequences, cur_len, self.state)
        if not logits_are_finite(logits):
            raise nonfinite_error(self.model, logits, cur_len - self.state.prompt.size(1), lambda: self._rerun(sequences, cur_len))
        return logits

    def _rerun(self, sequences: torch.Tensor, cur_len: int) -> None:
        steps = max(cur_len - self.state.prompt.size(1), 1)
        state = self.model.prepare_generation_inputs(**self.inputs, max_new_tokens=steps, use_cache=False)
        self.model.forward_step(sequences, cur_len, state)


# ----------------------------------------------------------------------------- checks
def _check_inputs(model, input_ids, attention_mask) -> None:
    if not isinstance(model, GenerationModel):
        raise ConfigError(
            f"{type(model).__name__} cannot generate: it needs prepare_generation_inputs() and forward_step() "
            "(inherit scratchformers.generation.GenerationMixin)"
        )
    if not isinstance(input_ids, torch.Tensor):
        raise DTypeError(f"input_ids must be a torch.Tensor of token ids, got {type(input_ids).__name__}")
    if input_ids.numel() == 0:  # torch.tensor([[]]) is float32: say "empty", not "wrong dtype"
        raise ShapeError(f"input_ids is empty {shape_str(input_ids.shape)}: the prompt encoded to no tokens; "
                         "give every prompt at least one token (e.g. the BOS token)")
    if input_ids.dtype.is_floating_point:
        raise DTypeError(f"input_ids has dtype {input_ids.dtype}; token ids must be integers (torch.long)")
    if input_ids.dim() != 2:
        raise ShapeError(
            f"input_ids must be (batch, seq_len), got {shape_str(input_ids.shape)}; for one prompt use input_ids[None]"
        )
    if attention_mask is not None and attention_mask.shape != input_ids.shape:
        raise ShapeError(
            f"attention_mask {shape_str(attention_mask.shape)} must match input_ids {shape_str(input_ids.shape)}"
        )


# ----------------------------------------------------------------------------- entry point
def generate(
    model,
    input_ids: torch.Tensor,
    generation_config: GenerationConfig | None = None,
    *,
    attention_mask: torch.Tensor | None = None,
    decoder_input_ids: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    streamer=None,
    tokenizer=None,
    **overrides,
) -> torch.Tensor | GenerateOutput:
    """Continue ``input_ids`` (batch, prompt_len) by up to ``max_new_tokens`` tokens.

    Options come from ``generation_config`` (default ``GenerationConfig()``) and ``overrides``
    (any :class:`GenerationConfig` field, e.g. ``max_new_tokens=50, do_sample=True``; an unknown
    name is a clear error). The other keywords are inputs: ``attention_mask`` (1 = token, 0 =
    padding; batched prompts must be LEFT padded), ``decoder_input_ids`` (encoder-decoders),
    ``generator`` (sampling), ``streamer`` (batch 1, gets ``put(ids)``/``end()``), ``tokenizer``
    (needed by ``stop_strings``).

    Returns the prompt plus the continuation, ``(batch * num_return_sequences, length)`` (for
    encoder-decoder models: the decoder sequence). Rows that stop early (EOS, stop string) are
    padded with ``pad_token_id`` (default: the first EOS id), and the loop ends when all rows
    stopped, so ``length <= prompt_len + max_new_tokens``. With ``return_dict_in_generate=True`` it
    returns a :class:`~scratchformers.generation.outputs.GenerateOutput` (``sequences``, and
    ``scores`` / ``logits`` per step with ``output_scores`` / ``output_logits``, ``beam_indices`` and
    ``sequences_scores`` for beam search), the same fields and values as transformers.

    - ``do_sample=False, num_beams=1``: greedy. ``temperature=0`` also means greedy.
    - ``do_sample=True``: sample from ``softmax(processed scores)`` using ``generator``.
    - ``num_beams > 1``: beam search (beam sampling with ``do_sample``), HF scoring
      ``sum logp / generated_len ** length_penalty`` and ``early_stopping`` True/False/"never".
      ``num_beam_groups`` + ``diversity_penalty``: diverse (group) beam search;
      ``force_words_ids``: constrained beam search (every phrase in the output).
    - The model runs with :func:`scratchformers.backends.optimize` applied for the call (each
      matmul on the kernel measured fastest here, stacked Q/K/V for decode steps; the same tokens
      as the plain model).
    - ``compile_kernels=True``: single-row decode steps (batch 1, greedy or sampling) on a float32
      CPU model use matrix-vector kernels compiled by inductor per weight shape
      (:func:`scratchformers.backends.single_row_kernels`), for a cost of seconds per process. The
      default path already streams single rows through a kernel compiled once per machine
      (:mod:`scratchformers.backends.native`, where measured faster), so this rarely pays; tokens
      can differ from the default path only where two logits tie to float32 rounding.
    - Non-finite logits raise :class:`~scratchformers.generation.nonfinite.NonFiniteLogitsError`
      naming the step and the first module whose output is non-finite.
    """
    config = resolve_config(generation_config, overrides, other_arguments=INPUT_ARGUMENTS)
    _check_inputs(model, input_ids, attention_mask)
    device = getattr(model, "device", input_ids.device)  # inputs follow the model (CPU ids, GPU model)
    if generator is not None and generator.device.type != torch.device(device).type:
        raise ConfigError(
            f"generator is on {generator.device} but the model is on {device}; create it there: "
            f"torch.Generator(device='{torch.device(device).type}').manual_seed(seed)"
        )
    if streamer is not None and (input_ids.size(0) > 1 or config.num_beams > 1 or config.num_return_sequences > 1):
        raise ConfigError("streamer supports a single prompt with greedy or sampling decoding (batch 1, num_beams=1)")
    if config.force_words_ids is not None:
        check_phrases(config.force_words_ids)
    eos = eos_ids(config.eos_token_id)
    pad = config.pad_token_id
    if pad is None and eos is not None:
        pad = eos[0]  # HF does the same (with a warning)
    stopping = build_stopping_criteria(eos_token_id=eos, stop_strings=config.stop_strings, tokenizer=tokenizer)

    # Every row is repeated for its beams / samples: (batch, T) -> (batch * copies, T)
    copies = config.num_beams if config.num_beams > 1 else config.num_return_sequences
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "decoder_input_ids": decoder_input_ids}
    inputs = {k: v.to(device).repeat_interleave(copies, dim=0) if v is not None else None for k, v in inputs.items()}

    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()  # dropout during generation is a classic silent bug
    try:
        backend = optimized(model) if isinstance(model, nn.Module) else contextlib.nullcontext()
        kernels = single_row_kernels() if config.compile_kernels else contextlib.nullcontext()
        with torch.inference_mode(), backend, kernels:
            state = model.prepare_generation_inputs(**inputs, max_new_tokens=config.max_new_tokens, use_cache=config.use_cache)
            # Penalties must not see left padding: HF skips each row's leading pad positions.
            min_keep = 1 if config.num_beams == 1 else (len(eos) + 1 if eos else 2)
            processors = build_processors(
                config,
                min_tokens_to_keep=min_keep,
                padding_lengths=state.padding_lengths,
                prompt_length=state.prompt.size(1),
                max_length=state.max_length,
                encoder_input_ids=inputs["input_ids"],  # the prompt (decoder-only) or the source (seq2seq)
            )
            recorder = StepRecorder(
                scores=config.return_dict_in_generate and config.output_scores,
                logits=config.return_dict_in_generate and config.output_logits,
            )
            decoding = Decoding(model, state, config, processors, stopping, eos, pad, generator, streamer, inputs, recorder)
            output = _LOOPS[config.strategy](decoding)
            return output if config.return_dict_in_generate else output.sequences
    finally:
        if was_training:
            model.train()


def _greedy_or_sample(d: Decoding) -> GenerateOutput:
    prompt, max_length = d.state.prompt, d.state.max_length
    rows, cur_len = prompt.shape
    sequences = torch.empty(rows, max_length, dtype=torch.long, device=prompt.device)  # (rows, max_length)
    sequences[:, :cur_len] = prompt
    unfinished = torch.ones(rows, dtype=torch.bool, device=prompt.device)
    if d.streamer is not None:
        d.streamer.put(prompt.cpu())
    while cur_len < max_length:
        logits = d.next_logits(sequences, cur_len)  # (rows, vocab)
        scores = d.processors(sequences[:, :cur_len], logits) if d.processors else logits
        d.recorder.record(logits, scores)
        if d.config.do_sample:
            probs = scores.softmax(dim=-1)
            next_tokens = torch.multinomial(probs, 1, generator=d.generator).squeeze(1)  # (rows,)
        else:
            next_tokens = scores.argmax(dim=-1)  # (rows,)
        if d.eos is not None:  # finished rows receive padding (HF semantics)
            next_tokens = torch.where(unfinished, next_tokens, d.pad)
        sequences[:, cur_len] = next_tokens
        cur_len += 1
        if d.streamer is not None:
            d.streamer.put(next_tokens.cpu())
        if d.stopping:
            unfinished &= ~d.stopping(sequences[:, :cur_len])
            if not bool(unfinished.any()):
                break
    if d.streamer is not None:
        d.streamer.end()
    return d.recorder.output(sequences[:, :cur_len])


def _beam_search(d: Decoding) -> GenerateOutput:
    max_length = d.state.max_length
    beams = BeamSearch(
        d.state.prompt,
        num_beams=d.config.num_beams,
        max_length=max_length,
        length_penalty=d.config.length_penalty,
        early_stopping=d.config.early_stopping,
        do_sample=d.config.do_sample,
        eos_token_id=d.eos,
        pad_token_id=d.pad,
        stopping=d.stopping,
        generator=d.generator,
        track_indices=d.config.return_dict_in_generate,  # beam_indices are only returned in the dict
    )
    while True:
        logits = d.next_logits(beams.running.view(-1, max_length), beams.cur_len)  # (rows, vocab)
        log_probs = logits.log_softmax(dim=-1)
        if d.processors:
            log_probs = d.processors(beams.sequences_so_far(), log_probs)
        d.recorder.record(logits, log_probs)
        parents = beams.step(log_probs)
        if beams.is_done():
            break
        d.state.reorder(parents)
    sequences, scores, indices = beams.result(d.config.num_return_sequences)
    return d.recorder.output(sequences, beam_indices=indices, sequences_scores=scores if d.recorder.scores is not None else None)


_LOOPS = {
    "greedy": _greedy_or_sample,
    "sample": _greedy_or_sample,
    "beam": _beam_search,
    "beam_sample": _beam_search,
    "group_beam": group_beam_search,
    "constrained_beam": constrained_beam_search,
}
