"""Organizers' page and API for a competition's settings and Markdown pages (organizers only;
403 for anyone else, a sign-in for anonymous visitors of the page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.admin import settings_service as service
from app.admin.settings_service import MAX_PAGE, MAX_POINTS, MAX_TITLE, PAGES, SettingsChange
from app.competitions.dependencies import ApiOrganizer, CompetitionDep, Organizer, organizer_page
from app.core.csrf import verify_csrf
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.core.openapi import BODY_ERRORS, ORGANIZER_ERRORS, problems
from app.core.templating import templates
from app.models.competition import Competition
from app.models.user import User

pages = APIRouter(prefix="/competitions/{slug}/admin")
api = APIRouter(
    prefix="/api/v1/admin/competitions/{slug}", tags=["admin"], responses=ORGANIZER_ERRORS
)
# The organizer first: an anonymous visitor is sent to sign in, whatever the form holds.
ORGANIZER_FORM = [Depends(organizer_page), Depends(verify_csrf)]

_EXAMPLE: dict[str, Any] = {
    "slug": "mico",
    "title": "MICO: Microsoft Membership Inference Competition",
    "requires_approval": False,
    "points_per_model": 200,
    "points_per_model_locked": True,
    "registrations": 42,
    "overview_md": "Attack the published models: ...",
    "data_md": "Each model comes with 200 challenge points ...",
    "evaluation_md": "Ranked by the mean TPR at 10% FPR over each track's scenarios.",
    "terms_md": "By taking part you agree to play fair ...",
}


class SettingsOut(BaseModel):
    """A competition's settings and Markdown pages (the Markdown source)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    slug: str
    title: str
    requires_approval: bool
    points_per_model: int
    points_per_model_locked: bool = Field(
        description="true once ground truth is stored: points per model can no longer change"
    )
    registrations: int = Field(description="participants registered, under the terms of then")
    overview_md: str
    data_md: str
    evaluation_md: str
    terms_md: str


class SettingsIn(BaseModel):
    """Settings to change; those left out stay as they are. Pages are Markdown (raw HTML is
    shown as text; the result is sanitised) of at most 100,000 characters each."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"title": "MICO 2027", "requires_approval": True},
                {"terms_md": "## Terms\n\nNo use of the hidden labels. One account per person."},
            ]
        },
    )

    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    requires_approval: bool | None = None
    points_per_model: int | None = Field(
        None, ge=1, le=MAX_POINTS, description="refused (409) once ground truth is stored"
    )
    overview_md: str | None = Field(None, max_length=MAX_PAGE)
    data_md: str | None = Field(None, max_length=MAX_PAGE)
    evaluation_md: str | None = Field(None, max_length=MAX_PAGE)
    terms_md: str | None = Field(
        None,
        max_length=MAX_PAGE,
        description="participants registered already keep having accepted the earlier terms",
    )


class SettingsSaved(SettingsOut):
    """The settings after a change, and the fields it changed."""

    changed: list[str] = Field(description="names of the fields that changed; [] when none")


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
        session, competition, user, SettingsChange(**body.model_dump(exclude_none=True))
    )
    return {**_out(session, competition), "changed": changed}


def _page(
    request: Request,
    session: SessionDep,
    competition: Competition,
    user: User,
    form: SettingsChange | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The settings form, holding what was sent when it comes back with an error or a preview."""
    values = form or SettingsChange(
        **{key: getattr(competition, key) for key in ("title", "requires_approval", *PAGES)}
    )
    context = {
        "competition": competition,
        "user": user,
        "form": values,
        "pages": PAGES,
        "max_page": MAX_PAGE,
        "max_title": MAX_TITLE,
        "truth_rows": service.truth_rows(session, competition),
        "registrations": service.registrations_count(session, competition),
        **extra,
    }
    return templates.TemplateResponse(request, "admin/settings.html", context, status_code=status)


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
    """The form; after a save, which fields changed (only known names are echoed)."""
    known = {"none", "points_per_model", "requires_approval", "title", *PAGES}
    saved = [n for n in request.query_params.get("saved", "").split(",") if n in known]
    return _page(request, session, competition, user, saved=saved)


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
        session.rollback()
        return _page(
            request,
            session,
            competition,
            user,
            form,
            exc.status_code,
            error=exc.message,
            errors=exc.errors or [],
        )
    saved = ",".join(changed) or "none"
    return RedirectResponse(
        f"/competitions/{competition.slug}/admin/settings?saved={saved}", status_code=303
    )


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
    return _page(
        request,
        session,
        competition,
        user,
        form,
        preview=service.preview(form),
        errors=found,
        error="not saved yet: fix these before saving" if found else None,
    )
