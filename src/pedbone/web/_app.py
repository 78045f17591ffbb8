"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from pedbone._version import __version__
from pedbone.web._security import CsrfError, ForbiddenError, LoginRequiredError, guard
from pedbone.web._settings import WebSettings

__all__ = ["create_app", "create_app_from_env"]

SESSION_COOKIE = "pedbone_session"


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


def create_app(settings: WebSettings | None = None, *, database: Any = None) -> FastAPI:
    """Build the clinic web application.

    ``database`` may be an open :class:`pedbone.store.Database` (tests, benchmarks); otherwise
    one is opened from ``settings.database_url`` (see :func:`pedbone.store.resolve_database_url`).
    """
    settings = settings or WebSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if database is None:
            app.state.db.dispose()

    app = FastAPI(
        title="pedbone",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(guard)],
        lifespan=lifespan,
    )
    if database is None:
        from pedbone.store import Database

        database = Database(settings.database_url, upgrade=settings.upgrade_database)
    app.state.db = database
    app.state.settings = settings

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.https_only,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        if request.url.path != "/health" and not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequiredError)
    async def _login_required(request: Request, _exc: LoginRequiredError) -> Response:
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            from urllib.parse import quote

            target += "?next=" + quote(request.url.path, safe="/")
        if request.headers.get("HX-Request"):
            return PlainTextResponse("login required", 401, headers={"HX-Redirect": target})
        if request.method == "GET":
            return RedirectResponse(target, status_code=303)
        return PlainTextResponse("login required", status_code=401)

    from pedbone.web._views_review import ReviewsOnlyError

    @app.exception_handler(ReviewsOnlyError)
    async def _reviews_only(_request: Request, _exc: ReviewsOnlyError) -> Response:
        return RedirectResponse("/reviews", status_code=303)

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, _exc: CsrfError) -> Response:
        from pedbone.web._render import render

        return render(request, "error.html", status_code=403, error="csrf")

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, _exc: ForbiddenError) -> Response:
        from pedbone.web._render import render

        return render(request, "error.html", status_code=403, error="forbidden")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        from pedbone.web._render import render

        if exc.status_code == 404:
            return render(request, "error.html", status_code=404, error="not_found")
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    static = resources.files("pedbone.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    from pedbone.web import (
        _views_admin,
        _views_auth,
        _views_export,
        _views_import,
        _views_patients,
        _views_records,
        _views_report,
        _views_review,
        _views_treatment,
    )

    for module in (
        _views_auth,
        _views_patients,
        _views_records,
        _views_import,
        _views_report,
        _views_export,
        _views_admin,
        _views_treatment,
        _views_review,
    ):
        app.include_router(module.router)
    return app


def create_app_from_env() -> FastAPI:
    """App factory for process managers (``uvicorn --factory pedbone.web:create_app_from_env``).

    Reads ``PEDBONE_DATABASE_URL``, ``PEDBONE_SECRET_KEY`` (needed so that several worker
    processes accept each other's sessions) and ``PEDBONE_HTTPS`` (``1``: Secure cookies).
    """
    import os

    return create_app(
        WebSettings(https_only=os.environ.get("PEDBONE_HTTPS", "") in ("1", "true", "yes"))
    )
