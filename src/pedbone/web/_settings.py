"""Settings of the web application (database, session secret, cookie policy)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

__all__ = ["ENV_SECRET_KEY", "WebSettings"]

#: Environment variable holding the session-signing secret. Without it a random secret is
#: made per process: sessions then end when the server restarts (safe, merely inconvenient).
ENV_SECRET_KEY = "PEDBONE_SECRET_KEY"


def _default_secret() -> str:
    return os.environ.get(ENV_SECRET_KEY) or secrets.token_urlsafe(48)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Configuration of :func:`pedbone.web.create_app`.

    ``https_only`` marks the session cookie ``Secure``; :func:`pedbone.web.serve` sets it when
    the server is reached over https (behind a TLS proxy pass ``https_only=True``).
    """

    database_url: str | None = None
    secret_key: str = field(default_factory=_default_secret, repr=False)
    https_only: bool = False
    #: Lifetime of the session cookie in seconds; the server-side session ends earlier when
    #: idle or at its absolute lifetime (``pedbone.store._sessions``: 1 h idle, 12 h).
    session_max_age: int = 12 * 3600
    #: Largest CSV upload accepted by the DXA import, in bytes.
    max_upload_bytes: int = 5 * 1024 * 1024
    #: Rows shown per page in the patient list.
    page_size: int = 50
    #: Create the schema / apply migrations when the app starts.
    upgrade_database: bool = True
