"""Errors raised by the file layer."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MalformedInputError"]


class MalformedInputError(ValueError):
    """The input file cannot be read as a table: a structural problem, not a bad value.

    ``line`` is the 1-based physical line of a text file (the header is line 1) or, for a
    Parquet file, ``None``; ``reason`` says what is wrong in plain words.
    """

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")
