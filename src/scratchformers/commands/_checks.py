"""Checks the commands run on user input before any work starts (each failure is a one-line error).

Not a command (the leading underscore keeps it out of :mod:`scratchformers.cli`'s discovery).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from scratchformers.errors import ConfigError, DataError

_CHUNK = 1 << 20


def check_utf8_file(path: str | Path, what: str) -> bool:
    """Raise DataError naming the byte and offset if ``path`` is not UTF-8; True if it has visible text.

    Streams the file (1 MiB at a time), so a multi-GB corpus costs one read and no memory.
    """
    decoder, offset, visible = codecs.getincrementaldecoder("utf-8")(), 0, False
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                byte = err.object[err.start] if err.start < len(err.object) else None
                shown = f"byte {byte:#04x}" if byte is not None else "a truncated character"
                raise DataError(f"{what} {path} is not UTF-8 text ({shown} at offset {offset + err.start}); "
                                "convert it, e.g. `iconv -f latin1 -t utf-8 IN > OUT`") from None
            visible = visible or bool(text.strip())
            if not chunk:
                return visible
            offset += len(chunk)


def check_corpus(path: Path) -> None:
    """A training corpus (file or folder of .txt files) exists, is UTF-8 and is not empty."""
    from scratchformers.data.text import text_files

    if not path.exists():
        raise DataError(f"training data {path} does not exist; pass --data FILE_OR_FOLDER")
    files = [path] if path.is_file() else list(text_files(path))
    visible = [check_utf8_file(file, "training data") for file in files]
    if not any(visible):
        raise DataError(f"training data {path} is empty (no text in {len(files)} file(s)); give a corpus with text")


def check_device(name: str) -> None:
    """``--device cuda`` (or ``cuda:N``, ``mps``) on a machine that has it; ``auto``/``cpu`` always pass."""
    import torch

    kind, _, index = name.partition(":")
    if kind in ("auto", "cpu"):
        return
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available here (torch {torch.__version__}, "
                              f"CUDA build {torch.version.cuda or 'none'}); use --device cpu or auto")
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s); "
                              f"use cuda:0..cuda:{torch.cuda.device_count() - 1}")
        return
    if kind == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(f"--device {name}: Apple MPS is not available here; use --device cpu or auto")
        return
    raise ConfigError(f"--device {name!r}: unknown device; use auto, cpu, cuda, cuda:N or mps")


def check_output_file(path: str | Path, option: str) -> None:
    """An output file can be created: its folder exists and it is not itself a folder."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name inside it")
    if not path.parent.is_dir():
        raise ConfigError(f"{option} {path}: the folder {path.parent} does not exist; create it first "
                          f"(mkdir -p {path.parent}) or write elsewhere")
