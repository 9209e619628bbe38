"""Ctrl-C during training: finish the current step, save a checkpoint, stop cleanly.

A ``KeyboardInterrupt`` raised wherever Python happens to be (inside ``optimizer.step()``, half-way
through the micro-batches of a step) would leave weights, data position and RNG out of step with
each other. So the first Ctrl-C only sets a flag; after the current optimizer step the trainer
saves a checkpoint (a state an exact ``--resume`` can continue from) and raises
:class:`~scratchformers.errors.TrainingInterrupted`, which the CLI prints as one line (exit 130).
A second Ctrl-C restores Python's default behaviour and stops at once.

Only a single-process run on the main thread installs the handler: under DDP every rank would have
to agree on the step to stop at, so Ctrl-C keeps its default behaviour there.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from scratchformers.errors import TrainingInterrupted


class StopAfterStep:
    """A trainer callback: when Ctrl-C was pressed, save and raise at the end of the step."""

    def __init__(self):
        self.requested = False

    def request(self, signum, frame) -> None:
        if self.requested:  # second Ctrl-C: give up on the clean stop
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: stopping after this step and saving a checkpoint (Ctrl-C again to stop at once)",
              file=sys.stderr, flush=True)

    def on_train_start(self, trainer) -> None: ...

    def on_step_end(self, trainer, record: dict) -> None:
        if not self.requested:
            return
        path = trainer.save()
        raise TrainingInterrupted(f"interrupted at step {trainer.step}: checkpoint saved in {path}", checkpoint=path)

    def on_evaluate(self, trainer, metrics: dict) -> None: ...

    def on_train_end(self, trainer) -> None: ...


@contextmanager
def stop_on_interrupt(trainer) -> Iterator[StopAfterStep | None]:
    """Install the Ctrl-C handler and the callback for the ``with`` block (single process only)."""
    usable = (threading.current_thread() is threading.main_thread() and not trainer.dist.enabled
              and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if not usable:
        yield None
        return
    stopper = StopAfterStep()
    previous = signal.signal(signal.SIGINT, stopper.request)
    trainer.callbacks.append(stopper)
    try:
        yield stopper
    finally:
        signal.signal(signal.SIGINT, previous)
        trainer.callbacks.remove(stopper)
