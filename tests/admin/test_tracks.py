"""Organizers see each track's scenarios and which splits have ground truth (never labels),
add tracks, and change scenarios only while nothing depends on them."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from app.models.audit import AuditEntry
from app.models.scenario import Scenario
from app.models.track import Track
from app.models.user import Role
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf

PAGE = "/competitions/mico/admin/tracks"
API = "/api/v1/admin/competitions/mico/tracks"


def _actions(arena: Arena) -> list[str]:
    arena.session.expire_all()
    return list(arena.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _scenarios(arena: Arena, track: str) -> list[str]:
    arena.session.expire_all()
    return sorted(
        arena.session.scalars(
            select(Scenario.name)
            .join(Track, Track.id == Scenario.track_id)
            .where(Track.name == track)
        )
    )


def test_tracks_show_their_scenarios_and_ground_truth_without_labels(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    arena.upload(ada, arena.zip("cifar10-weak"))
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    tracks = arena.browser.get(API, headers=organizer)
    assert [t["name"] for t in tracks.json()] == ["cifar10", "ddp"]
    cifar10 = tracks.json()[0]
    assert (cifar10["submissions"], cifar10["scenarios_locked"], cifar10["removable"]) == (
        1,
        True,
        False,
    )
    assert [s["name"] for s in cifar10["scenarios"]] == ["cifar10_hi", "cifar10_inf", "cifar10_lo"]
    truth = cifar10["scenarios"][0]["ground_truth"]
    assert [(t["split"], t["present"], t["models"], t["points_per_model"]) for t in truth] == [
        ("dev", True, 50, 200),
        ("final", True, 50, 200),
    ]
    assert "label" not in tracks.text and "packed" not in tracks.text

    _sign_in(arena, "org@example.org")
    assert f'href="{PAGE}"' in arena.browser.get("/competitions/mico/admin").text
    page = arena.browser.get(PAGE).text
    assert 'id="scenario-cifar10_ddp"' in page and "50 models × 200 points" in page
    assert page.count("present") >= 12 and "The scenarios are fixed: 1 submission were" in page
    assert f'action="{PAGE}/cifar10/scenarios"' not in page  # no adding to a used track
    assert f'action="{PAGE}/ddp/scenarios"' in page  # ddp has no submissions yet


def test_a_new_track_needs_a_free_well_formed_name(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    new = {"name": "purchase100", "title": "Purchase-100", "scenarios": ["p_lo", "p_hi"]}
    added = arena.browser.post(API, json=new, headers=organizer)
    assert added.status_code == 201 and added.json()["removable"] is True
    assert [t["present"] for s in added.json()["scenarios"] for t in s["ground_truth"]] == [
        False
    ] * 4
    again = arena.browser.post(API, json=new, headers=organizer)
    assert (
        again.status_code == 422 and "already has a track 'purchase100'" in again.json()["detail"]
    )
    taken = arena.browser.post(
        API, json={"name": "sst2", "scenarios": ["cifar10_hi"]}, headers=organizer
    )
    assert taken.status_code == 422 and "'cifar10_hi' (in cifar10)" in taken.json()["detail"]
    for bad in (
        {"name": "Purchase 100", "scenarios": ["a"]},
        {"name": "../x", "scenarios": ["a"]},
        {"name": "ok", "scenarios": []},
        {"name": "ok", "scenarios": ["a", "A"]},
        {"name": "ok", "scenarios": [f"s{i}" for i in range(21)]},
    ):
        assert arena.browser.post(API, json=bad, headers=organizer).status_code == 422, bad
    spaced = arena.browser.post(API, json={"name": "Img 1", "scenarios": ["a"]}, headers=organizer)
    assert "'Img 1' is not a track name: use lowercase letters" in spaced.json()["detail"]
    twice = arena.browser.post(API, json={"name": "ok", "scenarios": ["a", "a"]}, headers=organizer)
    assert twice.status_code == 422 and "given twice: a" in twice.json()["detail"]
    assert _actions(arena).count("track.add") == 1

    _sign_in(arena, "org@example.org")
    form = {"csrf_token": csrf(arena.browser, PAGE), "name": "sst2", "title": "SST-2"}
    made = arena.browser.post(PAGE, data={**form, "scenarios": "sst2_lo, sst2_hi\nsst2_inf"})
    assert made.status_code == 200 and 'id="track-sst2"' in made.text
    assert _scenarios(arena, "sst2") == ["sst2_hi", "sst2_inf", "sst2_lo"]
    refused = arena.browser.post(PAGE, data={**form, "name": "Bad Name", "scenarios": "x_a"})
    assert refused.status_code == 422 and "is not a track name: use lowercase" in refused.text
    assert 'value="Bad Name"' in refused.text  # the form comes back as sent


def test_scenarios_change_only_until_the_track_has_submissions(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    new = {"name": "img", "scenarios": ["img_a", "img_b"]}
    assert arena.browser.post(API, json=new, headers=organizer).status_code == 201
    patch = {"rename_scenarios": {"img_a": "img_x"}, "add_scenarios": ["img_c"]}
    changed = arena.browser.patch(f"{API}/img", json=patch, headers=organizer)
    assert [s["name"] for s in changed.json()["scenarios"]] == ["img_b", "img_c", "img_x"]
    gone = arena.browser.patch(
        f"{API}/img", json={"remove_scenarios": ["img_b"]}, headers=organizer
    )
    assert [s["name"] for s in gone.json()["scenarios"]] == ["img_c", "img_x"]
    half = {"rename_scenarios": {"img_c": "img_d"}, "add_scenarios": ["cifar10_ddp"]}
    refused = arena.browser.patch(f"{API}/img", json=half, headers=organizer)
    assert refused.status_code == 422 and _scenarios(arena, "img") == ["img_c", "img_x"]

    # ddp has ground truth but no submissions: its scenarios may change, not lose their labels.
    renamed = arena.browser.patch(
        f"{API}/ddp", json={"rename_scenarios": {"sst2_ddp": "sst2_dp"}}, headers=organizer
    )
    assert renamed.status_code == 200 and "sst2_dp" in _scenarios(arena, "ddp")
    kept = arena.browser.patch(
        f"{API}/ddp", json={"remove_scenarios": ["cifar10_ddp"]}, headers=organizer
    )
    assert kept.status_code == 409 and "has ground truth stored" in kept.json()["detail"]
    assert arena.browser.delete(f"{API}/ddp", headers=organizer).status_code == 409

    _, ada = arena.participant("ada@example.org")
    assert arena.upload(ada, arena.zip("cifar10-weak")).status_code == 202
    for body in (
        {"add_scenarios": ["cifar10_mid"]},
        {"rename_scenarios": {"cifar10_hi": "cifar10_high"}},
        {"remove_scenarios": ["cifar10_hi"]},
    ):
        locked = arena.browser.patch(f"{API}/cifar10", json=body, headers=organizer)
        assert locked.status_code == 409 and "has 1 submissions" in locked.json()["detail"]
    titled = arena.browser.patch(
        f"{API}/cifar10", json={"title": "CIFAR-10 (WRN)"}, headers=organizer
    )
    assert titled.json()["title"] == "CIFAR-10 (WRN)"
    assert "CIFAR-10 (WRN)" in arena.browser.get("/competitions/mico").text
    assert arena.browser.delete(f"{API}/cifar10", headers=organizer).status_code == 409

    assert arena.browser.delete(f"{API}/img", headers=organizer).status_code == 204
    assert arena.browser.patch(f"{API}/img", json={}, headers=organizer).status_code == 404
    missing = arena.browser.patch(
        f"{API}/ddp", json={"rename_scenarios": {"nope": "ddp_x"}}, headers=organizer
    )
    assert missing.status_code == 404 and "its scenarios: cifar10_ddp" in missing.json()["detail"]
    actions = _actions(arena)
    for action in ("track.add", "scenario.rename", "scenario.add", "scenario.remove"):
        assert action in actions
    assert {"track.title", "track.remove"} <= set(actions)


def test_the_page_renames_adds_and_removes_scenarios(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    token = csrf(arena.browser, PAGE)
    arena.browser.post(PAGE, data={"csrf_token": token, "name": "img", "scenarios": "img_a"})
    added = arena.browser.post(
        f"{PAGE}/img/scenarios", data={"csrf_token": token, "scenarios": "img_b img_c"}
    )
    assert added.status_code == 200 and 'id="scenario-img_c"' in added.text
    arena.browser.post(f"{PAGE}/img/scenarios/img_a", data={"csrf_token": token, "name": "img_z"})
    arena.browser.post(f"{PAGE}/img/scenarios/img_b/remove", data={"csrf_token": token})
    assert _scenarios(arena, "img") == ["img_c", "img_z"]
    titled = arena.browser.post(f"{PAGE}/img", data={"csrf_token": token, "title": "Images"})
    assert "Images" in titled.text
    clash = arena.browser.post(
        f"{PAGE}/img/scenarios/img_z", data={"csrf_token": token, "name": "cifar10_ddp"}
    )
    assert (
        clash.status_code == 422 and "taken already: &#39;cifar10_ddp&#39; (in ddp)" in clash.text
    )
    kept = arena.browser.post(
        f"{PAGE}/ddp/scenarios/cifar10_ddp/remove", data={"csrf_token": token}
    )
    assert kept.status_code == 409 and "has ground truth stored" in kept.text
    arena.browser.post(f"{PAGE}/img/remove", data={"csrf_token": token})
    assert _scenarios(arena, "img") == []
    unknown = arena.browser.post(f"{PAGE}/nope/remove", data={"csrf_token": token})
    assert unknown.status_code == 404 and "its tracks: cifar10, ddp" in unknown.text


def _renamed(data: bytes, old: str, new: str) -> bytes:
    """A submission zip with one scenario's folder renamed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            target.writestr(entry.filename.replace(f"/{old}/", f"/{new}/"), source.read(entry))
    return out.getvalue()


def test_uploads_are_read_and_scored_with_the_scenarios_as_stored(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    rename = {"rename_scenarios": {"sst2_ddp": "sst2_dp"}}
    assert arena.browser.patch(f"{API}/ddp", json=rename, headers=organizer).status_code == 200
    _, ada = arena.participant("ada@example.org")
    old = arena.upload(ada, arena.zip("ddp-strong"), track="ddp")
    assert old.status_code == 422 and "sst2_dp" in str(old.json()["errors"])
    new = arena.upload(ada, _renamed(arena.zip("ddp-strong"), "sst2_ddp", "sst2_dp"), track="ddp")
    assert new.status_code == 202
    assert arena.score_sent() == ["scored"]  # against the labels kept under the new name
    scored = arena.browser.get(f"/api/v1/submissions/{new.json()['id']}", headers=ada).json()
    assert "sst2_dp" in scored["scores"]["dev"]["scenarios"]

    added = {"name": "img", "scenarios": ["img_a"]}
    assert arena.browser.post(API, json=added, headers=organizer).status_code == 201
    unknown = arena.upload(ada, arena.zip("ddp-strong"), track="img")
    assert unknown.status_code == 422 and "img_a" in str(unknown.json()["errors"])
