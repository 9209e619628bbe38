"""Streaming: text pieces as soon as tokens are generated, never a broken character.

Byte-level tokenizers (GPT-2, Llama 3, ...) can split one UTF-8 character over several tokens, so
decoding after each token may end in U+FFFD (an incomplete byte sequence). The streamers here hold
such a tail back until the next token completes it, so the pieces concatenate to exactly the
decoded text. ``generate(..., streamer=s)`` calls ``s.put(new_ids)`` after every step (the first
call carries the prompt) and ``s.end()`` at the end; only batch size 1 can be streamed.

- :class:`TextStreamer` prints (or hands to a callback) each piece.
- :class:`TextIteratorStreamer` is an iterator over the pieces, fed from a generation thread.
- :func:`stream` is the one-liner: ``for piece in stream(model, ids, tokenizer=tok, ...)``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import torch

from scratchformers.errors import ShapeError, shape_str

REPLACEMENT_CHAR = "\ufffd"


class TextStreamer:
    """Decode incrementally and emit finished text pieces to ``on_text`` (default: print).

    Holds back trailing U+FFFD characters (bytes of an unfinished character). Decoding restarts
    from the last token after every clean piece, so the cost per step stays constant; one token of
    context is kept so tokenizers that strip a leading space decode consistently. A skipped
    prompt is kept as context too, so a prompt ending inside a character gets the whole
    character on the first step. ``put`` never mutates the token list in place, so a
    ``copy.copy`` of a streamer goes its own way.
    """

    def __init__(self, tokenizer, *, skip_prompt: bool = True, on_text: Callable[[str], None] | None = None):
        self.tokenizer = tokenizer
        self.skip_prompt = skip_prompt
        self.on_text = on_text
        self._tokens: list[int] = []
        self._printed = 0  # characters of decode(self._tokens) already emitted
        self._expect_prompt = True

    def put(self, token_ids: torch.Tensor | list[int]) -> None:
        if isinstance(token_ids, torch.Tensor):
            if token_ids.dim() > 1 and token_ids.size(0) > 1:
                raise ShapeError(
                    f"streaming supports batch size 1, got token ids of shape {shape_str(token_ids.shape)}"
                )
            token_ids = token_ids.reshape(-1).tolist()
        if self.skip_prompt and self._expect_prompt:
            # The prompt is context, not output: its text counts as printed, except an
            # unfinished character at its end, which the first new token completes whole.
            self._expect_prompt = False
            self._tokens = list(token_ids)
            self._printed = len(self.tokenizer.decode(self._tokens).rstrip(REPLACEMENT_CHAR))
            return
        self._expect_prompt = False
        self._tokens = self._tokens + list(token_ids)  # a new list: copies never share it
        text = self.tokenizer.decode(self._tokens)
        stable = len(text.rstrip(REPLACEMENT_CHAR))  # an incomplete character may still be completed
        if stable > self._printed:
            self._emit(text[self._printed : stable])
            self._printed = stable
        if stable == len(text) and len(self._tokens) > 1:
            # Everything is out: restart from the last token, keeping it as decoding context
            # (unless it is the tail of a multi-byte character, which cannot decode alone).
            context_text = self.tokenizer.decode(self._tokens[-1:])
            if REPLACEMENT_CHAR not in context_text:
                self._tokens = self._tokens[-1:]
                self._printed = len(context_text)

    def end(self) -> None:
        """Flush whatever is left (an unfinished character is emitted as U+FFFD, like decode)."""
        if self._tokens:
            text = self.tokenizer.decode(self._tokens)
            if len(text) > self._printed:
                self._emit(text[self._printed :])
        self._tokens, self._printed, self._expect_prompt = [], 0, True
        self._emit_end()

    def _emit(self, piece: str) -> None:
        if self.on_text is not None:
            self.on_text(piece)
        else:
            print(piece, end="", flush=True)

    def _emit_end(self) -> None:
        if self.on_text is None:
            print(flush=True)


class TextIteratorStreamer(TextStreamer):
    """A streamer you iterate over: run ``generate`` in a thread, read pieces in this one."""

    _DONE = object()

    def __init__(self, tokenizer, *, skip_prompt: bool = True, timeout: float | None = None):
        super().__init__(tokenizer, skip_prompt=skip_prompt, on_text=self._enqueue)
        self._queue: queue.Queue = queue.Queue()
        self.timeout = timeout

    def _enqueue(self, piece: str) -> None:
        self._queue.put(piece)

    def _emit_end(self) -> None:
        self._queue.put(self._DONE)

    def fail(self, error: BaseException) -> None:
        """Called by the generation thread when it crashes, so the reader does not hang."""
        self._queue.put(error)

    def __iter__(self) -> Iterator[str]:
        while True:
            item = self._queue.get(timeout=self.timeout)
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def stream(model, input_ids: torch.Tensor, *, tokenizer, **generate_kwargs) -> Iterator[str]:
    """Yield the generated text piece by piece (``generate`` runs in a background thread)."""
    from scratchformers.generation.generate import generate

    streamer = TextIteratorStreamer(tokenizer)

    def work() -> None:
        try:
            generate(model, input_ids, streamer=streamer, tokenizer=tokenizer, **generate_kwargs)
        except BaseException as err:  # hand the error to the reading thread
            streamer.fail(err)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield from streamer
    thread.join()
