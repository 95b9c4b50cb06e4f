"""The one error hierarchy of the domain. No HTTP in it: drivers map these once."""

from __future__ import annotations

import attrs


@attrs.frozen
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of every error a caller can provoke; its message is safe to show."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (duplicate key, last owner, ...)."""

    code = "conflict"


class PermissionDenied(DomainError):
    code = "permission_denied"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"


class Expired(DomainError):
    """The thing asked for existed but can no longer be used (expired or used token)."""

    code = "expired"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class Unavailable(DomainError):
    """What the request needs is not there now: a provider not configured (the message
    names the setting), or one that failed or is throttled. ``retry_after``: seconds to
    wait before trying again, when known."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    code = "validation_failed"

    def __init__(self, errors: list[FieldError]) -> None:
        if not errors:
            raise ValueError("ValidationFailed needs at least one field error")
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])
