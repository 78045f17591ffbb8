"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
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

#: No inline script or style, no eval, no plugins, no framing, no foreign requests: stored text
#: that somehow became markup still could not run. Scripts and styles come from /static only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


#: Error pages with their own wording in error.html; any other status shows the generic one.
_ERROR_KINDS = {404: "not_found", 405: "method", 422: "invalid", 500: "server"}


def _error_page(
    request: Request, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """The styled error page in the user's language (loaded from the session when the request
    never reached the guard, e.g. an unknown path). Never echoes the request."""
    from pedbone.web._render import render

    try:
        if getattr(request.state, "user", None) is None and "session" in request.scope:
            from pedbone.web._data import session_user

            sid = request.session.get("sid")
            if isinstance(sid, str) and sid:
                request.state.user = session_user(request.app.state.db, sid)
        if request.headers.get("HX-Request"):
            return PlainTextResponse(str(status), status_code=status, headers=headers)
        return render(
            request,
            "error.html",
            status_code=status,
            headers=dict(headers or {}),
            error=_ERROR_KINDS.get(status, "other"),
            status=status,
        )
    except Exception:  # the error page itself must never fail
        return PlainTextResponse(f"Error {status}", status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    """Every error answers with the styled page (or a redirect to the login), never raw JSON."""

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
        return _error_page(request, exc.status_code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # A malformed path parameter (``/patients/abc``) names no page: 404. A malformed form
        # or query is a bad request, answered with the styled page, never FastAPI's raw JSON.
        in_path = any(err.get("loc", ("",))[0] == "path" for err in exc.errors())
        return _error_page(request, 404 if in_path else 422)

    from pedbone.store import BusyError

    @app.exception_handler(BusyError)
    async def _busy(request: Request, exc: BusyError) -> Response:
        # SQLite stayed locked by another writer past the busy timeout and the retries, on any
        # route (the session check included): nothing was saved, try again shortly.
        from pedbone.web._render import render

        return render(
            request,
            "error.html",
            status_code=503,
            headers={"Retry-After": "5"},
            error="busy",
            message=str(exc),
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 500)


def create_app(settings: WebSettings | None = None, *, database: Any = None) -> FastAPI:
    """Build the clinic web application.

    ``database`` may be an open :class:`pedbone.store.Database` (tests, benchmarks); otherwise
    one is opened from ``settings.database_url`` (see :func:`pedbone.store.resolve_database_url`).
    """
    settings = settings or WebSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from pedbone.web._warmup import warm_up

        warm_up(app.state.db)  # packs, catalogues, templates, queries: before /health says ok
        app.state.ready = True
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
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path != "/health" and not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    _install_error_handlers(app)

    from pedbone.web._views_review import ReviewsOnlyError

    @app.exception_handler(ReviewsOnlyError)
    async def _reviews_only(_request: Request, _exc: ReviewsOnlyError) -> Response:
        return RedirectResponse("/reviews", status_code=303)

    static = resources.files("pedbone.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    from pedbone.web import (
        _views_admin,
        _views_auth,
        _views_export,
        _views_fhir,
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
        _views_fhir,
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
