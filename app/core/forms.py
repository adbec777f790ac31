"""How every browser form ends: a success redirects (POST-redirect-GET) with a notice that the
next page shows once; a refusal rolls back what the handler flushed and shows the form again
with the error, so a reload never repeats what was done and a refused form stores nothing."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from app.core.errors import DomainError
from app.core.flash import flash
from app.core.templating import templates

__all__ = ["done", "flash", "refused"]


def done(request: Request, url: str, message: str | None = None) -> RedirectResponse:
    """A successful form: go to `url` (a GET) and say there what happened."""
    if message:
        flash(request, message)
    return RedirectResponse(url, status_code=303)


def refused(
    request: Request,
    session: Session,
    template: str,
    exc: DomainError,
    **context: Any,
) -> HTMLResponse:
    """A refused form: undo what was flushed, then the form again with the error (and every
    problem), answered with the error's status."""
    session.rollback()
    context.setdefault("error", exc.message)
    context.setdefault("errors", exc.errors or [])
    return templates.TemplateResponse(request, template, context, status_code=exc.status_code)
