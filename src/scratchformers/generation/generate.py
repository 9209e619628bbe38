"""``generate``: greedy, sampling and beam search for every scratchformers decoder.

The loop, in words (decoder-only)::

    prefill : run the whole (left-padded) prompt once, fill the KV cache, keep the last logits
    repeat  : scores = processors(sequence so far, logits)      (penalties, temperature, top-k, ...)
              token  = argmax(scores) | sample(softmax(scores)) | beam search step
              append the token, stop rows that hit EOS / stop strings
              run the model on the new token only (the cache holds everything before)

Everything the loop touches is allocated once up front: the output buffer ``(rows, max_length)``,
the attention mask and the per-layer KV cache. Logits are computed for the last position only.

Outputs equal HF ``generate`` token for token (tested against transformers on GPT-2 and
SmolLM2), including left padding, EOS/pad handling and beam-search scoring.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch

from scratchformers.errors import ConfigError, DTypeError, SequenceTooLongError, ShapeError, shape_str
from scratchformers.generation.beam_search import BeamSearch
from scratchformers.generation.config import GenerationConfig
from scratchformers.generation.processors import LogitsProcessorList, build_processors
from scratchformers.generation.stopping import StoppingCriteriaList, build_stopping_criteria
from scratchformers.nn.linear import single_row_kernels


# ----------------------------------------------------------------------------- model adapters
class _DecoderRunner:
    """Feeds a decoder-only model (GPT, Llama) one chunk at a time, cached or not.

    ``positions`` follow HF: the index of each token among the real (unpadded) tokens of its row,
    so a left-padded prompt gets the same positions as the unpadded one.
    """

    def __init__(self, model, prompt_ids: torch.Tensor, attention_mask: torch.Tensor | None, max_length: int, use_cache: bool):
        rows, prompt_len = prompt_ids.shape
        use_cache = use_cache and hasattr(model, "new_cache")  # models without a KV cache rerun the prefix
        self.model, self.use_cache = model, use_cache
        self.padded = attention_mask is not None and not bool(attention_mask.all())
        self.mask = None
        if self.padded:  # (rows, max_length): generated tokens are always real
            self.mask = torch.ones(rows, max_length, dtype=torch.long, device=prompt_ids.device)
            self.mask[:, :prompt_len] = attention_mask
            positions = (self.mask.cumsum(-1) - 1).clamp(min=0)  # (rows, max_length)
        else:
            positions = torch.arange(max_length, device=prompt_ids.device).expand(rows, max_length)
        self.positions = positions
        self.cache = model.new_cache(rows, max_length) if use_cache else None
        self.length = 0  # tokens the model has seen (cached path)

    def _forward(self, ids: torch.Tensor, start: int, end: int) -> torch.Tensor:
        out = self.model(
            ids,
            attention_mask=self.mask[:, :end] if self.padded else None,
            position_ids=self.positions[:, start:end],
            cache=self.cache,
            logits_to_keep=1,
        )
        return out.logits[:, -1].float()  # (rows, vocab)

    def next_logits(self, sequences: torch.Tensor, cur_len: int) -> torch.Tensor:
        """Logits for position ``cur_len`` given ``sequences[:, :cur_len]``."""
        if not self.use_cache:
            return self._forward(sequences[:, :cur_len], 0, cur_len)
        logits = self._forward(sequences[:, self.length : cur_len], self.length, cur_len)
        self.length = cur_len
        return logits

    def reorder(self, rows: torch.Tensor) -> None:
        if self.cache is not None:
            self.cache.reorder(rows)


class _EncoderDecoderRunner:
    """Feeds an encoder-decoder model: the encoder runs once, the decoder token by token.

    Beam reordering only touches the decoder cache: beams never change prompt, so the encoder
    memory and the source mask of a row stay valid.
    """

    def __init__(self, model, input_ids, attention_mask, max_length: int, use_cache: bool):
        self.model, self.use_cache = model, use_cache
        self.attention_mask = attention_mask
        self.memory = model.encode(input_ids, attention_mask=attention_mask)  # (rows, T_src, d_model)
        self.cache = model.new_cache(input_ids.size(0), max_length) if use_cache else None
        self.length = 0

    def next_logits(self, sequences: torch.Tensor, cur_len: int) -> torch.Tensor:
        start = self.length if self.use_cache else 0
        out = self.model(
            None,
            sequences[:, start:cur_len],
            attention_mask=self.attention_mask,
            encoder_out=self.memory,
            cache=self.cache,
            logits_to_keep=1,
        )
        self.length = cur_len
        return out.logits[:, -1].float()

    def reorder(self, rows: torch.Tensor) -> None:
        if self.cache is not None:
            self.cache.reorder(rows)


def _is_encoder_decoder(model) -> bool:
    return hasattr(model, "encode") and callable(model.encode)


# ----------------------------------------------------------------------------- checks
def _check_inputs(input_ids, attention_mask, *, encoder_decoder: bool) -> None:
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
    if attention_mask is not None and input_ids.size(1) > 0 and not encoder_decoder:
        # Right padding would put pad tokens between the prompt and the continuation.
        empty = (attention_mask == 0).all(dim=1).nonzero().flatten().tolist()
        if empty:
            raise ConfigError(f"attention_mask row(s) {empty} are all padding (an empty prompt); every prompt needs "
                              "at least one real token")
        if bool((attention_mask[:, -1] == 0).any()):
            raise ConfigError(
                "attention_mask has padding at the END of a prompt (right padding); decoder-only generation "
                "needs left padding (tokenizer padding_side='left') so every prompt ends at the last column"
            )


def _eos_list(eos_token_id) -> list[int] | None:
    if eos_token_id is None:
        return None
    return [int(eos_token_id)] if isinstance(eos_token_id, int) else [int(e) for e in eos_token_id]


def _default_from_model(model, name: str):
    config = getattr(model, "config", None)
    return getattr(config, name, None)


# ----------------------------------------------------------------------------- entry point
def generate(
    model,
    input_ids: torch.Tensor,
    *,
    max_new_tokens: int,
    attention_mask: torch.Tensor | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    repetition_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
    num_beams: int = 1,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    num_return_sequences: int = 1,
    eos_token_id: int | Sequence[int] | None = None,
    pad_token_id: int | None = None,
    stop_strings: str | Sequence[str] | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    compile_kernels: bool = False,
    streamer=None,
    tokenizer=None,
    decoder_input_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Continue ``input_ids`` (batch, prompt_len) by up to ``max_new_tokens`` tokens.

    Returns the prompt plus the continuation, ``(batch * num_return_sequences, length)`` (for
    encoder-decoder models: the decoder sequence). Rows that stop early (EOS, stop string) are
    padded with ``pad_token_id`` (default: the first EOS id), and the loop ends when all rows
    stopped, so ``length <= prompt_len + max_new_tokens``.

    - ``do_sample=False, num_beams=1``: greedy. ``temperature=0`` also means greedy.
    - ``do_sample=True``: sample from ``softmax(processed scores)`` using ``generator``.
    - ``num_beams > 1``: beam search (beam sampling with ``do_sample``), HF scoring
      ``sum logp / generated_len ** length_penalty`` and ``early_stopping`` True/False/"never".
    - ``attention_mask``: 1 = token, 0 = padding; batched prompts must be LEFT padded.
    - ``stop_strings`` needs ``tokenizer``; ``streamer`` (batch 1) gets ``put(ids)``/``end()``.
    - ``compile_kernels=True``: single-row decode steps (batch 1, greedy or sampling) on a float32
      CPU model use matrix-vector kernels compiled by inductor
      (:func:`scratchformers.nn.linear.single_row_kernels`): 15-30% faster per token (GPT-2,
      SmolLM2), for a one-time cost of seconds per process. Worth it for long or repeated
      generation; tokens can differ from the default path only where two logits tie to float32
      rounding.
    """
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=do_sample,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        min_p=min_p,
        repetition_penalty=repetition_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size,
        num_beams=num_beams,
        length_penalty=length_penalty,
        early_stopping=early_stopping,
        num_return_sequences=num_return_sequences,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        stop_strings=stop_strings,
        use_cache=use_cache,
        compile_kernels=compile_kernels,
    )
    encoder_decoder = _is_encoder_decoder(model)
    _check_inputs(input_ids, attention_mask, encoder_decoder=encoder_decoder)
    device = getattr(model, "device", input_ids.device)  # inputs follow the model (CPU ids, GPU model)
    input_ids = input_ids.to(device)
    attention_mask = attention_mask.to(device) if attention_mask is not None else None
    decoder_input_ids = decoder_input_ids.to(device) if decoder_input_ids is not None else None
    if generator is not None and generator.device.type != torch.device(device).type:
        raise ConfigError(
            f"generator is on {generator.device} but the model is on {device}; create it there: "
            f"torch.Generator(device='{torch.device(device).type}').manual_seed(seed)"
        )
    if encoder_decoder and decoder_input_ids is None:
        start = _default_from_model(model, "decoder_start_token_id")
        if start is None:
            start = _default_from_model(model, "bos_token_id")
        if start is None:
            raise ConfigError("encoder-decoder generation needs decoder_input_ids (or config.decoder_start_token_id)")
        decoder_input_ids = torch.full((input_ids.size(0), 1), int(start), dtype=torch.long, device=input_ids.device)
    prompt = decoder_input_ids if encoder_decoder else input_ids
    max_length = prompt.size(1) + config.max_new_tokens
    max_positions = getattr(model, "max_positions", None)
    if max_positions is not None and max_length > max_positions:
        room = max_positions - prompt.size(1)
        fix = (f"lower max_new_tokens to at most {room} or shorten the prompt" if room > 0 else
               f"the prompt alone fills the context: shorten it to at most {max_positions - 1} tokens")
        raise SequenceTooLongError(
            f"prompt length {prompt.size(1)} + max_new_tokens={config.max_new_tokens} = {max_length} exceeds the "
            f"model's max_positions={max_positions}; {fix}"
        )
    if streamer is not None and (prompt.size(0) > 1 or config.num_beams > 1 or config.num_return_sequences > 1):
        raise ConfigError("streamer supports a single prompt with greedy or sampling decoding (batch 1, num_beams=1)")

    eos = _eos_list(config.eos_token_id)
    pad = config.pad_token_id
    if pad is None and eos is not None:
        pad = eos[0]  # HF does the same (with a warning)

    # Every row is repeated for its beams / samples: (batch, T) -> (batch * copies, T)
    copies = config.num_beams if config.num_beams > 1 else config.num_return_sequences
    if copies > 1:
        input_ids = input_ids.repeat_interleave(copies, dim=0)
        prompt = prompt.repeat_interleave(copies, dim=0)
        if attention_mask is not None:
            attention_mask = attention_mask.repeat_interleave(copies, dim=0)

    # Penalties must not see left padding: HF skips each row's leading pad positions.
    padding_lengths = None
    if config.repetition_penalty != 1.0 and attention_mask is not None and not encoder_decoder:
        padding_lengths = (attention_mask != 0).int().argmax(dim=1)
    min_keep = 1 if config.num_beams == 1 else (len(eos) + 1 if eos else 2)
    processors = build_processors(
        do_sample=config.do_sample,
        temperature=config.temperature,
        top_k=config.top_k,
        top_p=config.top_p,
        min_p=config.min_p,
        repetition_penalty=config.repetition_penalty,
        no_repeat_ngram_size=config.no_repeat_ngram_size,
        min_tokens_to_keep=min_keep,
        padding_lengths=padding_lengths,
    )
    stopping = build_stopping_criteria(eos_token_id=eos, stop_strings=config.stop_strings, tokenizer=tokenizer)

    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()  # dropout during generation is a classic silent bug
    try:
        kernels = single_row_kernels() if config.compile_kernels else contextlib.nullcontext()
        with torch.inference_mode(), kernels:
            if encoder_decoder:
                runner = _EncoderDecoderRunner(model, input_ids, attention_mask, max_length, config.use_cache)
            else:
                runner = _DecoderRunner(model, prompt, attention_mask, max_length, config.use_cache)
            if config.num_beams > 1:
                return _beam_search(runner, prompt, config, processors, stopping, max_length, eos, pad, generator)
            return _greedy_or_sample(runner, prompt, config, processors, stopping, max_length, eos, pad, generator, streamer)
    finally:
        if was_training:
            model.train()


def _greedy_or_sample(
    runner,
    prompt: torch.Tensor,
    config: GenerationConfig,
    processors: LogitsProcessorList,
    stopping: StoppingCriteriaList,
    max_length: int,
    eos: list[int] | None,
    pad: int | None,
    generator: torch.Generator | None,
    streamer,
) -> torch.Tensor:
    rows, cur_len = prompt.shape
    sequences = torch.empty(rows, max_length, dtype=torch.long, device=prompt.device)  # (rows, max_length)
    sequences[:, :cur_len] = prompt
    unfinished = torch.ones(rows, dtype=torch.bool, device=prompt.device)
    if streamer is not None:
        streamer.put(prompt.cpu())
    while cur_len < max_length:
        logits = runner.next_logits(sequences, cur_len)  # (rows, vocab)
        scores = processors(sequences[:, :cur_len], logits) if processors else logits
        if config.do_sample:
            probs = scores.softmax(dim=-1)
            next_tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (rows,)
        else:
            next_tokens = scores.argmax(dim=-1)  # (rows,)
        if eos is not None:  # finished rows receive padding (HF semantics)
            next_tokens = torch.where(unfinished, next_tokens, pad)
        sequences[:, cur_len] = next_tokens
        cur_len += 1
        if streamer is not None:
            streamer.put(next_tokens.cpu())
        if stopping:
            unfinished &= ~stopping(sequences[:, :cur_len])
            if not bool(unfinished.any()):
                break
    if streamer is not None:
        streamer.end()
    return sequences[:, :cur_len]


def _beam_search(
    runner,
    prompt: torch.Tensor,
    config: GenerationConfig,
    processors: LogitsProcessorList,
    stopping: StoppingCriteriaList,
    max_length: int,
    eos: list[int] | None,
    pad: int | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    beams = BeamSearch(
        prompt,
        num_beams=config.num_beams,
        max_length=max_length,
        length_penalty=config.length_penalty,
        early_stopping=config.early_stopping,
        do_sample=config.do_sample,
        eos_token_id=eos,
        pad_token_id=pad,
        stopping=stopping,
        generator=generator,
    )
    while True:
        logits = runner.next_logits(beams.running.view(-1, max_length), beams.cur_len)  # (rows, vocab)
        log_probs = logits.log_softmax(dim=-1)
        if processors:
            log_probs = processors(beams.sequences_so_far(), log_probs)
        parents = beams.step(log_probs)
        if beams.is_done():
            break
        runner.reorder(parents)
    sequences, _ = beams.result(config.num_return_sequences)
    return sequences
