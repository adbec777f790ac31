"""Importing MICO from its official ground-truth tree, on PostgreSQL and SQLite."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.competitions.service import import_mico
from app.core.errors import Invalid
from app.models.ground_truth import GroundTruth
from app.models.phase import Phase
from app.models.scenario import Scenario
from app.models.track import Track
from app.scoring.readers import read_truth

CLI = str(Path(sys.executable).with_name("mia-arena"))


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_builds_tracks_scenarios_truth_and_phases(session: Session, demo: Path) -> None:
    """Two tracks found: their six scenarios, twelve hidden splits, MICO's two phases."""
    report = import_mico(session, demo / "truth", slug="mico")
    assert report.created and report.tracks == ["cifar10", "ddp"]
    assert (report.scenarios, report.truth_added) == (6, 12)
    assert sorted(session.scalars(select(Track.name))) == ["cifar10", "ddp"]
    assert _count(session, Scenario) == 6 and _count(session, GroundTruth) == 12
    phases = {p.name: p for p in session.scalars(select(Phase))}
    development, final = phases["Development"], phases["Final"]
    assert development.accepts_uploads and development.shown_splits == ["dev"]
    assert development.scored_splits == ["dev", "final"]
    assert (development.max_per_day, development.max_total, development.max_bytes) == (
        30,
        1000,
        2 * 1024 * 1024,
    )
    assert not final.accepts_uploads and final.shown_splits == []
    expected = read_truth(demo / "truth").labels["cifar10_lo", "final"]
    row = session.scalars(
        select(GroundTruth)
        .join(Scenario)
        .where(Scenario.name == "cifar10_lo", GroundTruth.split == "final")
    ).one()
    unpacked = np.unpackbits(np.frombuffer(row.packed_labels, np.uint8))[: expected.size]
    assert np.array_equal(unpacked, expected) and row.models == 50


def test_importing_again_updates_and_never_duplicates(
    session: Session, demo: Path, tmp_path: Path
) -> None:
    """Same tree: nothing changes; one label changed: that split is updated, and said so."""
    truth = tmp_path / "truth"
    shutil.copytree(demo / "truth", truth)
    import_mico(session, truth)
    again = import_mico(session, truth)
    assert not again.created and (again.truth_added, again.truth_unchanged) == (0, 12)
    target = truth / "cifar10/cifar10_hi/dev/model_120/solution.csv"
    values = target.read_text().strip().split(",")
    values[0] = "1" if values[0] == "0" else "0"
    target.write_text(",".join(values))
    changed = import_mico(session, truth)
    assert (changed.truth_changed, changed.truth_unchanged) == (1, 11)
    assert _count(session, Track) == 2 and _count(session, GroundTruth) == 12
    assert _count(session, Phase) == 2


def test_a_tree_without_final_labels_is_refused(
    session: Session, demo: Path, tmp_path: Path
) -> None:
    """Dev and final are both needed; the message names what is missing."""
    truth = tmp_path / "truth"
    shutil.copytree(demo / "truth" / "ddp", truth / "ddp")
    for scenario in (truth / "ddp").iterdir():
        shutil.rmtree(scenario / "final")
    with pytest.raises(Invalid, match="no labels for ddp/cifar10_ddp/final/"):
        import_mico(session, truth)
    assert _count(session, Track) == 0


def test_the_organizer_flow_from_an_empty_database(
    new_postgres_database: Callable[[], str], demo: Path, tmp_path: Path
) -> None:
    """db upgrade, users create, tokens create, import-mico; no output line shows a label."""
    env = {**os.environ, "DATABASE_URL": new_postgres_database()}

    def run(*args: object) -> str:
        done = subprocess.run(
            [CLI, *map(str, args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    said = run("db", "upgrade")
    said += run("users", "create", "org@example.org", "--role", "organizer")
    said += run("tokens", "create", "org@example.org")
    first = run(
        "competitions",
        "import-mico",
        demo / "truth",
        "--title",
        "MICO demo",
        "--organizer",
        "org@example.org",
    )
    assert "created competition mico (MICO demo)" in first
    assert "organizer: org@example.org" in first
    assert "ground truth (dev and final): 12 added, 0 changed, 0 unchanged" in first
    second = run("competitions", "import-mico", demo / "truth")
    assert "updated competition mico" in second and "0 added, 0 changed, 12 unchanged" in second
    said += run("users", "create", "bo@example.org", "--role", "organizer")
    listed = run("competitions", "organizers", "mico", "--add", "bo@example.org")
    assert "organizers of mico: bo@example.org, org@example.org" in listed
    unlisted = run("competitions", "organizers", "mico", "--remove", "org@example.org")
    assert unlisted.strip().endswith("organizers of mico: bo@example.org")
    # No run of labels in any spelling: 0,1,... 0 1 ... 0101... [0, 1, ...]
    assert not re.search(r"(?:[01][,;\s\]\[]{0,2}){20}", said + first + second)
