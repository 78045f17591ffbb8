"""Write to a temporary file beside the target and rename it into place only on success."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["OutputExistsError", "atomic_path"]


class OutputExistsError(FileExistsError):
    """The output file exists and overwriting was not allowed."""


@contextlib.contextmanager
def atomic_path(target: Path | str, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``target`` on success.

    If the block raises, the temporary file is removed and ``target`` is untouched, so a
    failed run never leaves a half-written output. Without ``overwrite`` an existing
    ``target`` raises :class:`OutputExistsError` before anything is written (and again at the
    end, should the file have appeared meanwhile).
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass --overwrite to replace it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"the output folder {target.parent} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    mask = os.umask(0)
    os.umask(mask)
    tmp.chmod(0o666 & ~mask)  # mkstemp makes the file private; give it the usual mode
    try:
        yield tmp
        if target.exists() and not overwrite:
            raise OutputExistsError(f"{target} appeared while writing; pass --overwrite")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
