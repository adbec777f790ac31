"""Organizers' page and API for a competition's audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admin.audit import service
from app.admin.audit.schemas import Action, AuditOut
from app.admin.dependencies import API_PATH, PAGES_PATH
from app.admin.paging import PageNumber, page_url
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.core.db import SessionDep
from app.core.templating import templates

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)


@api.get("/audit", response_model=list[AuditOut])
def audit_api(
    session: SessionDep, competition: CompetitionDep, _: ApiOrganizer, action: Action = None
) -> Any:
    """The competition's audit log, newest first (200 entries at most)."""
    return [
        AuditOut(id=e.id, at=e.created_at, actor=who, action=e.action, detail=e.detail)
        for e, who in service.audit_log(session, competition, action=action)
    ]


@pages.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    action: Action = None,
    page: PageNumber = 1,
) -> Response:
    """The log, newest first, a page at a time, people and submissions named and linked."""
    context = {
        "competition": competition,
        "user": user,
        "action": action or "",
        "page": service.audit_page(session, competition, page, action=action),
        "path": f"/competitions/{competition.slug}/admin/audit",
        "filters": {"action": action or ""},
        "page_url": page_url,
    }
    return templates.TemplateResponse(request, "admin/audit.html", context)
