"""Messages kept in the signed session cookie for the next page a browser shows, once."""

from __future__ import annotations

from fastapi import Request

_KEY = "flash"
KINDS = ("notice", "error")


def flash(request: Request, message: str, kind: str = "notice") -> None:
    """Keep `message` for the next page this browser shows (once)."""
    kept: list[list[str]] = list(request.session.get(_KEY, []))
    kept.append([kind if kind in KINDS else "notice", message])
    request.session[_KEY] = kept[-5:]  # a cookie is small: the last few are enough


def flashes(request: Request) -> list[tuple[str, str]]:
    """The messages kept for this page, forgotten once read (templates call it)."""
    if _KEY not in request.session:
        return []
    return [(kind, message) for kind, message in request.session.pop(_KEY)]
