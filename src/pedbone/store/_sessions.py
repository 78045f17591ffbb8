"""Server-side sign-in sessions and login throttling (NIST SP 800-63B, OWASP ASVS L2).

A session is a random token handed to the browser (inside the signed cookie) and stored here
only as its SHA-256 digest, so a copy of the database cannot be replayed as a login. It ends
when the user logs out, when their password changes (every session of the user), when it has
been idle too long, at its absolute lifetime, or when the account is deactivated.

Throttling counts failed logins per account name and per client address and locks the key for
an exponentially growing period once the free attempts are used up [NIST80063B4] (verifiers
SHALL limit failed attempts) [OWASPASVS4] (V2.2.1 anti-automation). While a key is locked the
password is not even checked, so the right password does not help an attacker mid-guessing
and no argon2 work is spent. These are software rules, not clinical numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ForeignKey, Integer, String, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from pedbone.store._models import Base, UTCDateTime, utcnow

__all__ = [
    "ABSOLUTE_LIFETIME",
    "FREE_ATTEMPTS_ACCOUNT",
    "FREE_ATTEMPTS_ADDRESS",
    "IDLE_TIMEOUT",
    "MAX_LOCK",
    "LoginThrottle",
    "ThrottleState",
    "WebSession",
    "clear_throttle",
    "end_session",
    "end_user_sessions",
    "record_login_failure",
    "resolve_session",
    "start_session",
    "throttle_state",
]

#: A session unused this long ends [NIST80063B4] (AAL2: inactivity timeout of one hour)
#: [OWASPASVS4] (V3.3.2).
IDLE_TIMEOUT: Final = dt.timedelta(hours=1)
#: Sign in again at least this often, however active: one clinic working day, within the
#: 24 hours that [NIST80063B4] allows at AAL2.
ABSOLUTE_LIFETIME: Final = dt.timedelta(hours=12)
#: Failed logins allowed before the first lock: per account name, per client address.
FREE_ATTEMPTS_ACCOUNT: Final = 5
FREE_ATTEMPTS_ADDRESS: Final = 20
#: The first lock lasts this long; each further failure doubles it, up to MAX_LOCK.
FIRST_LOCK: Final = dt.timedelta(seconds=30)
MAX_LOCK: Final = dt.timedelta(hours=1)
#: Failures older than this are forgotten (a lock that has passed plus this quiet period).
FORGET_AFTER: Final = dt.timedelta(hours=24)


class WebSession(Base):
    """One signed-in browser. Not audited, not backed up (``info["ephemeral"]``)."""

    __tablename__ = "web_sessions"
    __table_args__ = ({"info": {"ephemeral": True}},)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed logins of one key (``account:<name>`` or ``address:<ip>``)."""

    __tablename__ = "login_throttle"
    __table_args__ = ({"info": {"ephemeral": True}},)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, now: dt.datetime | None = None) -> str:
    """A new session for the user; returns the token for the cookie (stored only hashed)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_LIFETIME,
        )
    )
    session.flush()
    return token


def resolve_session(session: Session, token: str, now: dt.datetime | None = None) -> int | None:
    """The user id of a live session (and mark it used), or ``None`` if it has ended."""
    now = now or utcnow()
    if not isinstance(token, str) or not token:
        return None
    row = session.get(WebSession, _digest(token))
    if row is None or row.revoked_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= IDLE_TIMEOUT:
        row.revoked_at = now
        return None
    if now - row.last_seen_at > dt.timedelta(minutes=1):  # no write on every request
        row.last_seen_at = now
    return int(row.user_id)


def end_session(session: Session, token: str, now: dt.datetime | None = None) -> None:
    """Log out: this session can never be used again."""
    if isinstance(token, str) and token:
        session.execute(
            update(WebSession)
            .where(WebSession.token_hash == _digest(token), WebSession.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )


def end_user_sessions(session: Session, user_id: int, now: dt.datetime | None = None) -> int:
    """End every session of a user (password change, deactivation); returns how many."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """Whether a login may be tried now, and if not until when."""

    locked_until: dt.datetime | None

    def retry_after(self, now: dt.datetime) -> int:
        """Whole seconds until the next attempt is allowed (0: now)."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return int((self.locked_until - now).total_seconds()) + 1


def _keys(username: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"account:{username.strip().lower()[:180]}", FREE_ATTEMPTS_ACCOUNT)]
    if address:
        keys.append((f"address:{address[:180]}", FREE_ATTEMPTS_ADDRESS))
    return keys


def throttle_state(
    session: Session, username: str, address: str | None, now: dt.datetime | None = None
) -> ThrottleState:
    """The latest lock over the account name and the address (None: may try now)."""
    now = now or utcnow()
    latest: dt.datetime | None = None
    for key, _free in _keys(username, address):
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            latest = row.locked_until if latest is None else max(latest, row.locked_until)
    return ThrottleState(latest)


def _lock_for(failures: int, free: int) -> dt.timedelta | None:
    if failures < free:
        return None
    seconds = FIRST_LOCK.total_seconds() * 2 ** min(failures - free, 20)
    return min(dt.timedelta(seconds=seconds), MAX_LOCK)


def record_login_failure(
    session: Session, username: str, address: str | None, now: dt.datetime | None = None
) -> ThrottleState:
    """Count a failed login against the account name and the address; lock with backoff."""
    now = now or utcnow()
    for key, free in _keys(username, address):
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
        elif now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        lock = _lock_for(row.failures, free)
        row.locked_until = now + lock if lock else None
    session.flush()
    return throttle_state(session, username, address, now)


def clear_throttle(session: Session, username: str, address: str | None = None) -> None:
    """A successful login (or an admin's password reset or ``pedbone user unlock``) clears the
    account's count. The address count is kept unless ``address`` is given: signing in to
    one's own account must not reset guessing at others' from the same address."""
    keys = [key for key, _free in _keys(username, address)]
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
