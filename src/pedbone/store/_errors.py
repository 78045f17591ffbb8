"""Exceptions raised by the store."""

from __future__ import annotations

__all__ = ["BusyError", "ConflictError", "PermissionDeniedError", "StoreError", "ValidationError"]


class StoreError(Exception):
    """Base class of every store error; the message is meant for the user."""


class ConflictError(StoreError):
    """Someone else changed the record since it was read (optimistic locking)."""


class PermissionDeniedError(StoreError):
    """The acting user's role does not allow the operation."""


class ValidationError(StoreError, ValueError):
    """A field value is not acceptable; the message names the field and the reason."""


class BusyError(ConflictError):
    """The database was busy with another write for longer than the wait allows (SQLite's
    "database is locked"); nothing was saved and the same request may simply be repeated."""
