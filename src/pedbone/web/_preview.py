"""Previewed import files, kept on the server until they are committed or expire.

The preview page used to carry the whole file back to the browser in a hidden form field; a
file over about 768 KB then previewed fine and its commit failed with a bare 400 (the form-field
limit; hazard H35). The file now stays in a folder on the server, named by the SHA-256 of its
content plus a random part (so that uploading the same file again is a new preview), and the
commit form carries only that key (signed with the session's key, so a key is worth nothing
outside the session that uploaded it). A committed preview is removed; an uncommitted one
expires after :data:`PREVIEW_MAX_AGE`. That a preview is committed once, also by two requests
at the same moment, is the database's job (``import_commits.preview_key`` is unique).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import Final

__all__ = ["PREVIEW_MAX_AGE", "PreviewStore", "preview_folder"]

#: How long an uploaded file waits for its commit (a software rule: a working day; the
#: preview re-checks every row at commit anyway).
PREVIEW_MAX_AGE: Final = dt.timedelta(hours=12)
_KEY: Final = re.compile(r"^[0-9a-f]{64}\.[0-9a-f]{16}$")


def preview_folder(database_url: str) -> Path:
    """Where previews are kept: beside a SQLite database file, else in pedbone's data folder."""
    from sqlalchemy import make_url

    from pedbone.store import data_dir

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db_file = Path(url.database).expanduser()
        return db_file.parent / f"{db_file.name}.import-previews"
    return data_dir() / "import-previews"


class PreviewStore:
    """A folder of previewed files, keyed ``<sha256>.<random>``."""

    def __init__(self, folder: Path, max_age: dt.timedelta = PREVIEW_MAX_AGE) -> None:
        self.folder = folder
        self.max_age = max_age

    def put(self, data: bytes) -> str:
        """Keep ``data``; return its key. Expired previews are removed on the way."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._expire()
        key = f"{hashlib.sha256(data).hexdigest()}.{secrets.token_hex(8)}"
        partial = self.folder / f".{key}.partial"
        partial.write_bytes(data)
        os.chmod(partial, 0o600)
        partial.replace(self.folder / key)
        return key

    def get(self, key: str) -> bytes | None:
        """The file of ``key``, or ``None`` if there is none (never made, committed, expired,
        or altered on disk)."""
        if not _KEY.match(key):
            return None
        path = self.folder / key
        try:
            if time.time() - path.stat().st_mtime > self.max_age.total_seconds():
                path.unlink(missing_ok=True)
                return None
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != key.split(".", 1)[0]:
            return None
        return data

    def discard(self, key: str) -> None:
        """Remove the file of ``key`` (after its commit)."""
        if _KEY.match(key):
            (self.folder / key).unlink(missing_ok=True)

    def _expire(self) -> None:
        limit = time.time() - self.max_age.total_seconds()
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
            except OSError:
                continue
