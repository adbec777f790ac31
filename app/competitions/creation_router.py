"""Creating a competition, by API and in the browser, from a definition and its ground truth
or from a CodaLab or Codabench bundle: organizers and admins only; a preview first, stored
nothing until Create.

The page is stateless across web processes: its preview carries the files (the definition's
text; each zip in base64, with its SHA-256) in hidden fields, and Create reads, checks and
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
from app.competitions.bundle_files import BUNDLE_LIMITS
from app.competitions.bundle_import import BundlePlan
from app.competitions.creation_inputs import (
    ApiCreator,
    Creator,
    File,
    Upload,
    bundle_bound,
    bundle_files,
    bundle_plan,
    create_bundle_for,
    create_for,
    files_plan,
    is_bundle,
    read_form,
    required_files,
    sha256,
    truth_max_bytes,
)
from app.competitions.creation_schemas import (
    CreationOut,
    bundle_out,
    creation_out,
    is_running,
    pages_found,
)
from app.core.csrf import verify_csrf
from app.core.db import SessionDep
from app.core.errors import DomainError, Invalid
from app.core.forms import done, refused
from app.core.openapi import problems
from app.core.templating import templates
from app.models.base import utcnow
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
        _413="a file over its bound (TRUTH_UPLOAD_MAX_BYTES for a zip); the message says it",
        _422="a file is not valid, or the form has both a bundle and a definition: `detail` "
        "names the file and the field (`errors` lists every problem of the zip or bundle); "
        "nothing was stored",
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
                            f"{schema.MAX_FILE_BYTES:,} bytes; sent with `truth`, never with "
                            "`bundle`",
                        },
                        "truth": {
                            "type": "string",
                            "format": "binary",
                            "description": "the ground truth, a zip in the definition's label "
                            "layout (train labels, if there, are checked and not stored); with "
                            "a bundle, only for one without its reference data",
                        },
                        "bundle": {
                            "type": "string",
                            "format": "binary",
                            "description": "instead of `definition`: a CodaLab or Codabench "
                            "bundle (a zip, MICO's or MIDST's) with its pages, phases and "
                            "leaderboard columns, at most "
                            f"{BUNDLE_LIMITS.max_zip_bytes // 2**20} MB (and "
                            "TRUTH_UPLOAD_MAX_BYTES); "
                            "the answer says what it maps to (`mapping`) and what of it is "
                            "not imported (`warnings`); its scoring program is never run",
                        },
                        "slug": {
                            "type": "string",
                            "description": "default: the definition's (a bundle's: with its "
                            "track, e.g. mico-cifar10)",
                        },
                        "title": {
                            "type": "string",
                            "description": "default: the definition's (the bundle's)",
                        },
                        "preview": {
                            "type": "boolean",
                            "default": False,
                            "description": "true: answer what would be created, store nothing",
                        },
                    },
                    "oneOf": [
                        {"required": ["definition", "truth"]},
                        {"required": ["bundle"]},
                    ],
                }
            }
        },
    }
}


async def api_form(request: Request) -> Upload:
    """The API's form: the files and a few text fields."""
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
    `definition` and `truth`), or from a CodaLab or Codabench bundle (`bundle`, with `truth`
    only for a bundle without its reference data); `slug` and `title` default to the
    definition's (the bundle's). 201 with what was stored and its URL, the token's owner listed
    as an organizer. With `preview=true`, 200 with what would be stored, and nothing is. One
    source a request; every refusal names the file and stores nothing.
    """
    fields = form.fields
    preview = _flag(fields.get("preview"), "preview")
    slug, title = fields.get("slug"), fields.get("title")
    limit = truth_max_bytes(request)
    if is_bundle(form):
        bundle, truth = bundle_files(form, limit)
        imported = bundle_plan(session, bundle, truth, slug=slug, title=title)
        if preview:
            return _previewed(bundle_out(imported, utcnow()))
        create_bundle_for(session, imported, user)
        url = _competition_url(request, imported.preview.slug)
        answer = bundle_out(imported, utcnow(), url)
    else:
        definition, truth_zip = required_files(form, limit)
        plan = files_plan(session, definition, truth_zip, slug=slug, title=title)
        if preview:
            return _previewed(creation_out(plan))
        create_for(session, plan, user)
        url = _competition_url(request, plan.slug)
        answer = creation_out(plan, url)
    response.headers["Location"] = url
    return answer


def _previewed(answer: CreationOut) -> JSONResponse:
    """A preview's answer: 200, as nothing was created."""
    return JSONResponse(answer.model_dump(mode="json"), 200)


@pages.get(PAGE)
def new_page(request: Request, user: Creator) -> Response:
    """The form: a definition file and a truth zip, or a bundle; a slug and title (optional)."""
    return templates.TemplateResponse(request, TEMPLATE, _context(request, user))


@pages.post(PAGE, max_body_size=UNBOUNDED)
def new_submit(request: Request, session: SessionDep, user: Creator, form: PageForm) -> Response:
    """Preview (the page again, with what was found and a Create button) or Create (stored,
    then the new competition's page), of the form sent: its `way` says which (`bundle`, else
    the definition and truth); a refusal shows the form again with the error."""
    fields = form.fields
    way = "bundle" if fields.get("way") == "bundle" else "files"
    step = _bundle_step if way == "bundle" else _files_step
    carried: dict[str, str] = {}
    try:
        verify_csrf(request, fields.get("csrf_token", ""))
        return step(request, session, user, form, carried)
    except DomainError as exc:
        context = _context(request, user, fields, carried, way=way)
        return refused(request, session, TEMPLATE, exc, **context)


def _files_step(
    request: Request, session: Session, user: User, form: Upload, carried: dict[str, str]
) -> Response:
    """The definition and truth zip previewed, or created; `carried` gets the hidden fields
    that keep the files as soon as they are read, so a refusal keeps them too."""
    fields = form.fields
    create = fields.get("action") == "create"
    definition, truth = _page_files(form, truth_max_bytes(request), create)
    carried.update(_carry(definition, truth))
    plan = files_plan(
        session, definition, truth, slug=fields.get("slug"), title=fields.get("title")
    )
    if not create:
        shown = _context(request, user, fields, carried, plan=plan)
        return templates.TemplateResponse(request, TEMPLATE, shown)
    create_for(session, plan, user)
    opened = next((p.name for p in plan.phases if p.opens_now), None)
    state = f"{opened} is open" if opened else "no phase is open yet"
    return done(request, f"/competitions/{plan.slug}", _created(plan, state))


def _bundle_step(
    request: Request, session: Session, user: User, form: Upload, carried: dict[str, str]
) -> Response:
    """The bundle (and its truth zip, if given) previewed, or created; as `_files_step`."""
    fields = form.fields
    create = fields.get("action") == "create"
    bundle, truth = _page_bundle(form, truth_max_bytes(request), create)
    carried.update(_carry_zip("bundle", bundle) | (_carry_zip("truth", truth) if truth else {}))
    imported = bundle_plan(
        session, bundle, truth, slug=fields.get("slug"), title=fields.get("title")
    )
    if not create:
        shown = _context(request, user, fields, carried, bundle=imported, way="bundle")
        return templates.TemplateResponse(request, TEMPLATE, shown)
    create_bundle_for(session, imported, user)
    now = utcnow()
    taking = (p.name for p in imported.phases if p.accepts_uploads and is_running(p, now))
    opened = next(taking, None)
    state = f"{opened} takes uploads" if opened else "no phase takes uploads now"
    notice = _created(imported.preview, state, f" from {bundle.name}")
    return done(request, f"/competitions/{imported.preview.slug}", notice)


def _page_files(form: Upload, limit: int, create: bool) -> tuple[File, File]:
    """The files of the page's form: those chosen, else the preview's carried copies; Create
    takes the carried ones only (what was previewed), checked by the zip's SHA-256."""
    chosen = _chosen(form, create)
    fields = form.fields
    if "definition" not in chosen and fields.get("definition_text"):
        text = fields["definition_text"].encode()
        chosen["definition"] = File(fields.get("definition_name") or "definition.json", text)
    _carried_zip(chosen, fields, "truth", "truth zip")
    return required_files(Upload(chosen, fields), limit)


def _page_bundle(form: Upload, limit: int, create: bool) -> tuple[File, File | None]:
    """The bundle (and truth zip) of the page's form, as `_page_files` takes them."""
    chosen = _chosen(form, create)
    _carried_zip(chosen, form.fields, "bundle", "bundle")
    _carried_zip(chosen, form.fields, "truth", "truth zip")
    return bundle_files(Upload(chosen, form.fields), limit)


def _chosen(form: Upload, create: bool) -> dict[str, File]:
    if create and form.files:
        raise Invalid("you chose other files after the preview: preview them before creating")
    return dict(form.files)


def _carried_zip(chosen: dict[str, File], fields: dict[str, str], key: str, what: str) -> None:
    """The zip the preview carried as `key`, unless one was chosen; refused unless it is the
    one previewed."""
    if key in chosen or not fields.get(f"{key}_b64"):
        return
    try:
        data = base64.b64decode(fields[f"{key}_b64"], validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not data or sha256(data) != fields.get(f"{key}_sha256"):
        raise Invalid(f"the previewed {what} came back damaged; choose it again and preview")
    chosen[key] = File(fields.get(f"{key}_name") or f"{key}.zip", data)


def _carry(definition: File, truth: File) -> dict[str, str]:
    """The hidden fields that carry both files to the next step (nothing kept on the server)."""
    try:
        text = definition.data.decode("utf-8")
    except UnicodeDecodeError:
        return {}  # refused as not UTF-8 text: the organizer chooses another file
    return {
        "definition_name": definition.name,
        "definition_text": text,
        **_carry_zip("truth", truth),
    }


def _carry_zip(key: str, file: File) -> dict[str, str]:
    """The hidden fields that carry a zip: its name, its bytes in base64, their SHA-256."""
    return {
        f"{key}_name": file.name,
        f"{key}_b64": base64.b64encode(file.data).decode("ascii"),
        f"{key}_sha256": sha256(file.data),
    }


def _context(
    request: Request,
    user: User,
    fields: dict[str, str] | None = None,
    carried: dict[str, str] | None = None,
    *,
    plan: creation.Preview | None = None,
    bundle: BundlePlan | None = None,
    way: str = "files",
) -> dict[str, Any]:
    """The page's context: both forms, the one sent (`way`) with its values and kept files,
    and its preview if any."""
    fields = fields or {}
    limit = truth_max_bytes(request)
    return {
        "user": user,
        "way": way,
        "slug": fields.get("slug", ""),
        "title": fields.get("title", ""),
        "carried": carried or {},
        "plan": plan,
        "bundle_plan": bundle,
        "bundle_pages": pages_found(bundle) if bundle else [],
        "now": utcnow(),
        "is_running": is_running,
        "unlimited": creation.UNLIMITED,
        "max_truth_bytes": limit,
        "max_bundle_bytes": bundle_bound(limit),
        "max_definition_bytes": schema.MAX_FILE_BYTES,
    }


def _created(plan: creation.Preview, state: str, source: str = "") -> str:
    """The notice on the new competition's page (`state`: which phase is open, if one is)."""
    tracks = ", ".join(t.title or t.name for t in plan.tracks)
    return (
        f"{plan.title} is created{source} ({tracks}); {state}. You are one of its organizers: "
        "its pages and phases are under Admin."
    )
