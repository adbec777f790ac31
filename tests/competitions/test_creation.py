"""A competition made from a definition and its ground truth: MIDST on its released labels,
previewed, stored, and then run as participants see it (upload, score, leaderboard), on
PostgreSQL and SQLite; refusals store nothing."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import roc_curve
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import creation, registrations
from app.competitions.service import definition_of
from app.core.errors import Conflict, Invalid
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.ground_truth import GroundTruth
from app.models.phase import Phase
from app.models.score import Score
from app.models.user import Role
from app.scoring.readers import read_truth_zip
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD
from tests.fixtures.midst import (
    BLACK_SINGLE,
    DEFINITIONS,
    TRACKS,
    data_folder,
    definition,
    needs_data,
    submission,
    truth_zip,
)
from tests.fixtures.midst import models as midst_models

pytestmark = needs_data
SLUG = BLACK_SINGLE
CLI = str(Path(sys.executable).with_name("mia-arena"))
TRACK = TRACKS[SLUG][0]


def _plan(session: Session, slug: str | None = None) -> creation.Preview:
    """MIDST's black-box single-table definition and released labels, previewed."""
    spec = definition(SLUG)
    labels = read_truth_zip(truth_zip(SLUG), "data.zip", definition=spec)
    return creation.preview(session, spec, labels, slug=slug)


def _midst(arena: Arena) -> dict[str, str]:
    """MIDST's black-box single-table track created beside MICO, and a participant's headers."""
    competition = creation.create(arena.session, _plan(arena.session), now=utcnow())
    user = auth.create_user(arena.session, "tabby@example.org", PASSWORD, role=Role.PARTICIPANT)
    registrations.register(arena.session, competition, user, accept_terms=True)
    token = auth.create_token(arena.session, user)[1]
    arena.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _official(labels: NDArray[np.int64], predictions: NDArray[np.float64]) -> float:
    fpr, tpr, _ = roc_curve(labels, predictions)
    return float(max(tpr[fpr < 0.1]))


def test_the_preview_counts_what_the_released_labels_hold(session: Session) -> None:
    """One track, two optional model types ranked by their best; 20 models of 200 points in
    dev and in final each; the train labels (public) are not kept; nothing is stored."""
    plan = _plan(session)
    assert (plan.slug, plan.splits) == (SLUG, ("dev", "final"))
    (track,) = plan.tracks
    assert (track.name, track.ranking) == (TRACK, "max")
    assert [(s.name, s.optional) for s in track.scenarios] == [
        ("tabddpm_black_box", True),
        ("tabsyn_black_box", True),
    ]
    for scenario in track.scenarios:
        for found in scenario.splits:
            assert (found.models, found.labels) == (20, 4000)
            assert 0 < found.members < found.labels
    assert [(p.name, p.max_per_day, p.max_total) for p in plan.phases] == [
        ("Development", 10, 50),
        ("Final", creation.UNLIMITED, 1),
    ]
    assert "0." not in repr(plan.to_dict()["tracks"])  # counts only, never a label
    assert session.scalar(select(func.count()).select_from(Competition)) == 0


def test_created_from_the_definition_it_reads_and_runs_as_midst(arena: Arena) -> None:
    """Stored: the definition (max over optional types), 4 hidden splits, MIDST's phases with
    final withheld; an upload with one type left out is scored by MIDST's formula on that
    type alone, has score rows of that type only, and is ranked on the dev leaderboard."""
    headers = _midst(arena)
    competition = arena.session.scalars(select(Competition).filter_by(slug=SLUG)).one()
    spec = definition_of(competition)
    assert spec.track(TRACK).ranking == "max"
    assert spec.track(TRACK).optional == {"tabddpm_black_box", "tabsyn_black_box"}
    assert spec.files.label_header == "is_train"
    phases = {
        p.name: p
        for p in arena.session.scalars(select(Phase).filter_by(competition_id=competition.id))
    }
    assert phases["Development"].accepts_uploads and phases["Development"].starts_at is not None
    assert (phases["Development"].max_per_day, phases["Development"].max_total) == (10, 50)
    assert phases["Final"].starts_at is None and phases["Final"].shown_splits == []
    published = arena.browser.get(f"/api/v1/competitions/{SLUG}/definition").json()
    assert published["tracks"][0]["ranking"] == "max"

    data, pooled = submission(SLUG, types=("tabsyn_black_box",))
    answer = arena.browser.post(
        f"/api/v1/competitions/{SLUG}/tracks/{TRACK}/submissions",
        headers=headers,
        files={"file": ("predictions.zip", data, "application/zip")},
    )
    assert answer.status_code == 202, answer.text
    assert arena.score_sent() == ["scored"]
    board = arena.browser.get(
        f"/api/v1/competitions/{SLUG}/tracks/{TRACK}/leaderboard", headers=headers
    ).json()
    (entry,) = board["entries"]
    assert entry["ranking_score"] == _official(*pooled["tabsyn_black_box", "dev"])
    assert set(entry["scenarios"]) == {"tabsyn_black_box"}
    stored = arena.session.scalars(
        select(Score).where(Score.submission_id == entry["submission_id"])
    ).all()
    assert sorted(s.split for s in stored) == ["dev", "final"]  # of the one type sent
    assert len({s.scenario_id for s in stored}) == 1
    final = arena.browser.get(
        f"/api/v1/competitions/{SLUG}/tracks/{TRACK}/leaderboard?split=final", headers=headers
    )
    assert final.status_code == 404  # hidden until the reveal


def test_a_taken_slug_is_refused_and_nothing_is_stored(arena: Arena) -> None:
    before = arena.session.scalar(select(func.count()).select_from(GroundTruth))
    with pytest.raises(Conflict, match="'mico' exists already"):
        _plan(arena.session, slug="mico")
    with pytest.raises(Invalid, match="slug 'MIDST 1' is not valid"):
        _plan(arena.session, slug="MIDST 1")
    assert arena.session.scalar(select(func.count()).select_from(GroundTruth)) == before


def test_labels_missing_a_hidden_split_are_refused_naming_it(session: Session) -> None:
    """The released folder without final: every type's final folder is named."""
    spec = definition(SLUG)
    kept = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(truth_zip(SLUG))) as full, zipfile.ZipFile(kept, "w") as out:
        for info in full.infolist():
            if "/final/" not in info.filename:
                out.writestr(info, full.read(info))
    labels = read_truth_zip(kept.getvalue(), "data.zip", definition=spec)
    with pytest.raises(Invalid, match="tabddpm_black_box/final/.*final are needed"):
        creation.preview(session, spec, labels)


def test_the_shipped_model_lists_match_what_is_stored(session: Session) -> None:
    """Each type's final split stores as many models as MIDST's mapping lists."""
    plan = _plan(session)
    competition = creation.create(session, plan, now=utcnow())
    rows = session.scalars(select(GroundTruth).where(GroundTruth.split == "final")).all()
    assert len(rows) == 2
    assert {r.models for r in rows} == {len(midst_models(SLUG, "tabddpm", "final"))}
    assert competition.definition is not None and competition.definition["slug"] == SLUG


def test_the_command_previews_then_creates_and_names_a_bad_field(
    new_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    """`competitions create --preview` stores nothing; without it the competition is there
    (a second run is refused); a definition with a wrong field is named with the file."""
    env = {**os.environ, "DATABASE_URL": new_postgres_database()}

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=120
        )

    assert run("db", "upgrade").returncode == 0
    spec, data = DEFINITIONS / f"{SLUG}.yaml", data_folder(SLUG)
    looked = run("competitions", "create", spec, data, "--preview")
    assert looked.returncode == 0, looked.stderr
    assert "tabsyn_black_box (optional): dev 20 models, 4,000 labels" in looked.stdout
    assert "phase Final: closed until opened" in looked.stdout
    assert looked.stdout.strip().endswith("preview only: nothing stored")
    made = run("competitions", "create", spec, data, "--slug", "midst-bb")
    assert made.returncode == 0 and "created competition midst-bb" in made.stdout
    again = run("competitions", "create", spec, data, "--slug", "midst-bb")
    assert again.returncode == 1 and "'midst-bb' exists already" in again.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(spec.read_text().replace("ranking: max", "ranking: median"))
    refused = run("competitions", "create", broken, data)
    assert refused.returncode == 1
    assert "broken.yaml: tracks[0].ranking" in refused.stderr
    assert not re.search(r"(?:[01][,;\s\]\[]{0,2}){20}", looked.stdout + made.stdout)


def test_a_slug_taken_between_preview_and_create_is_a_conflict(session: Session) -> None:
    """Two organizers previewing the same slug: the second Create is refused, not a 500, and
    what the first stored stays."""
    first, second = _plan(session), _plan(session)
    creation.create(session, first, now=utcnow())
    with pytest.raises(Conflict, match="was just created; choose another slug"):
        creation.create(session, second, now=utcnow())
    assert session.scalar(select(func.count()).select_from(Competition)) == 1
    assert session.scalar(select(func.count()).select_from(GroundTruth)) == 4
