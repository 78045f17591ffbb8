"""Rebuild src/pedbone/data/passwords/common-passwords.txt from a zxcvbn 4.5.0 wheel.

    python tools/build_password_blocklist.py zxcvbn-4.5.0-py2.py3-none-any.whl

The wheel is read as a zip file; its ``frequency_lists.py`` is parsed (never imported).
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/pedbone/data/passwords/common-passwords.txt"
HEADER = (
    "# 30,000 most common passwords, most frequent first (zxcvbn 4.5.0 frequency list "
    "'passwords'); see PROVENANCE.md\n"
)


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("zxcvbn/frequency_lists.py").decode()
    tree = ast.parse(source)
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FREQUENCY_LISTS"
    )
    assert isinstance(table, ast.Dict)
    value = next(
        v
        for k, v in zip(table.keys, table.values, strict=True)
        if k and ast.literal_eval(k) == "passwords"
    )
    if isinstance(value, ast.Call):  # "a,b,c".split(",")
        value = value.func.value  # type: ignore[attr-defined]
    words = ast.literal_eval(value)
    words = words.split(",") if isinstance(words, str) else words
    OUT.write_text(HEADER + "".join(w.strip().lower() + "\n" for w in words), encoding="utf-8")
    print(f"{len(words)} passwords -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
