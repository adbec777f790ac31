"""The project's own errors: each carries the HTTP status it means, and a message to act on."""

from __future__ import annotations


class DomainError(Exception):
    """An expected fault a person can fix; never a 500."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors  # every problem, when there are several (an invalid zip's)
        self.headers = headers or {}


class NotFound(DomainError):
    """The thing asked for does not exist (or the asker may not know it does)."""

    status_code = 404


class Conflict(DomainError):
    """The request clashes with what is stored, e.g. an email already registered."""

    status_code = 409


class Invalid(DomainError):
    """The request's content is wrong, e.g. a password too short."""

    status_code = 422


class Forbidden(DomainError):
    """The asker is known but may not do this (a banned participant, a non-organizer)."""

    status_code = 403


class TooLarge(DomainError):
    """The upload is over a size limit."""

    status_code = 413


class TooMany(DomainError):
    """A submission limit is reached; `Retry-After` says when it resets."""

    status_code = 429


class Unavailable(DomainError):
    """The server cannot take the request now; `Retry-After` says when to try again."""

    status_code = 503
