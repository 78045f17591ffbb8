"""pedbone.web — the clinic web application (FastAPI, Jinja2, HTMX; Dutch and English).

>>> from pedbone.web import create_app, WebSettings
>>> app = create_app(WebSettings(database_url="sqlite:///clinic.sqlite3"))  # doctest: +SKIP

``pedbone serve`` runs it with uvicorn (see ``docs/web.md``).
"""

from __future__ import annotations

from pedbone.web._app import create_app, create_app_from_env
from pedbone.web._settings import WebSettings

__all__ = ["WebSettings", "create_app", "create_app_from_env"]
