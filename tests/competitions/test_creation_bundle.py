"""A competition created from a CodaLab or Codabench bundle, by API and on /competitions/new:
MICO's cifar10 bundle (the demo truth as its reference data) and MIDST's black-box single-table
bundle become competitions with the bundle's pages and phases; the answer says what the bundle
maps to and what is not imported. A preview stores nothing; an unmapped bundle, one without
labels, and a form with both a bundle and a definition are refused saying why, storing nothing.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf
from tests.fixtures.bundles import MICO_YAML, MIDST_YAML, mico_files, midst_files, zip_files
from tests.fixtures.midst import BLACK_SINGLE, DEFINITIONS, TRACKS, data_folder, needs_data
from tests.fixtures.midst import truth_zip as midst_truth

API = "/api/v1/competitions"
MB = 1024 * 1024
MIDST_TRACK = TRACKS[BLACK_SINGLE][0]


def mico_bundle(demo: Path, *, reference: bool = True) -> bytes:
    """MICO's cifar10 CodaLab bundle, its reference zips made of the demo truth (or absent)."""
    files = mico_files(MICO_YAML)
    root = demo / "truth"
    for split in ("dev", "final"):
        del files[f"reference_data_{split}.zip"]
        if reference:
            solutions = sorted((root / "cifar10").glob(f"*/{split}/*/solution.csv"))
            files[f"reference_data_{split}.zip"] = zip_files(
                {p.relative_to(root).as_posix(): p.read_bytes() for p in solutions}
            )
    return zip_files(files)


def midst_bundle(*, reference: bool = True, yaml_text: str = MIDST_YAML) -> bytes:
    """MIDST's black-box single-table Codabench bundle, its Development phase running now,
    with the released labels as its `data/` folder (or without them)."""
    today = datetime.now(UTC).date()

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).strftime("%m-%d-%Y")

    text = (
        yaml_text.replace("start: 11-01-2024 00:00:00", f"start: {day(-1)}")
        .replace("end: 02-20-2025 00:00:00", f"end: {day(30)}")
        .replace("start: 02-21-2025 00:00:00", f"start: {day(31)}")
    )
    files = {k: v for k, v in midst_files(text).items() if not k.startswith("data/")}
    if reference:
        folder = data_folder(BLACK_SINGLE)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files["data/" + path.relative_to(folder).as_posix()] = path.read_bytes()
    return zip_files(files)


def _post(
    arena: Arena,
    headers: dict[str, str],
    bundle: bytes,
    name: str = "bundle-cifar10.zip",
    extra: dict[str, tuple[str, bytes, str]] | None = None,
    **fields: str,
) -> httpx.Response:
    files = {"bundle": (name, bundle, "application/zip"), **(extra or {})}
    return arena.browser.post(API, headers=headers, files=files, data=fields)


def _stored(arena: Arena) -> tuple[int, int, int, int]:
    """Competitions, labels, phases and audit entries stored."""
    return tuple(  # type: ignore[return-value]
        arena.session.scalar(select(func.count()).select_from(model))
        for model in (Competition, GroundTruth, Phase, AuditEntry)
    )


def _organizer(arena: Arena) -> dict[str, str]:
    return arena.participant("org@example.org", role=Role.ORGANIZER, register=False)[1]


def test_a_bundles_preview_says_what_it_maps_to_and_stores_nothing(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    answer = _post(arena, headers, mico_bundle(arena.demo), preview="true")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["source"], body["slug"], body["title"]) == (
        "bundle",
        "mico-cifar10",
        "MICO - CIFAR-10",
    )
    assert (body["stored"], body["url"]) == (False, None)
    assert body["mapping"].startswith("maps to MICO's built-in definition")
    assert any("every phase taking uploads ended before today" in w for w in body["warnings"])
    assert [(p["role"], p["title"]) for p in body["pages"]] == [
        ("overview", "Overview"),
        ("data", "Data"),
        ("evaluation", "Evaluation"),
        ("terms", "Terms"),
    ]
    development, final = body["phases"]
    assert (development["name"], development["starts_at"], development["ends_at"]) == (
        "Development",
        "2022-11-01T00:00:00Z",
        "2023-01-13T12:00:00Z",
    )
    assert (development["max_per_day"], development["max_total"], development["max_bytes"]) == (
        30,
        1000,
        2 * MB,
    )
    assert (final["name"], final["accepts_uploads"], final["ends_at"]) == ("Final", False, None)
    assert (development["opens_now"], final["opens_now"]) == (False, True)  # by their dates
    columns = {c["key"]: c["metric"] for c in body["columns"]}
    assert columns["average_TPR_FPR_1000"] == "TPR_FPR_1000" and columns["scenario1_AUC"] == "AUC"
    (track,) = body["tracks"]
    assert [s["name"] for s in track["scenarios"]] == ["cifar10_hi", "cifar10_inf", "cifar10_lo"]
    assert _stored(arena) == before


def test_an_organizer_creates_mico_from_its_bundle(arena: Arena) -> None:
    user, headers = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    answer = _post(arena, headers, mico_bundle(arena.demo), slug="mico-bundle")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["stored"] is True and body["source"] == "bundle"
    assert (
        body["url"] == "https://testserver/competitions/mico-bundle" == answer.headers["location"]
    )
    competition = arena.session.scalars(select(Competition).filter_by(slug="mico-bundle")).one()
    assert competition.title == "MICO - CIFAR-10" and competition.requires_approval
    phases = arena.session.scalars(select(Phase).filter_by(competition_id=competition.id)).all()
    assert sorted((p.name, p.max_per_day, p.max_total) for p in phases) == [
        ("Development", 30, 1000),
        ("Final", 30, 1000),
    ]
    organizers = arena.session.scalars(
        select(CompetitionOrganizer.user_id).filter_by(competition_id=competition.id)
    ).all()
    assert organizers == [user.id]
    actions = arena.session.scalars(
        select(AuditEntry.action).filter_by(competition_id=competition.id)
    ).all()
    assert {"competition.import-bundle", "organizer.add"} <= set(actions)
    page = arena.browser.get("/competitions/mico-bundle").text
    assert "The Microsoft Membership Inference Competition (MICO)." in page
    assert "Welcome to MICO." in page
    assert (
        "Each scenario has 200 models." in arena.browser.get("/competitions/mico-bundle/data").text
    )


@needs_data
def test_an_organizer_creates_midst_from_its_bundle(arena: Arena) -> None:
    headers = _organizer(arena)
    answer = _post(arena, headers, midst_bundle(), "midst_blackbox_single_table.zip")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["slug"] == BLACK_SINGLE
    assert body["mapping"].startswith("maps to definitions/midst-blackbox-single.yaml")
    assert [(p["name"], p["opens_now"], p["max_per_day"]) for p in body["phases"]] == [
        ("Black Box Dev Phase", True, 10),
        ("Black Box Final Phase", False, 1),
    ]
    assert [p["role"] for p in body["pages"]] == ["overview", "terms"]
    page = arena.browser.get(f"/competitions/{BLACK_SINGLE}").text
    assert "Membership inference over <strong>synthetic</strong> tables." in page


@needs_data
def test_a_bundle_without_its_labels_takes_a_truth_zip(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    bare = midst_bundle(reference=False)
    refused = _post(arena, headers, bare, "midst.zip", preview="true")
    assert refused.status_code == 422
    assert "midst.zip: holds no reference data for its phases" in refused.json()["detail"]
    assert "or the truth field of the form" in refused.json()["detail"]
    truth = {"truth": ("labels.zip", midst_truth(BLACK_SINGLE), "application/zip")}
    answer = _post(arena, headers, bare, "midst.zip", truth, preview="true")
    assert answer.status_code == 200, answer.text
    assert [t["name"] for t in answer.json()["tracks"]] == [MIDST_TRACK]
    assert _stored(arena) == before


def test_an_unmapped_bundle_is_refused_saying_why(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    unknown = (
        MIDST_YAML.replace("MIDST - Black Box Single Table Competition", "Iris classification")
        .replace(
            "description: Black Box Membership Inference over Diffusion-models-based "
            "Synthetic Tabular data on single table dataset",
            "description: Classify irises",
        )
        .replace("TabDDPM and TabSyn", "forests")
        .replace("TabDDPm and TabSyn", "forests")
    )
    answer = _post(arena, headers, zip_files(midst_files(unknown)), "iris.zip")
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("iris.zip cannot be imported; nothing was stored"), body
    assert "mia-arena maps only MICO" in body["detail"]
    assert "write a definition file instead" in body["detail"]
    assert body["errors"]
    broken = _post(arena, headers, b"not a zip", "broken.zip")
    assert broken.status_code == 422 and broken.json()["detail"].startswith("broken.zip")
    taken = _post(arena, headers, mico_bundle(arena.demo), slug="mico")
    assert taken.status_code == 409 and "'mico' exists already" in taken.json()["detail"]
    assert _stored(arena) == before


def test_a_bundle_and_a_definition_at_once_are_refused(arena: Arena) -> None:
    headers = _organizer(arena)
    before = _stored(arena)
    definition = (DEFINITIONS / f"{BLACK_SINGLE}.yaml").read_bytes()
    both = {"definition": ("midst.yaml", definition, "application/yaml")}
    answer = _post(arena, headers, mico_bundle(arena.demo), extra=both)
    assert answer.status_code == 422
    assert "both a bundle and a definition" in answer.json()["detail"]
    assert _stored(arena) == before


def test_a_bundle_over_its_bound_is_a_413_that_says_it(arena: Arena) -> None:
    headers = _organizer(arena)
    settings: Settings = arena.browser.app.state.settings
    arena.browser.app.state.settings = settings.model_copy(update={"truth_upload_max_bytes": MB})
    answer = _post(arena, headers, bytes(MB + MB // 2), "big.zip")
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith(
        "big.zip is 1.5 MB; a truth zip may be at most 1 MB, a bundle 1 MB"
    )


def test_the_api_documents_the_bundle_way(arena: Arena) -> None:
    spec = arena.browser.get("/openapi.json").json()
    route = spec["paths"][API]["post"]
    body = route["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["oneOf"] == [{"required": ["definition", "truth"]}, {"required": ["bundle"]}]
    assert "CodaLab or Codabench" in body["properties"]["bundle"]["description"]
    answer = spec["components"]["schemas"]["CreationOut"]["properties"]
    assert {"mapping", "warnings", "pages", "columns", "source"} <= set(answer)


# The page


def _sign_in(arena: Arena, email: str) -> None:
    answer = arena.browser.post(
        "/login",
        data={"csrf_token": csrf(arena.browser, "/login"), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _hidden(page: str, form: str) -> dict[str, str]:
    """The hidden fields of one of the page's forms, read as a browser reads them."""
    found = re.search(rf'<form id="{form}".*?</form>', page, re.S)
    assert found, form
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', found.group(0))
    return {name: html.unescape(value) for name, value in fields}


def _send(arena: Arena, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
    """The bundle form as a browser sends it: multipart, its file inputs left empty."""
    empty = {
        "bundle": ("", b"", "application/octet-stream"),
        "truth": ("", b"", "application/octet-stream"),
    }
    return arena.browser.post("/competitions/new", data=fields, files=empty, **kwargs)


def test_an_organizer_previews_a_bundle_then_creates_on_the_page(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    form = arena.browser.get("/competitions/new").text
    assert 'id="from-files"' in form and 'id="from-bundle"' in form
    token = csrf(arena.browser, "/competitions/new")
    before = _stored(arena)
    preview = arena.browser.post(
        "/competitions/new",
        data={"csrf_token": token, "way": "bundle", "action": "preview"},
        files={"bundle": ("bundle-cifar10.zip", mico_bundle(arena.demo), "application/zip")},
    )
    assert preview.status_code == 200, preview.text
    shown = html.unescape(preview.text)
    assert "bundle-cifar10.zip</strong> maps to MICO's built-in definition" in shown
    assert "every phase taking uploads ended before today" in shown
    assert (
        "<strong>Overview</strong>: Overview" in shown and "<strong>Terms</strong>: Terms" in shown
    )
    assert "2022-11-01 00:00 UTC" in shown and "2023-01-13 12:00 UTC" in shown
    assert 'id="create-from-bundle"' in shown and 'id="create-competition"' not in shown
    assert _stored(arena) == before
    carried = _hidden(preview.text, "create-bundle")
    assert carried["bundle_name"] == "bundle-cifar10.zip" and "truth_b64" not in carried
    assert _hidden(preview.text, "create") == {"csrf_token": carried["csrf_token"], "way": "files"}

    damaged = {**carried, "bundle_sha256": "0" * 64, "action": "create"}
    refused = _send(arena, damaged)
    assert refused.status_code == 422 and "the previewed bundle came back damaged" in refused.text
    assert _stored(arena) == before

    created = _send(arena, {**carried, "action": "create"}, follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/competitions/mico-cifar10"
    page = arena.browser.get("/competitions/mico-cifar10").text
    assert (
        "MICO - CIFAR-10 is created from bundle-cifar10.zip (CIFAR-10 images); "
        "no phase takes uploads now" in page
    )
    assert "Welcome to MICO." in page


def test_the_page_refuses_a_bundle_naming_it_and_keeps_it(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    token = csrf(arena.browser, "/competitions/new")
    before = _stored(arena)
    answer = arena.browser.post(
        "/competitions/new",
        data={"csrf_token": token, "way": "bundle", "action": "preview"},
        files={"bundle": ("bare.zip", mico_bundle(arena.demo, reference=False), "application/zip")},
    )
    assert answer.status_code == 422
    assert "bare.zip: holds no reference data for its phases" in html.unescape(answer.text)
    assert 'value="create"' not in answer.text
    assert "Kept: <code>bare.zip</code>" in answer.text
    assert _stored(arena) == before
