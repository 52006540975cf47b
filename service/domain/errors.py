"""Domain errors. They carry no HTTP status: ``service/errors.py`` holds the one mapping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class DomainError(Exception):
    """Base of every rule violation. ``slug`` names the problem type."""

    slug = "domain-error"
    title = "Domain rule violated"

    def __init__(self, detail: str, *, errors: Sequence[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.extra = extra


class NotFound(DomainError):
    slug = "not-found"
    title = "Resource not found"


class Conflict(DomainError):
    slug = "conflict"
    title = "Conflict with the current state"


class Duplicate(Conflict):
    slug = "duplicate"
    title = "Resource already exists"


class IllegalTransition(Conflict):
    slug = "invalid-transition"
    title = "Transition not allowed"

    def __init__(self, detail: str, *, allowed: Iterable[str] = (), **extra: Any):
        super().__init__(detail, allowed=sorted(allowed), **extra)


class InvalidInput(DomainError):
    """Well-formed but invalid (422). ``errors`` lists ``{"loc": [...], "msg": ...}``."""

    slug = "validation-error"
    title = "Invalid input"

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str) -> InvalidInput:
        return cls(msg, errors=[{"loc": list(loc), "msg": msg}])


class Unauthenticated(DomainError):
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    slug = "forbidden"
    title = "Not allowed for this token"


class PreconditionRequired(DomainError):
    slug = "precondition-required"
    title = "If-Match required"


class StaleVersion(DomainError):
    slug = "stale-version"
    title = "Version is stale"


class IdempotencyConflict(DomainError):
    """The same Idempotency-Key is still being processed."""

    slug = "idempotency-in-flight"
    title = "Request with this Idempotency-Key is in flight"


class IdempotencyMismatch(DomainError):
    """The same Idempotency-Key was used with a different request body."""

    slug = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"
