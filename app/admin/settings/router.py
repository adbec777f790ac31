"""Organizers' page and API for a competition's settings and Markdown pages (organizers only;
403 for anyone else, a sign-in for anonymous visitors of the page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.admin.dependencies import API_PATH, ORGANIZER_FORM, PAGES_PATH
from app.admin.settings import service
from app.admin.settings.schemas import SettingsIn, SettingsOut, SettingsSaved
from app.admin.settings.service import MAX_PAGE, MAX_TITLE, PAGES, SettingsChange
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.forms import done, refused
from app.core.openapi import BODY_ERRORS, problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.user import User

pages = APIRouter(prefix=PAGES_PATH)
api = APIRouter(prefix=API_PATH)


def _out(session: Session, competition: Competition) -> dict[str, Any]:
    return {
        "slug": competition.slug,
        "title": competition.title,
        "requires_approval": competition.requires_approval,
        "points_per_model": competition.points_per_model,
        "points_per_model_locked": service.truth_rows(session, competition) > 0,
        "registrations": service.registrations_count(session, competition),
        **{page: getattr(competition, page) for page in PAGES},
    }


@api.get("/settings", response_model=SettingsOut)
def settings_api(session: SessionDep, competition: CompetitionDep, _: ApiOrganizer) -> Any:
    """The competition's settings and the Markdown source of its pages."""
    return _out(session, competition)


@api.patch(
    "/settings",
    response_model=SettingsSaved,
    responses={
        **BODY_ERRORS,
        **problems(409, _409="points per model, once ground truth is stored"),
    },
)
def change_settings_api(
    body: SettingsIn, session: SessionDep, competition: CompetitionDep, user: ApiOrganizer
) -> Any:
    """Change settings or pages: all or nothing (422 naming every fault); 409 for points per
    model once ground truth is stored. The audit log records which fields changed."""
    changed = service.change_settings(
        session, competition, user, SettingsChange(**body.model_dump(exclude_unset=True))
    )
    return {**_out(session, competition), "changed": changed}


def _context(
    session: SessionDep, competition: Competition, user: User, form: SettingsChange | None = None
) -> dict[str, Any]:
    """The settings form, holding what was sent when it comes back with an error or a preview."""
    values = form or SettingsChange(
        **{key: getattr(competition, key) for key in ("title", "requires_approval", *PAGES)}
    )
    return {
        "competition": competition,
        "user": user,
        "form": values,
        "pages": PAGES,
        "max_page": MAX_PAGE,
        "max_title": MAX_TITLE,
        "truth_rows": service.truth_rows(session, competition),
        "registrations": service.registrations_count(session, competition),
    }


def settings_form(
    title: Annotated[str, Form()] = "",
    requires_approval: Annotated[bool, Form()] = False,
    points_per_model: Annotated[int | None, Form()] = None,
    overview_md: Annotated[str, Form()] = "",
    data_md: Annotated[str, Form()] = "",
    evaluation_md: Annotated[str, Form()] = "",
    terms_md: Annotated[str, Form()] = "",
) -> SettingsChange:
    """The settings form as sent: every field (an unchecked box is False). No length limits
    here: the service refuses a field too long with a message, the text kept in the form."""
    return service.normalised(
        SettingsChange(
            title=title,
            requires_approval=requires_approval,
            points_per_model=points_per_model,
            overview_md=overview_md,
            data_md=data_md,
            evaluation_md=evaluation_md,
            terms_md=terms_md,
        )
    )


SettingsForm = Annotated[SettingsChange, Depends(settings_form)]


@pages.get("/settings")
def settings_page(
    request: Request, session: SessionDep, competition: CompetitionDep, user: Organizer
) -> Response:
    """The form, holding the settings as they are."""
    context = _context(session, competition, user)
    return templates.TemplateResponse(request, "admin/settings.html", context)


@pages.post("/settings", dependencies=ORGANIZER_FORM)
def save_settings_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    form: SettingsForm,
) -> Response:
    """Save the form; with an error, the page again with the text as sent and the reason."""
    try:
        changed = service.change_settings(session, competition, user, form)
    except DomainError as exc:
        context = _context(session, competition, user, form)
        return refused(request, session, "admin/settings.html", exc, **context)
    url = f"/competitions/{competition.slug}/admin/settings"
    if not changed:
        return done(request, url, "Nothing had changed.")
    names = ", ".join(NAMES.get(n, n) for n in changed)
    return done(request, url, f"Saved: {names}. The competition's page shows it now.")


NAMES = {"title": "title", "requires_approval": "approval", "points_per_model": "points per model"}
NAMES.update({k: f"{v} page" for k, v in PAGES.items()})


@pages.post("/settings/preview", dependencies=ORGANIZER_FORM)
def preview_page(
    request: Request,
    session: SessionDep,
    competition: CompetitionDep,
    user: Organizer,
    form: SettingsForm,
) -> Response:
    """The form as sent, unsaved, with each page rendered as visitors would see it."""
    found = service.problems(form)
    context = {
        **_context(session, competition, user, form),
        "preview": service.preview(form),
        "errors": found,
        "error": "not saved yet: fix these before saving" if found else None,
    }
    return templates.TemplateResponse(request, "admin/settings.html", context)
