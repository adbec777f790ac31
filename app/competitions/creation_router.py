"""Creating a competition from a definition and its ground truth, by API and in the browser:
organizers and admins only; a preview first, stored nothing until Create.

The page is stateless across web processes: its preview carries the definition's text and
the truth zip (base64, with the zip's SHA-256) in hidden fields, and Create reads, checks and
previews them again from scratch (nothing the preview said is trusted). Both routes read
their body themselves, after the user is known, within TRUTH_UPLOAD_MAX_BYTES (a 413 that
names the limit, where the application-wide bound would answer a bare "Content Too Large").
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from app.competitions import creation
from app.competitions.creation_inputs import (
    ApiCreator,
    Creator,
    File,
    Upload,
    create_for,
    files_plan,
    read_form,
    required_files,
    sha256,
    truth_max_bytes,
)
from app.competitions.creation_schemas import CreationOut, creation_out
from app.core.csrf import verify_csrf
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid
from app.core.forms import done, refused
from app.core.openapi import problems
from app.core.templating import templates
from app.models.user import User
from app.scoring import schema

pages = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["competitions"])
PAGE = "/competitions/new"
TEMPLATE = "competitions/new.html"
UNBOUNDED = 2**62  # the framework's body limit steps aside: `read_form` applies its own
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`preview=true`: what would be created; nothing stored",
        "model": CreationOut,
    },
    **problems(
        401,
        403,
        409,
        413,
        422,
        _403="the token's owner is not an organizer or admin",
        _409="a competition with this slug exists already",
        _413="a file over its bound (TRUTH_UPLOAD_MAX_BYTES for the zip); the message says it",
        _422="a file is not valid: `detail` names the file and the field (`errors` lists every "
        "problem of the zip); nothing was stored",
    ),
}
# Read by `read_form` (never past the bound), so documented here rather than by parameters.
CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "definition": {
                            "type": "string",
                            "format": "binary",
                            "description": "the definition, JSON or YAML (.yaml/.yml), at most "
                            f"{schema.MAX_FILE_BYTES:,} bytes",
                        },
                        "truth": {
                            "type": "string",
                            "format": "binary",
                            "description": "the ground truth, a zip in the definition's label "
                            "layout (train labels, if there, are checked and not stored)",
                        },
                        "slug": {"type": "string", "description": "default: the definition's"},
                        "title": {"type": "string", "description": "default: the definition's"},
                        "preview": {
                            "type": "boolean",
                            "default": False,
                            "description": "true: answer what would be created, store nothing",
                        },
                    },
                    "required": ["definition", "truth"],
                }
            }
        },
    }
}


async def api_form(request: Request) -> Upload:
    """The API's form: two files and a few text fields."""
    return await read_form(request)


async def page_form(request: Request) -> Upload:
    """The page's form: files, or the preview's carried copies of them in text fields."""
    return await read_form(request, carried=True)


ApiForm = Annotated[Upload, Depends(api_form)]
PageForm = Annotated[Upload, Depends(page_form)]


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text not in TRUE + FALSE:
        raise Invalid(f"{name} must be true or false, not '{text[:20]}'")
    return text in TRUE


def _competition_url(request: Request, slug: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/competitions/{slug}"


@api.post(
    "/competitions",
    status_code=201,
    response_model=CreationOut,
    responses=CREATE_ERRORS,
    openapi_extra=CREATE_BODY,
    max_body_size=UNBOUNDED,
)
def create_api(
    request: Request, response: Response, session: SessionDep, user: ApiCreator, form: ApiForm
) -> Any:
    """A new competition from a definition file and its ground truth (multipart fields
    `definition` and `truth`; `slug` and `title` default to the definition's): 201 with what
    was stored and its URL, the token's owner listed as an organizer. With `preview=true`, 200
    with what would be stored, and nothing is. Every refusal names the file and stores nothing.
    """
    definition, truth = required_files(form, truth_max_bytes(request))
    fields = form.fields
    plan = files_plan(
        session, definition, truth, slug=fields.get("slug"), title=fields.get("title")
    )
    if _flag(fields.get("preview"), "preview"):
        return JSONResponse(creation_out(plan).model_dump(mode="json"), 200)
    create_for(session, plan, user)
    url = _competition_url(request, plan.slug)
    response.headers["Location"] = url
    return creation_out(plan, url)


@pages.get(PAGE)
def new_page(request: Request, user: Creator) -> Response:
    """The form: a definition file, a truth zip, a slug and title (optional)."""
    return templates.TemplateResponse(request, TEMPLATE, _context(request, user))


@pages.post(PAGE, max_body_size=UNBOUNDED)
def new_submit(request: Request, session: SessionDep, user: Creator, form: PageForm) -> Response:
    """Preview (the page again, with what was found and a Create button) or Create (stored,
    then the new competition's page); a refusal shows the form again with the error."""
    fields = form.fields
    create = fields.get("action") == "create"
    carried: dict[str, str] = {}
    try:
        verify_csrf(request, fields.get("csrf_token", ""))
        definition, truth = _page_files(form, truth_max_bytes(request), create)
        carried = _carry(definition, truth)
        plan = files_plan(
            session, definition, truth, slug=fields.get("slug"), title=fields.get("title")
        )
        if not create:
            shown = _context(request, user, fields, carried, plan)
            return templates.TemplateResponse(request, TEMPLATE, shown)
        create_for(session, plan, user)
    except DomainError as exc:
        return _refused(request, session, user, exc, fields, carried)
    return done(request, f"/competitions/{plan.slug}", _created(plan))


def _page_files(form: Upload, limit: int, create: bool) -> tuple[File, File]:
    """The files of the page's form: those chosen, else the preview's carried copies; Create
    takes the carried ones only (what was previewed), checked by the zip's SHA-256."""
    if create and form.files:
        raise Invalid("you chose other files after the preview: preview them before creating")
    fields = form.fields
    chosen = dict(form.files)
    if "definition" not in chosen and fields.get("definition_text"):
        text = fields["definition_text"].encode()
        chosen["definition"] = File(fields.get("definition_name") or "definition.json", text)
    if "truth" not in chosen and fields.get("truth_b64"):
        chosen["truth"] = _carried_truth(fields)
    return required_files(Upload(chosen, fields), limit)


def _carried_truth(fields: dict[str, str]) -> File:
    """The truth zip the preview carried, refused unless it is the one previewed."""
    try:
        data = base64.b64decode(fields["truth_b64"], validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data or sha256(data) != fields.get("truth_sha256"):
        raise Invalid("the previewed truth zip came back damaged; choose it again and preview")
    return File(fields.get("truth_name") or "truth.zip", data)


def _carry(definition: File, truth: File) -> dict[str, str]:
    """The hidden fields that carry both files to the next step (nothing kept on the server)."""
    try:
        text = definition.data.decode("utf-8")
    except UnicodeDecodeError:
        return {}  # refused as not UTF-8 text: the organizer chooses another file
    return {
        "definition_name": definition.name,
        "definition_text": text,
        "truth_name": truth.name,
        "truth_b64": base64.b64encode(truth.data).decode("ascii"),
        "truth_sha256": sha256(truth.data),
    }


def _context(
    request: Request,
    user: User,
    fields: dict[str, str] | None = None,
    carried: dict[str, str] | None = None,
    plan: creation.Preview | None = None,
) -> dict[str, Any]:
    fields = fields or {}
    return {
        "user": user,
        "slug": fields.get("slug", ""),
        "title": fields.get("title", ""),
        "carried": carried or {},
        "plan": plan,
        "unlimited": creation.UNLIMITED,
        "max_truth_bytes": truth_max_bytes(request),
        "max_definition_bytes": schema.MAX_FILE_BYTES,
    }


def _refused(
    request: Request,
    session: Session,
    user: User,
    exc: DomainError,
    fields: dict[str, str],
    carried: dict[str, str],
) -> Response:
    context = _context(request, user, fields, carried)
    return refused(request, session, TEMPLATE, exc, **context)


def _created(plan: creation.Preview) -> str:
    """The notice on the new competition's page."""
    tracks = ", ".join(t.title or t.name for t in plan.tracks)
    opened = next((p.name for p in plan.phases if p.opens_now), None)
    state = f"{opened} is open" if opened else "no phase is open yet"
    return (
        f"{plan.title} is created ({tracks}); {state}. You are one of its organizers: its "
        "pages and phases are under Admin."
    )
