"""What a request to create a competition brings: who asks (organizers and admins only), and
its files, read within bounds and turned into a preview whose every refusal names the file.

Shared by the API and the page. A competition comes from one of two sources, one a request:
a definition and its truth zip (`files_plan`), or a CodaLab or Codabench bundle, with a truth
zip when it holds no reference data (`bundle_plan`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.auth.dependencies import ApiUser, SignedIn
from app.competitions import creation, registrations
from app.competitions.bundle_files import BUNDLE_LIMITS
from app.competitions.bundle_import import BundlePlan, create_from_bundle, plan_bundle
from app.core.errors import DomainError, Forbidden, Invalid, TooLarge
from app.core.sizes import size_text
from app.core.uploads import bounded_form
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.user import Role, User
from app.scoring import schema
from app.scoring.definition import Definition, DefinitionError
from app.scoring.problems import InvalidInput
from app.scoring.readers import read_truth_zip

CREATORS = (Role.ORGANIZER, Role.ADMIN)
FORM_OVERHEAD = 64 * 1024  # the form's text fields and boundaries
RESERVED_SLUGS = {"new"}  # /competitions/new is the creation page itself


def may_create(user: User | None) -> bool:
    """Whether this user may create competitions (templates show the link by it)."""
    return user is not None and user.role in CREATORS


def _require_creator(user: User) -> User:
    if not may_create(user):
        raise Forbidden("only organizers and admins may create competitions")
    return user


def creator_page(user: SignedIn) -> User:
    """The signed-in organizer or admin; a sign-in for anonymous visitors, 403 for others."""
    return _require_creator(user)


def creator_api(user: ApiUser) -> User:
    """The token's organizer or admin; 401 without a valid token, 403 for participants."""
    return _require_creator(user)


Creator = Annotated[User, Depends(creator_page)]
ApiCreator = Annotated[User, Depends(creator_api)]


def truth_max_bytes(request: Request) -> int:
    """The largest truth zip accepted: the server's TRUTH_UPLOAD_MAX_BYTES."""
    return int(request.app.state.settings.truth_upload_max_bytes)


def bundle_bound(truth_limit: int) -> int:
    """The largest bundle accepted: the bundle reader's bound (200 MB), or the server's
    TRUTH_UPLOAD_MAX_BYTES when that is smaller (its bound on any zip of a competition)."""
    return min(BUNDLE_LIMITS.max_zip_bytes, truth_limit)


def encoded_size(size: int) -> int:
    """The length of `size` bytes in base64 (the page carries the zip so between its steps)."""
    return 4 * ((size + 2) // 3)


def too_large(what: str, size: int | None, limit: int) -> TooLarge:
    """The 413 of an upload over `limit` (size None: a body of unknown length past it)."""
    is_ = f"is {size_text(size)}" if size is not None else "is larger"
    bundle = bundle_bound(limit)
    return TooLarge(
        f"{what} {is_}; a truth zip may be at most {size_text(limit)}, a bundle "
        f"{size_text(bundle)} and a definition {size_text(schema.MAX_FILE_BYTES)} (the "
        "server's TRUTH_UPLOAD_MAX_BYTES)"
    )


@dataclass(frozen=True)
class File:
    """An uploaded file: its name as sent, and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Upload:
    """A multipart body's files and text fields."""

    files: dict[str, File] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


async def read_form(request: Request, *, carried: bool = False) -> Upload:
    """The form's files and fields, never reading past the bound: refused by its
    Content-Length before a byte is read, or as soon as a body without one passes it.
    `carried`: text fields may hold a zip in base64 (the page's preview carries its files)."""
    limit = truth_max_bytes(request)  # the largest zip, truth or bundle (see `bundle_bound`)
    part = encoded_size(limit) + schema.MAX_FILE_BYTES if carried else FORM_OVERHEAD
    form = await bounded_form(
        request,
        bound=body_bound(limit, carried),
        too_large=lambda size: too_large("the upload", size, limit),
        not_multipart="send a multipart form with the files definition and truth "
        "(curl -F definition=@competition.yaml -F truth=@truth.zip), or with a bundle "
        "(curl -F bundle=@bundle.zip)",
        unreadable="",
        max_files=4,
        max_fields=16,
        max_part_size=part,
    )
    files, fields = {}, {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields[key] = value
        elif isinstance(value, UploadFile) and value.filename:  # a file input left empty
            files[key] = File(value.filename, await value.read())
    await form.close()
    return Upload(files, fields)


def body_bound(zip_bytes: int, carried: bool) -> int:
    """The most a form may send: two zips (a bundle and its truth zip) and a definition; on
    the page, the preview's base64 copies of both beside a zip chosen anew."""
    if carried:
        return 2 * encoded_size(zip_bytes) + zip_bytes + 2 * schema.MAX_FILE_BYTES + FORM_OVERHEAD
    return 2 * zip_bytes + schema.MAX_FILE_BYTES + FORM_OVERHEAD


def is_bundle(upload: Upload) -> bool:
    """Whether the upload is a bundle (else a definition and its truth zip); refused when it
    is both, since a request makes one competition from one source."""
    bundle, definition = "bundle" in upload.files, "definition" in upload.files
    if bundle and definition:
        raise Invalid(
            "the form has both a bundle and a definition: send either a bundle (with a truth "
            "zip only when it holds no reference data) or a definition and its truth zip"
        )
    return bundle


def required_files(upload: Upload, limit: int) -> tuple[File, File]:
    """The definition and truth files of an upload, each within its bound."""
    missing = [n for n in ("definition", "truth") if n not in upload.files]
    if missing:
        raise Invalid(
            f"the form has no file {' and no file '.join(missing)}: send the definition "
            "(JSON or YAML) as definition and the ground truth (a zip) as truth, or a "
            "CodaLab or Codabench bundle (a zip) as bundle"
        )
    definition, truth = upload.files["definition"], upload.files["truth"]
    if len(definition.data) > schema.MAX_FILE_BYTES:
        raise too_large(definition.name, len(definition.data), limit)
    if len(truth.data) > limit:
        raise too_large(truth.name, len(truth.data), limit)
    return definition, truth


def bundle_files(upload: Upload, limit: int) -> tuple[File, File | None]:
    """The bundle of an upload and its truth zip if given, each within its bound."""
    if "bundle" not in upload.files:
        raise Invalid("the form has no file bundle: send the CodaLab or Codabench zip as bundle")
    bundle, truth = upload.files["bundle"], upload.files.get("truth")
    if len(bundle.data) > bundle_bound(limit):
        raise too_large(bundle.name, len(bundle.data), limit)
    if truth is not None and len(truth.data) > limit:
        raise too_large(truth.name, len(truth.data), limit)
    return bundle, truth


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a file (the page checks the carried zip by it)."""
    return hashlib.sha256(data).hexdigest()


def read_definition(file: File) -> Definition:
    """The definition a file holds; Invalid naming the file and the field otherwise."""
    try:
        return schema.loads(file.data, file.name)
    except DefinitionError as exc:
        raise Invalid(f"{file.name}: {exc}") from None


def files_plan(
    session: Session,
    definition_file: File,
    truth_file: File,
    *,
    slug: str | None = None,
    title: str | None = None,
) -> creation.Preview:
    """What the definition and truth zip would create, checked whole and stored nowhere;
    Invalid (or Conflict for a slug in use) naming the file and the fault."""
    definition = read_definition(definition_file)
    try:
        creation.phases_found(definition)
    except Invalid as exc:
        raise Invalid(f"{definition_file.name}: {exc.message}") from None
    try:
        labels = read_truth_zip(truth_file.data, truth_file.name, definition=definition)
    except InvalidInput as exc:
        raise Invalid(
            f"{truth_file.name}: not valid ground truth for {definition_file.name} "
            f"({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}); "
            "nothing was stored",
            errors=[str(p) for p in exc.problems],
        ) from None
    try:
        plan = creation.preview(session, definition, labels, slug=slug or None, title=title or None)
    except DomainError as exc:
        if not exc.message.startswith("the ground truth"):
            raise
        raise type(exc)(f"{truth_file.name}: {exc.message}", errors=exc.errors) from None
    _check_slug(plan.slug)
    return plan


def bundle_plan(
    session: Session,
    bundle: File,
    truth: File | None,
    *,
    slug: str | None = None,
    title: str | None = None,
) -> BundlePlan:
    """What the bundle (with the truth zip, if given) would create, checked whole and stored
    nowhere; BundleRefused, Invalid or Conflict naming the file and the fault."""
    plan = plan_bundle(
        session,
        bundle.data,
        bundle.name,
        slug=slug or None,
        title=title or None,
        truth=(truth.data, truth.name) if truth else None,
    )
    _check_slug(plan.preview.slug)
    return plan


def _check_slug(slug: str) -> None:
    if slug in RESERVED_SLUGS:
        raise Invalid(f"the slug '{slug}' is reserved for this server's pages; choose another")


def create_for(session: Session, plan: creation.Preview, user: User) -> Competition:
    """Store the previewed competition, audited as the user's, with the user among its
    organizers."""
    competition = creation.create(session, plan, utcnow(), user)
    registrations.add_organizer(session, competition, user, user)
    return competition


def create_bundle_for(session: Session, plan: BundlePlan, user: User) -> Competition:
    """Store the previewed bundle's competition, audited as the user's, with the user among
    its organizers."""
    competition = create_from_bundle(session, plan, utcnow(), user)
    registrations.add_organizer(session, competition, user, user)
    return competition
