"""Errors that teach.

Every public entry point raises one of these instead of a bare PyTorch traceback. Each is a
subclass of the built-in exception a user would expect (``ValueError``/``TypeError``), so
``except ValueError`` keeps working, and each message names the offending tensor or value, what
was expected, what was found, and the likely fix.
"""

from __future__ import annotations


class ScratchformersError(Exception):
    """Base class of every error raised on purpose by scratchformers."""


class ShapeError(ScratchformersError, ValueError):
    """A tensor has the wrong shape (or two tensors disagree)."""


class DTypeError(ScratchformersError, TypeError):
    """A tensor has the wrong dtype."""


class ConfigError(ScratchformersError, ValueError):
    """A configuration value is invalid or two options conflict."""


class SequenceTooLongError(ShapeError):
    """An input is longer than the model's ``max_positions``."""


class VocabRangeError(ScratchformersError, ValueError):
    """Token ids fall outside ``[0, vocab_size)``."""


class CheckpointError(ScratchformersError, ValueError):
    """A checkpoint is missing, corrupt, or does not match the model."""


class DataError(ScratchformersError, ValueError):
    """Input data (a corpus, a CSV, a text argument) is empty, not UTF-8, or otherwise unusable."""


class RunLockedError(ScratchformersError, RuntimeError):
    """Another live process is training in the same run directory (see ``training/run_lock.py``)."""


class TrainingInterrupted(ScratchformersError):
    """Ctrl-C stopped training after a step; ``checkpoint`` is where the run was saved (or None)."""

    def __init__(self, message: str, checkpoint=None):
        super().__init__(message)
        self.checkpoint = checkpoint


class AssetNotInstalledError(ScratchformersError, FileNotFoundError):
    """A packaged offline asset is not installed; the message gives the pip command."""


def shape_str(shape) -> str:
    """``(2, 3, 4)`` style text for a torch.Size / tuple, used in every message."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"
