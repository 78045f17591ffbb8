"""Audit log and role guard, hooked into every flush of a :class:`StoreSession`.

For each inserted, updated or deleted audited row, one :class:`AuditEntry` (who, when, table,
row, before, after — as JSON) is inserted on the session's own connection, so it commits or
rolls back together with the change. Password hashes are never copied into the log.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from pedbone.store._engine import StoreSession
from pedbone.store._errors import PermissionDeniedError
from pedbone.store._models import AuditEntry, Role, User, utcnow

__all__ = ["Actor", "actor_of", "row_snapshot"]

REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted: changed>"
_REDACT = frozenset({"password_hash"})
_BEFORE = "pedbone.audit.before"
#: What a non-admin may change on their own user row.
SELF_SERVICE = frozenset({"password_hash", "full_name", "last_login_at", "updated_at", "version"})


@dataclass(frozen=True)
class Actor:
    """Who acts in a session: a signed-in user, or the system (CLI, migrations, demo)."""

    user_id: int | None
    username: str
    role: str | None  # None = system, may do everything

    @property
    def is_system(self) -> bool:
        """True for the system actor (no signed-in user)."""
        return self.role is None


SYSTEM = Actor(None, "system", None)


def actor_of(actor: Any) -> Actor:
    """Normalise ``None`` / username / :class:`User` / :class:`Actor` to an :class:`Actor`."""
    if actor is None:
        return SYSTEM
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, User):
        return Actor(actor.id, actor.username, str(actor.role))
    if isinstance(actor, str):
        return Actor(None, actor, None)
    raise TypeError(f"actor must be a User, a username or None, not {type(actor).__name__}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def row_snapshot(obj: Any) -> dict[str, Any]:
    """Column values of a mapped object as a JSON-ready dict (secrets redacted)."""
    mapper = inspect(obj).mapper
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        out[key] = REDACTED if key in _REDACT else _jsonable(getattr(obj, key))
    return out


def _before_snapshot(obj: Any) -> dict[str, Any]:
    """Values as they were in the database before this flush."""
    state = inspect(obj)
    out = row_snapshot(obj)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.deleted and attr.key not in _REDACT:
            out[attr.key] = _jsonable(history.deleted[0])
    return out


def _audited(obj: Any) -> bool:
    return bool(getattr(type(obj), "__audited__", False))


def _guard(session: Session, actor: Actor) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise PermissionDeniedError("the audit log is append-only: entries are never changed")
    if actor.is_system:
        return
    changed = [
        o
        for o in (
            *session.new,
            *session.deleted,
            *(o for o in session.dirty if session.is_modified(o, include_collections=False)),
        )
        if _audited(o)  # settings (e.g. interface language) are bookkeeping
        # systematic-review rows are guarded by review-team membership (store/_review.py)
        and not getattr(type(o), "__review__", False)
    ]
    if not changed:
        return
    if actor.role == Role.ADMIN:
        return
    for obj in changed:
        if isinstance(obj, User):
            own = (
                obj.id is not None
                and obj.id == actor.user_id
                and obj not in session.new
                and obj not in session.deleted
            )
            if own and _changed_keys(obj) <= SELF_SERVICE:
                continue
            raise PermissionDeniedError(
                f"user {actor.username!r} has the {actor.role} role; only an admin manages "
                "user accounts (you may change your own password and name)"
            )
        if actor.role == Role.REVIEWER:
            raise PermissionDeniedError(
                f"user {actor.username!r} has the reviewer role, which works on systematic "
                "reviews only and may not read or change clinic records"
            )
        if actor.role == Role.RESEARCHER:
            raise PermissionDeniedError(
                f"user {actor.username!r} has the researcher role, which reads pseudonymised "
                "data only and may not change records"
            )


def _changed_keys(obj: Any) -> set[str]:
    state = inspect(obj)
    return {
        attr.key
        for attr in state.mapper.column_attrs
        if state.attrs[attr.key].history.has_changes()
    }


@event.listens_for(StoreSession, "before_flush")
def _before_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    actor = actor_of(session.info.get("actor"))
    _guard(session, actor)
    before: dict[int, dict[str, Any]] = {}
    for obj in session.deleted:
        if _audited(obj):
            before[id(obj)] = _before_snapshot(obj)
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before[id(obj)] = _before_snapshot(obj)
    session.info[_BEFORE] = before


@event.listens_for(StoreSession, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    actor = actor_of(session.info.get("actor"))
    before: dict[int, dict[str, Any]] = session.info.pop(_BEFORE, {})
    now = utcnow()
    rows: list[dict[str, Any]] = []

    def entry(obj: Any, action: str, old: Any, new: Any) -> None:
        identity = inspect(obj).identity or (getattr(obj, "id", None),)
        rows.append(
            {
                "at": now,
                "user_id": actor.user_id,
                "username": actor.username,
                "action": action,
                "table_name": obj.__tablename__,
                "row_id": ",".join(str(part) for part in identity),
                "before": old,
                "after": new,
            }
        )

    for obj in session.new:
        if _audited(obj):
            entry(obj, "insert", None, row_snapshot(obj))
    for obj in session.dirty:
        if _audited(obj) and id(obj) in before:
            after = row_snapshot(obj)
            state = inspect(obj)
            for key in _REDACT & after.keys():
                if state.attrs[key].history.has_changes():
                    after[key] = REDACTED_CHANGED  # say that it changed, never to what
            entry(obj, "update", before[id(obj)], after)
    for obj in session.deleted:
        if _audited(obj):
            entry(obj, "delete", before.get(id(obj)), None)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
