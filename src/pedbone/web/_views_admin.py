"""User accounts (admin only): list, add, deactivate and reactivate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pedbone.web._forms import Field, parse, store_error_field
from pedbone.web._i18n import N_
from pedbone.web._render import render
from pedbone.web._security import WebUser, request_language, require_role

router = APIRouter()

Admin = Annotated[WebUser, Depends(require_role("admin"))]

USER_FIELDS = (
    Field("username", N_("User name"), required=True),
    Field("full_name", N_("Full name"), required=True),
    Field(
        "role",
        N_("Role"),
        "choice",
        required=True,
        choices=(
            ("clinician", N_("clinician")),
            ("researcher", N_("researcher")),
            ("reviewer", N_("reviewer")),
            ("admin", N_("admin")),
        ),
    ),
    Field(
        "password",
        N_("Initial password"),
        "password",
        required=True,
        hint=N_("At least 8 characters; give it to the person in a safe way."),
    ),
)


def _users(db: Any) -> list[Any]:
    from sqlalchemy import select

    from pedbone.store import User

    with db.session() as session:
        return [
            {
                "id": u.id,
                "username": u.username,
                "full_name": u.full_name,
                "role": u.role,
                "active": u.active,
                "last_login": u.last_login_at,
            }
            for u in session.scalars(select(User).order_by(User.username))
        ]


@router.get("/admin/users")
def users_page(request: Request, user: Admin) -> Response:
    """The user accounts and the form to add one."""
    return render(
        request,
        "users.html",
        users=_users(request.app.state.db),
        fields=USER_FIELDS,
        values={},
        errors={},
    )


@router.post("/admin/users")
async def user_create(request: Request, user: Admin) -> Response:
    """Add an account (the store hashes the password with argon2)."""
    from pedbone.store import StoreError, create_user
    from pedbone.web._data import _actor

    raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values, errors = parse(USER_FIELDS, raw, request_language(request))
    if not errors:
        db = request.app.state.db
        try:
            with db.unit_of_work(actor=_actor(db, user)) as session:
                create_user(
                    session,
                    values["username"],
                    values["password"],
                    values["role"],
                    full_name=values["full_name"],
                )
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in USER_FIELDS))
            errors[name or "_form"] = str(exc)
        else:
            return RedirectResponse("/admin/users?saved=1", status_code=303)
    raw.pop("password", None)  # never echo a password back
    return render(
        request,
        "users.html",
        status_code=422,
        users=_users(request.app.state.db),
        fields=USER_FIELDS,
        values=raw,
        errors=errors,
    )


@router.post("/admin/users/{user_id}/active")
async def user_active(request: Request, user_id: int, user: Admin) -> Response:
    """Deactivate or reactivate an account (not one's own); takes effect on the next request."""
    from pedbone.store import User
    from pedbone.web._data import _actor

    form = await request.form()
    active = form.get("active") == "true"
    if user_id == user.id and not active:
        return render(
            request,
            "users.html",
            status_code=422,
            users=_users(request.app.state.db),
            fields=USER_FIELDS,
            values={},
            errors={"_form": N_("You cannot deactivate your own account.")},
        )
    db = request.app.state.db
    with db.unit_of_work(actor=_actor(db, user)) as session:
        row = session.get(User, user_id)
        if row is None:
            return render(request, "error.html", status_code=404, error="not_found")
        row.active = active
    return RedirectResponse("/admin/users?saved=1", status_code=303)
