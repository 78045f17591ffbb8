"""Password policy: one check for the CLI, the admin page and the API alike.

Following [NIST80063B4] (memorized secrets) and [OWASPASVS4] (V2.1): a password used as the only
factor has at least 15 characters; at least 64 are accepted and every printable character
(spaces too) is allowed; no composition rules; it is refused when it is a commonly used
password (the shipped blocklist, see ``data/passwords/PROVENANCE.md``), when it is made of one
repeated or sequential run of characters, or when it contains context words: the user name,
the person's name or the application's name. These are software rules, not clinical numbers.
"""

from __future__ import annotations

import itertools
from functools import cache
from importlib import resources
from typing import Final

from pedbone.store._errors import ValidationError

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "check_password", "is_common_password"]

#: Single-factor passwords: at least 15 characters [NIST80063B4].
MIN_PASSWORD_LENGTH: Final = 15
#: Longest accepted (NIST: at least 64 must be allowed); bounds the hashing work per attempt.
MAX_PASSWORD_LENGTH: Final = 256
#: Words about this service that must not appear in its passwords.
SERVICE_WORDS: Final = ("pedbone",)


@cache
def _blocklist() -> frozenset[str]:
    path = resources.files("pedbone") / "data" / "passwords" / "common-passwords.txt"
    text = path.read_text(encoding="utf-8")
    return frozenset(w for w in text.splitlines() if w and not w.startswith("#"))


def _squash(text: str) -> str:
    """Lower case without spaces and punctuation (``Pass Word!`` -> ``password``)."""
    return "".join(c for c in text.lower() if c.isalnum())


def is_common_password(password: str) -> bool:
    """True if the password (or it without spaces/punctuation, or its leading word repeated)
    is on the blocklist."""
    words = _blocklist()
    low = password.lower()
    return low in words or low.strip() in words or _squash(password) in words


def _run(text: str) -> bool:
    """One character repeated, or one sequence (``abcdef…``, ``987654…``)."""
    if len(set(text)) <= 2:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def _common_with_padding(squashed: str) -> bool:
    """A common password padded with a run of digits or letters (``password1234567890``,
    ``2024dragon0000``)."""
    words = _blocklist()
    for start in range(len(squashed)):
        for end in range(len(squashed), start + 3, -1):
            core = squashed[start:end]
            if core in words:
                pads = [p for p in (squashed[:start], squashed[end:]) if p]
                if all(len(p) < 3 or p.isdigit() or _run(p) or _repeated_unit(p) for p in pads):
                    return True
    return False


def _repeated_unit(text: str) -> str | None:
    """The shorter string the password repeats (``passwordpassword`` -> ``password``)."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def check_password(password: str, *, username: str = "", full_name: str = "") -> None:
    """Raise :class:`ValidationError` (``password: reason``) unless the password is acceptable.

    >>> check_password("correct horse battery staple", username="dirk")
    >>> check_password("password1234567890")
    Traceback (most recent call last):
    ...
    pedbone.store._errors.ValidationError: password: is a commonly used password ...
    """
    if not isinstance(password, str):
        raise ValidationError("password: must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"password: must have at most {MAX_PASSWORD_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise ValidationError("password: must not contain control characters")
    squashed = _squash(password)
    unit = _repeated_unit(squashed)
    common = "password: is a commonly used password (choose a longer phrase of unrelated words)"
    if (
        is_common_password(password)
        or (unit is not None and unit in _blocklist())
        or _common_with_padding(squashed)
    ):
        raise ValidationError(common)
    if _run(squashed) or (unit is not None and len(unit) <= 3):
        raise ValidationError("password: is a repeated or sequential run of characters")
    for word in (*SERVICE_WORDS, username):
        w = _squash(word)
        if len(w) >= 3 and w in squashed:
            raise ValidationError("password: must not contain the user name or the service name")
    names = [_squash(part) for part in full_name.split()]
    if any(len(n) >= 4 and n in squashed for n in names) or (
        full_name and _squash(full_name) == squashed
    ):
        raise ValidationError("password: must not contain the person's name")
