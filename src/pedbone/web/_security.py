"""Authentication, roles and CSRF protection.

Every route passes through :func:`guard` (installed as an application-wide dependency):

- routes not listed in :data:`PUBLIC_ROUTES` need a logged-in, active user;
- every state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token,
  either as the form field ``csrf_token`` or the header ``X-CSRF-Token`` (HTMX sends the header,
  set once on ``<body hx-headers=...>``).

Static files are a separate mount and are public. Sessions are signed cookies (Starlette's
``SessionMiddleware``: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when served over https).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request

from pedbone.web._i18n import DEFAULT_LANGUAGE, LANGUAGES

__all__ = [
    "PUBLIC_ROUTES",
    "ROLES",
    "CsrfError",
    "ForbiddenError",
    "LoginRequiredError",
    "WebUser",
    "csrf_token",
    "guard",
    "login_session",
    "logout_session",
    "request_language",
    "require_role",
]

#: Routes open to anonymous visitors (method, path). Everything else needs a login.
PUBLIC_ROUTES: Final[frozenset[tuple[str, str]]] = frozenset(
    {("GET", "/health"), ("GET", "/login"), ("POST", "/login"), ("POST", "/language")}
)
STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"

#: Roles: an admin manages users and may do everything; a clinician reads and edits records;
#: a researcher reads pseudonymised data and exports it, and never edits; a reviewer works on
#: systematic reviews only (the review pages) and never sees patients.
ROLES: Final = ("admin", "clinician", "researcher", "reviewer")


@dataclass(frozen=True, slots=True)
class WebUser:
    """The logged-in user as the web layer sees it (``language`` is "" until they choose)."""

    id: int
    username: str
    full_name: str
    role: str
    language: str

    @property
    def can_edit(self) -> bool:
        """Clinicians and admins enter and change clinical records."""
        return self.role in ("admin", "clinician")

    @property
    def pseudonymised(self) -> bool:
        """Researchers never see names, birth dates or record numbers."""
        return self.role == "researcher"

    @property
    def is_reviewer_only(self) -> bool:
        """Reviewer-role users see the review pages only."""
        return self.role == "reviewer"

    @property
    def is_admin(self) -> bool:
        """Admins manage user accounts."""
        return self.role == "admin"


class LoginRequiredError(Exception):
    """The request needs a logged-in user."""


class ForbiddenError(Exception):
    """The user's role does not allow this."""


class CsrfError(Exception):
    """A state-changing request without the session's CSRF token."""


UserLoader = Callable[[Request, int], Awaitable[WebUser | None] | WebUser | None]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def request_language(request: Request) -> str:
    """Interface language: the user's choice, else the session's, else English."""
    user = getattr(request.state, "user", None)
    if isinstance(user, WebUser) and user.language in LANGUAGES:
        return user.language
    lang = request.session.get("lang")
    return lang if isinstance(lang, str) and lang in LANGUAGES else DEFAULT_LANGUAGE


def _route_key(request: Request) -> tuple[str, str]:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return request.method, str(path)


async def _check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not (isinstance(expected, str) and sent and hmac.compare_digest(expected, sent)):
        raise CsrfError


async def guard(request: Request) -> None:
    """Application-wide dependency: load the user, demand a login and check CSRF tokens."""
    from pedbone.web._data import load_user

    request.state.user = None
    uid = request.session.get("uid")
    if isinstance(uid, int):
        user = load_user(request.app.state.db, uid)
        if user is None:  # deleted or deactivated since login
            request.session.clear()
        request.state.user = user
    if request.state.user is None and _route_key(request) not in PUBLIC_ROUTES:
        raise LoginRequiredError
    if request.state.user is not None and request.state.user.role == "reviewer":
        from pedbone.web._views_review import reviewer_may_reach

        reviewer_may_reach(request)  # the review pages only, never patients
    if request.method in STATE_CHANGING:
        await _check_csrf(request)


def current_user(request: Request) -> WebUser:
    """The logged-in user (the guard has already refused anonymous requests)."""
    user = getattr(request.state, "user", None)
    if not isinstance(user, WebUser):
        raise LoginRequiredError
    return user


def require_role(*roles: str) -> Callable[[Request], WebUser]:
    """Dependency factory: the current user, who must hold one of ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def dependency(request: Request) -> WebUser:
        user = current_user(request)
        if user.role not in roles:
            raise ForbiddenError
        return user

    return dependency


def login_session(request: Request, user: WebUser) -> None:
    """Start a fresh session for ``user`` (new CSRF token: no session fixation)."""
    lang = request.session.get("lang")
    request.session.clear()
    if isinstance(lang, str) and lang in LANGUAGES:
        request.session["lang"] = lang  # the choice made on the login page
    request.session["uid"] = user.id
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.state.user = user


def logout_session(request: Request) -> None:
    """End the session, keeping only the language choice."""
    lang = request_language(request)
    request.session.clear()
    request.session["lang"] = lang
    request.state.user = None
