"""A competition created by API and on the page /competitions/new from a definition and its
ground truth: MIDST's black box, single table, beside MICO. A preview stores nothing; every
refusal names the file and the fault and stores nothing; only organizers and admins may."""

from __future__ import annotations

import html
import io
import re
import zipfile
from typing import Any

import httpx2 as httpx
from sqlalchemy import func, select

from app.core.config import Settings
from app.models.audit import AuditEntry
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.organizer import CompetitionOrganizer
from app.models.phase import Phase
from app.models.user import Role
from app.scoring import schema
from app.scoring.schema import MAX_FILE_BYTES
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf
from tests.fixtures.midst import BLACK_SINGLE, DEFINITIONS, TRACKS, needs_data, truth_zip

pytestmark = needs_data
API = "/api/v1/competitions"
DEFINITION = (DEFINITIONS / f"{BLACK_SINGLE}.yaml").read_bytes()
TRACK = TRACKS[BLACK_SINGLE][0]
MB = 1024 * 1024


def _post(
    arena: Arena,
    headers: dict[str, str],
    definition: bytes = DEFINITION,
    truth: bytes | None = None,
    **fields: str,
) -> httpx.Response:
    files = {
        "definition": ("definition.yaml", definition, "application/yaml"),
        "truth": (
            "truth.zip",
            truth if truth is not None else truth_zip(BLACK_SINGLE),
            "application/zip",
        ),
    }
    return arena.browser.post(API, headers=headers, files=files, data=fields)


def _stored(arena: Arena) -> tuple[int, int, int, int]:
    """Competitions, labels, phases and audit entries stored."""
    return tuple(  # type: ignore[return-value]
        arena.session.scalar(select(func.count()).select_from(model))
        for model in (Competition, GroundTruth, Phase, AuditEntry)
    )


def _organizer(arena: Arena, email: str = "org@example.org") -> dict[str, str]:
    return arena.participant(email, role=Role.ORGANIZER, register=False)[1]


def _without_final(data: bytes) -> bytes:
    kept = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as full, zipfile.ZipFile(kept, "w") as out:
        for info in full.infolist():
            if "/final/" not in info.filename:
                out.writestr(info, full.read(info))
    return kept.getvalue()


def test_a_preview_counts_what_was_found_and_stores_nothing(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    answer = _post(arena, headers, preview="true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["slug"], body["stored"], body["url"]) == (BLACK_SINGLE, False, None)
    (track,) = body["tracks"]
    assert (track["name"], track["ranking"]) == (TRACK, "max")
    assert [(s["name"], s["optional"]) for s in track["scenarios"]] == [
        ("tabddpm_black_box", True),
        ("tabsyn_black_box", True),
    ]
    counts = {
        (f["split"], f["models"], f["labels"]) for s in track["scenarios"] for f in s["splits"]
    }
    assert counts == {("dev", 20, 4000), ("final", 20, 4000)}
    assert [(p["name"], p["opens_now"], p["max_per_day"]) for p in body["phases"]][0] == (
        "Development",
        True,
        10,
    )
    assert _stored(arena) == before


def test_an_organizer_creates_midst_and_its_definition_is_served(arena: Arena) -> None:
    user, headers = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    answer = _post(arena, headers, slug="midst-bb", title="MIDST by API")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["stored"] is True
    assert body["url"] == "https://testserver/competitions/midst-bb" == answer.headers["location"]
    competition = arena.session.scalars(select(Competition).filter_by(slug="midst-bb")).one()
    assert competition.title == "MIDST by API"
    organizers = arena.session.scalars(
        select(CompetitionOrganizer.user_id).filter_by(competition_id=competition.id)
    ).all()
    assert organizers == [user.id]
    served = arena.browser.get(f"{API}/midst-bb/definition")
    assert served.status_code == 200
    shipped = schema.to_dict(schema.loads(DEFINITION, "definition.yaml"))
    assert served.json() == shipped | {"slug": "midst-bb", "title": "MIDST by API"}
    assert served.json()["tracks"][0]["ranking"] == "max"
    actions = arena.session.scalars(
        select(AuditEntry.action).filter_by(competition_id=competition.id)
    ).all()
    assert {"competition.create", "organizer.add"} <= set(actions)


def test_a_bad_field_is_refused_naming_the_file_and_the_field(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    broken = DEFINITION.replace(b"ranking: max", b"ranking: median")
    answer = _post(arena, headers, definition=broken)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("definition.yaml: tracks[0].ranking"), answer.json()
    assert _stored(arena) == before


def test_truth_without_final_is_refused_naming_the_zip(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    answer = _post(arena, headers, truth=_without_final(truth_zip(BLACK_SINGLE)))
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith("truth.zip: the ground truth has no labels for"), detail
    assert "tabddpm_black_box/final/" in detail
    assert _stored(arena) == before


def test_a_zip_that_is_not_one_lists_its_problem(arena: Arena) -> None:
    headers = _organizer(arena)
    answer = _post(arena, headers, truth=b"not a zip at all")
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("truth.zip: not valid ground truth"), body
    assert body["errors"] and all(isinstance(e, str) for e in body["errors"])


def test_a_slug_in_use_is_a_409_and_nothing_is_stored(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    answer = _post(arena, headers, slug="mico")
    assert answer.status_code == 409
    assert "'mico' exists already" in answer.json()["detail"]
    reserved = _post(arena, headers, slug="new")
    assert reserved.status_code == 422 and "reserved" in reserved.json()["detail"]
    assert _stored(arena) == before


def test_participants_get_a_403_and_anonymous_callers_a_401(arena: Arena) -> None:
    _, participant = arena.participant("pat@example.org")
    before = _stored(arena)
    refused = _post(arena, participant)
    assert refused.status_code == 403
    assert "organizers and admins" in refused.json()["detail"]
    anonymous = _post(arena, {})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert _stored(arena) == before


def test_files_over_their_bound_are_a_413_that_says_it(arena: Arena) -> None:
    headers = _organizer(arena)
    settings: Settings = arena.browser.app.state.settings
    arena.browser.app.state.settings = settings.model_copy(update={"truth_upload_max_bytes": MB})
    before = _stored(arena)
    big = _post(arena, headers, truth=bytes(4 * MB))  # refused by its Content-Length
    assert big.status_code == 413
    assert "a truth zip may be at most 1 MB" in big.json()["detail"], big.json()
    padded = _post(arena, headers, truth=bytes(MB + MB // 2))  # the body fits, the zip not
    assert padded.status_code == 413 and padded.json()["detail"].startswith("truth.zip is 1.5 MB")
    long = _post(arena, headers, definition=DEFINITION + b"\n#" * MAX_FILE_BYTES)
    assert long.status_code == 413 and long.json()["detail"].startswith("definition.yaml is")

    def chunks() -> Any:  # no Content-Length: counted as it comes
        yield b"--x\r\nContent-Disposition: form-data; name=truth; filename=a.zip\r\n\r\n"
        for _ in range(40):
            yield bytes(128 * 1024)

    streamed = arena.browser.post(
        API,
        content=chunks(),
        headers={**headers, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["detail"].startswith("the upload is larger"), streamed.json()
    assert _stored(arena) == before


def test_the_api_documents_the_route_with_its_answers(arena: Arena) -> None:
    spec = arena.browser.get("/openapi.json").json()
    route = spec["paths"][API]["post"]
    assert {"200", "201", "401", "403", "409", "413", "422"} <= set(route["responses"])
    body = route["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["oneOf"][0] == {"required": ["definition", "truth"]}


# The page


def _sign_in(arena: Arena, email: str) -> None:
    answer = arena.browser.post(
        "/login",
        data={"csrf_token": csrf(arena.browser, "/login"), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _hidden(page: str) -> dict[str, str]:
    """The hidden fields of the page's definition form, read as a browser reads them."""
    form = re.search(r'<form id="create".*?</form>', page, re.S)
    assert form
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0))
    return {name: html.unescape(value) for name, value in found}


def _page_files(truth: bytes | None = None) -> dict[str, Any]:
    return {
        "definition": ("midst.yaml", DEFINITION, "application/yaml"),
        "truth": (
            "data.zip",
            truth if truth is not None else truth_zip(BLACK_SINGLE),
            "application/zip",
        ),
    }


def _send(arena: Arena, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
    """The page's form as a browser sends it: multipart, its file inputs left empty."""
    empty = {
        "definition": ("", b"", "application/octet-stream"),
        "truth": ("", b"", "application/octet-stream"),
    }
    return arena.browser.post("/competitions/new", data=fields, files=empty, **kwargs)


def test_an_organizer_previews_then_creates_on_the_page(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    home = arena.browser.get("/")
    assert 'href="/competitions/new"' in home.text
    token = csrf(arena.browser, "/competitions/new")
    before = _stored(arena)
    preview = arena.browser.post(
        "/competitions/new",
        data={"csrf_token": token, "action": "preview", "slug": "midst-page"},
        files=_page_files(),
    )
    assert preview.status_code == 200, preview.text
    assert "Preview" in preview.text and 'value="create"' in preview.text
    assert "tabsyn_black_box" in preview.text and "4,000" in preview.text
    assert "opens now" in preview.text
    assert _stored(arena) == before
    carried = _hidden(preview.text)
    assert carried["truth_name"] == "data.zip" and carried["definition_name"] == "midst.yaml"

    damaged = {**carried, "truth_sha256": "0" * 64, "action": "create"}
    refused = _send(arena, damaged)
    assert refused.status_code == 422 and "came back damaged" in refused.text
    assert _stored(arena) == before

    created = _send(
        arena, {**carried, "action": "create", "slug": "midst-page"}, follow_redirects=False
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/competitions/midst-page"
    shown = arena.browser.get("/competitions/midst-page")
    assert "is created" in shown.text and "MIDST: black box, single table" in shown.text
    again = _send(arena, {**carried, "action": "create", "slug": "midst-page"})
    assert again.status_code == 409 and "exists already" in again.text


def test_the_page_refuses_naming_the_file_and_keeps_the_files(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    token = csrf(arena.browser, "/competitions/new")
    before = _stored(arena)
    answer = arena.browser.post(
        "/competitions/new",
        data={"csrf_token": token, "action": "preview"},
        files=_page_files(_without_final(truth_zip(BLACK_SINGLE))),
    )
    assert answer.status_code == 422
    assert "data.zip: the ground truth has no labels for" in answer.text
    assert 'value="create"' not in answer.text  # no Create without a preview
    assert "Kept: <code>midst.yaml</code>" in answer.text  # choose only the file at fault
    forged = arena.browser.post(
        "/competitions/new", data={"csrf_token": "x", "action": "preview"}, files=_page_files()
    )
    assert forged.status_code == 403
    assert _stored(arena) == before


def test_the_page_is_for_organizers_and_admins(arena: Arena) -> None:
    anonymous = arena.browser.get("/competitions/new", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    arena.participant("pat@example.org")
    _sign_in(arena, "pat@example.org")
    assert 'href="/competitions/new"' not in arena.browser.get("/").text
    forbidden = arena.browser.get("/competitions/new")
    assert forbidden.status_code == 403 and "organizers and admins" in forbidden.text
