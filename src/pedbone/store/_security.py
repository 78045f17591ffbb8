"""Passwords (argon2id via argon2-cffi), roles and permissions, user accounts."""

from __future__ import annotations

import os
import threading
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pedbone.store._errors import PermissionDeniedError, ValidationError
from pedbone.store._models import Role, User, utcnow
from pedbone.store._passwords import MIN_PASSWORD_LENGTH, check_password

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "Permission",
    "authenticate",
    "check_password",
    "create_user",
    "has_permission",
    "hash_password",
    "require",
    "set_password",
    "verify_password",
]

#: Password hashes computed at the same time, process-wide. Each argon2 hash takes the
#: library's default 64 MiB; without a bound, 30 concurrent logins took the server from about
#: 117 MiB to 1 GiB and stalled /health. Further attempts wait their turn.
#: ``PEDBONE_HASH_CONCURRENCY`` overrides the default (2, or 1 on a single core).
HASH_CONCURRENCY: Final = max(
    1, int(os.environ.get("PEDBONE_HASH_CONCURRENCY") or min(2, os.cpu_count() or 1))
)
_HASH_SLOTS = threading.BoundedSemaphore(HASH_CONCURRENCY)


class Permission(StrEnum):
    """What a role may do."""

    READ_IDENTIFIED = "read_identified"  # names, birth dates, notes
    READ_PSEUDONYMISED = "read_pseudonymised"
    EDIT = "edit"  # create / change / delete clinical records
    EXPORT = "export"  # export pseudonymised data sets
    MANAGE_USERS = "manage_users"
    BACKUP = "backup"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CLINICIAN: frozenset(
        {
            Permission.READ_IDENTIFIED,
            Permission.READ_PSEUDONYMISED,
            Permission.EDIT,
            Permission.EXPORT,
        }
    ),
    Role.RESEARCHER: frozenset({Permission.READ_PSEUDONYMISED, Permission.EXPORT}),
    # a reviewer works on systematic reviews (team membership decides which): no patient data
    Role.REVIEWER: frozenset(),
}


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults


def hash_password(password: str) -> str:
    """Hash a password with argon2id (at most HASH_CONCURRENCY at a time); rejects passwords
    shorter than MIN_PASSWORD_LENGTH. The full policy is :func:`check_password`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")
    with _HASH_SLOTS:
        return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash`` (never raises on a mismatch)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        with _HASH_SLOTS:
            return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def has_permission(user: User | Role | str, permission: Permission) -> bool:
    """Whether the user (or role) has ``permission``. Inactive users have none."""
    if isinstance(user, User):
        if not user.active:
            return False
        role = Role(user.role)
    else:
        role = Role(user)
    return permission in ROLE_PERMISSIONS[role]


def require(user: User, permission: Permission) -> None:
    """Raise :class:`PermissionDeniedError` unless ``user`` has ``permission``."""
    if not has_permission(user, permission):
        raise PermissionDeniedError(
            f"user {user.username!r} (role {user.role}) may not "
            f"{permission.value.replace('_', ' ')}"
        )


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    full_name: str = "",
) -> User:
    """Add a user with an argon2 password hash; the username must be new."""
    role = Role(role) if str(role) in {r.value for r in Role} else role
    if not isinstance(role, Role):
        raise ValidationError(f"role: {role!r} is not one of {', '.join(r.value for r in Role)}")
    exists = session.scalar(
        select(func.count()).select_from(User).where(User.username == username.strip())
    )
    if exists:
        raise ValidationError(f"username: {username!r} already exists")
    check_password(password, username=username, full_name=full_name)
    user = User(
        username=username,
        full_name=full_name,
        role=role.value,
        password_hash=hash_password(password),
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the user's password hash (after the policy check); every session of the user
    ends and the account's failed-login count is cleared."""
    from sqlalchemy.orm import object_session

    from pedbone.store._sessions import clear_throttle, end_user_sessions

    check_password(password, username=user.username, full_name=user.full_name or "")
    user.password_hash = hash_password(password)
    session = object_session(user)
    if session is not None and user.id is not None:
        end_user_sessions(session, user.id)
        clear_throttle(session, user.username)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or ``None``.

    Re-hashes the password when argon2's parameters have been raised since it was stored,
    and records the sign-in time.
    """
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        with _HASH_SLOTS:
            _hasher().hash("constant-time-dummy")  # same work whether or not the user exists
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        with _HASH_SLOTS:
            user.password_hash = _hasher().hash(password)
    user.last_login_at = utcnow()
    return user


def ensure_permission(actor: Any, permission: Permission) -> None:
    """Like :func:`require` but accepts ``None`` (system: always allowed)."""
    if actor is None:
        return
    if isinstance(actor, User):
        require(actor, permission)
        return
    raise PermissionDeniedError(f"unknown actor {actor!r}")
