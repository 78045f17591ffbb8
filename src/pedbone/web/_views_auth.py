"""Health check, login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pedbone._version import __version__
from pedbone.store import HASH_CONCURRENCY
from pedbone.web._i18n import LANGUAGES
from pedbone.web._render import render
from pedbone.web._security import login_session, logout_session

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


@router.get("/health")
def health(request: Request) -> Response:
    """Readiness and database check for monitoring (public, no personal data): 503
    "starting" until the start-up warm-up is done, 503 when the database does not answer."""
    from pedbone.web._data import ping

    if not getattr(request.app.state, "ready", False):
        return JSONResponse({"status": "starting", "version": __version__}, status_code=503)
    ok = ping(request.app.state.db)
    return JSONResponse(
        {"status": "ok" if ok else "database unavailable", "version": __version__},
        status_code=200 if ok else 503,
    )


@router.get("/")
def home(request: Request) -> Response:
    """The patient list is the start page."""
    return RedirectResponse("/patients", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The login page."""
    if request.state.user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


#: Logins checked at the same time (each holds an argon2 hash, 64 MiB); others wait here, in
#: the event loop, without holding a worker thread, so /health and pages stay responsive.
_LOGIN_SLOTS = anyio.CapacityLimiter(HASH_CONCURRENCY)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/patients",
) -> Response:
    """Check the credentials; one generic message for every failure (no user enumeration);
    throttled per account name and per address, with backoff."""
    from pedbone.web._data import login as check_login

    address = request.client.host if request.client else None
    result = await anyio.to_thread.run_sync(
        check_login, request.app.state.db, username.strip(), password, address,
        limiter=_LOGIN_SLOTS,
    )  # fmt: skip
    user = result.user
    if user is None:
        locked = result.retry_after > 0
        return render(
            request,
            "login.html",
            status_code=429 if locked else 401,
            headers={"Retry-After": str(result.retry_after)} if locked else None,
            next=_safe_next(next),
            error="locked" if locked else "invalid",
            minutes=max(1, -(-result.retry_after // 60)),
            username=username,
        )
    login_session(request, user, result.token)
    chosen = request.session.get("lang")
    if not user.language and isinstance(chosen, str) and chosen in LANGUAGES:
        from pedbone.web._data import set_user_language

        set_user_language(request.app.state.db, user, chosen)  # first choice, made at login
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session."""
    logout_session(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def set_language(
    request: Request,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/patients",
) -> Response:
    """Switch the interface language; stored on the user's account when logged in."""
    if language in LANGUAGES:
        request.session["lang"] = language
        if request.state.user is not None:
            from pedbone.web._data import set_user_language

            set_user_language(request.app.state.db, request.state.user, language)
    return RedirectResponse(_safe_next(next), status_code=303)
