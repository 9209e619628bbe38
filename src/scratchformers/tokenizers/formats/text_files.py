"""Reading the text and JSON files of tokenizer folders, with one-line errors for broken files.

Every format module reads through these two, so a file that is not UTF-8 names the byte and its
offset, and broken JSON names the line and column, whichever file it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from scratchformers.errors import ConfigError


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path``; a ConfigError naming the file and the first bad byte if not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{str(path)!r} is not UTF-8 (byte 0x{err.object[err.start]:02x} at offset {err.start}); "
            "is it the right file? convert it, e.g. iconv -t UTF-8"
        ) from None


def read_json(path: str | Path, hint: str = "is the file complete?"):
    """The JSON value in ``path``; a ConfigError naming the line and column where it broke."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{str(path)!r} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); {hint}"
        ) from None
