"""MIDST's leaderboards as its participants and organizers see them, on PostgreSQL and SQLite:
black box, single table, from Development to Final to the reveal, every score MIDST's formula
(the largest TPR with FPR < 0.1 over a model type's pooled predictions, the max over the types
a submission has); MIDST's columns and words, a type left out shown as absent; and each of the
four shipped definitions ranking an upload by that formula."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import roc_curve
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.competitions import creation, registrations
from app.models.base import utcnow
from app.models.competition import Competition
from app.models.phase import Phase
from app.models.user import Role
from app.scoring.bootstrap import ranking_interval
from app.scoring.readers import read_submission, read_truth, read_truth_zip
from tests.competitions.test_organizers import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD
from tests.fixtures.midst import (
    BLACK_SINGLE,
    TRACKS,
    data_folder,
    definition,
    needs_data,
    submission,
    truth_zip,
)

pytestmark = needs_data
TRACK = TRACKS[BLACK_SINGLE][0]
BOARD = f"/api/v1/competitions/{BLACK_SINGLE}/tracks/{TRACK}/leaderboard"
PAGE = f"/competitions/{BLACK_SINGLE}/tracks/{TRACK}/leaderboard"
Pooled = dict[tuple[str, str], tuple[NDArray[np.int64], NDArray[np.float64]]]


def official(labels: NDArray[np.int64], predictions: NDArray[np.float64]) -> float:
    """MIDST's TPR at FPR 10%: the largest TPR among roc_curve points with FPR < 0.1."""
    fpr, tpr, _ = roc_curve(labels, predictions)
    return float(max(tpr[fpr < 0.1]))


def midst_score(pooled: Pooled, split: str) -> float:
    """MIDST's track score: the max over the model types the submission has."""
    return max(official(*pooled[t, s]) for t, s in pooled if s == split)


def _create(session: Session, slug: str) -> Competition:
    """A shipped MIDST definition created from its released labels, beside MICO."""
    spec = definition(slug)
    labels = read_truth_zip(truth_zip(slug), "data.zip", definition=spec)
    return creation.create(session, creation.preview(session, spec, labels), now=utcnow())


def _account(
    arena: Arena, competition: Competition, email: str, role: Role = Role.PARTICIPANT
) -> dict[str, str]:
    """A registered participant (or an organizer of the competition) and its API headers."""
    user = auth.create_user(arena.session, email, PASSWORD, role=role)
    if role is Role.ORGANIZER:
        registrations.add_organizer(arena.session, competition, user)
    else:
        registrations.register(arena.session, competition, user, accept_terms=True)
    token = auth.create_token(arena.session, user)[1]
    arena.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _upload(arena: Arena, slug: str, headers: dict[str, str], data: bytes) -> int:
    answer = arena.browser.post(
        f"/api/v1/competitions/{slug}/tracks/{TRACKS[slug][0]}/submissions",
        headers=headers,
        files={"file": ("predictions.zip", data, "application/zip")},
    )
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


def test_midst_from_development_to_the_reveal(arena: Arena) -> None:
    competition = _create(arena.session, BLACK_SINGLE)
    organizer = _account(arena, competition, "org@example.org", Role.ORGANIZER)
    tabby = _account(arena, competition, "tabby@example.org")
    sly = _account(arena, competition, "sly@example.org")

    # Development: tabby sends both model types, sly leaves tabddpm out.
    full, full_pooled = submission(BLACK_SINGLE)
    partial, partial_pooled = submission(BLACK_SINGLE, types=("tabsyn_black_box",), decimals=2)
    tabby_id = _upload(arena, BLACK_SINGLE, tabby, full)
    sly_id = _upload(arena, BLACK_SINGLE, sly, partial)
    assert arena.score_sent() == ["scored", "scored"]
    expected = {
        tabby_id: midst_score(full_pooled, "dev"),
        sly_id: midst_score(partial_pooled, "dev"),
    }
    board = arena.browser.get(BOARD, headers=sly).json()
    assert {e["submission_id"]: e["ranking_score"] for e in board["entries"]} == expected
    assert [e["submission_id"] for e in board["entries"]] == sorted(
        expected, key=lambda i: -expected[i]
    )
    rows = {e["submission_id"]: e for e in board["entries"]}
    assert set(rows[sly_id]["scenarios"]) == {"tabsyn_black_box"}
    assert set(rows[tabby_id]["scenarios"]["tabddpm_black_box"]) == {
        "TPR_FPR_1000",
        "AUC",
        "accuracy",
        "MIA",
    }
    # The submission's own scores: the max over the one type sent, said so.
    own = arena.browser.get(f"/api/v1/submissions/{sly_id}", headers=sly).json()
    assert own["scores"]["dev"]["ranking_score"] == expected[sly_id]
    assert own["scores"]["dev"]["ranking"] == "highest TPR at 10% FPR"

    # The intervals: the max of the types sent, around the score; the left-out one skipped.
    assert arena.intervals_sent() == ["done", "done"]
    for entry in arena.browser.get(BOARD, headers=sly).json()["entries"]:
        assert entry["ci_low"] <= entry["ranking_score"] <= entry["ci_high"]

    # The CSV: MIDST's metrics for each type; the type sly left out is empty, not ''.
    table = list(csv.reader(io.StringIO(arena.browser.get(BOARD + "?format=csv").text)))
    header, body = table[0], {int(r[2]): dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert header[6:9] == ["rank_low", "rank_high", "group"]
    assert header[11:] == [
        f"{t}:{m}"
        for t in ("tabddpm_black_box", "tabsyn_black_box")
        for m in ("TPR_FPR_1000", "AUC", "accuracy", "MIA")
    ]
    assert body[sly_id]["tabddpm_black_box:AUC"] == ""
    assert float(body[sly_id]["tabsyn_black_box:TPR_FPR_1000"]) == expected[sly_id]

    # The page: MIDST's columns and words, not MICO's.
    _sign_in(arena, "sly@example.org")
    page = arena.browser.get(PAGE).text
    headings = re.findall(r'scope="col" title="tab\w+_black_box: [^"]*">([^<]+)</th>', page)
    assert headings == ["TPR@10%", "AUC", "Accuracy", "MIA"] * 2
    assert "TPR@0.1%" not in page and "TPR@1%" not in page
    assert "Ranked by the highest TPR at 10% FPR over the track&#39;s model types" in page
    assert "a model type left out of a submission is skipped" in page
    # Sly's submission page: the one type sent, MIDST's metrics, the max said.
    panel = arena.browser.get(f"/submissions/{sly_id}?panel_only=true").text
    assert "Ranking score (highest TPR at 10% FPR)" in panel
    assert panel.count("<tr><td>tabsyn_black_box") == 1 and "tabddpm" not in panel
    assert "MIA" in panel and "TPR@0.1%" not in panel
    assert "<th>Model type</th>" in panel

    # Final opens; its leaderboard stays hidden to participants until the reveal.
    final_phase = arena.session.scalars(
        select(Phase).filter_by(competition_id=competition.id, name="Final")
    ).one()
    admin = f"/api/v1/admin/competitions/{BLACK_SINGLE}"
    opened = arena.browser.post(f"{admin}/phases/{final_phase.id}/open", headers=organizer)
    assert opened.status_code == 200, opened.text
    last, last_pooled = submission(BLACK_SINGLE, decimals=3)
    sly_last = _upload(arena, BLACK_SINGLE, sly, last)  # Final's one upload: the latest counts
    assert arena.score_sent() == ["scored"]
    assert arena.browser.get(BOARD + "?split=final", headers=sly).status_code == 404
    hidden = arena.browser.get(PAGE + "?split=final").text
    assert 'id="not-yet"' in hidden and "0." not in re.sub(r"<script.*?</script>", "", hidden)
    # Organizers see it before anyone.
    early = arena.browser.get(BOARD + "?split=final", headers=organizer)
    assert early.status_code == 200
    _sign_in(arena, "org@example.org")
    exact = arena.browser.get(f"/competitions/{BLACK_SINGLE}/admin/submissions/{sly_last}").text
    assert "Final scores" in exact and "TPR@0.1%" not in exact
    assert "<th>Model type</th>" in exact
    _sign_in(arena, "sly@example.org")

    revealed = arena.browser.post(f"{admin}/reveal", headers=organizer)
    assert revealed.status_code == 200, revealed.text
    final = arena.browser.get(BOARD + "?split=final", headers=sly).json()
    scores = {e["submission_id"]: e["ranking_score"] for e in final["entries"]}
    assert scores == {
        tabby_id: midst_score(full_pooled, "final"),
        sly_last: midst_score(last_pooled, "final"),
    }
    assert [e["rank"] for e in final["entries"]] == [1, 2]
    assert final["entries"][0]["ranking_score"] >= final["entries"][1]["ranking_score"]
    shown = arena.browser.get(PAGE + "?split=final").text
    assert 'id="not-yet"' not in shown and f"{scores[sly_last]:.4f}" in shown


@pytest.mark.parametrize("slug", sorted(TRACKS))
def test_each_shipped_definition_ranks_an_upload_by_midst_s_formula(
    arena: Arena, slug: str
) -> None:
    competition = _create(arena.session, slug)
    headers = _account(arena, competition, "tabby@example.org")
    data, pooled = submission(slug, decimals=3)
    submission_id = _upload(arena, slug, headers, data)
    assert arena.score_sent() == ["scored"]
    board = arena.browser.get(
        f"/api/v1/competitions/{slug}/tracks/{TRACKS[slug][0]}/leaderboard", headers=headers
    ).json()
    (entry,) = board["entries"]
    assert entry["submission_id"] == submission_id
    assert entry["ranking_score"] == pytest.approx(midst_score(pooled, "dev"), abs=1e-12)
    assert set(entry["scenarios"]) == {t for t, s in pooled if s == "dev"}


def test_an_interval_is_of_the_max_over_the_types_sent() -> None:
    """The bootstrap aggregates as the track does: its estimate is MIDST's score exactly,
    with one type left out as with both."""
    spec = definition(BLACK_SINGLE)
    truth = read_truth(data_folder(BLACK_SINGLE), definition=spec)
    for types in (None, ("tabddpm_black_box",)):
        data, pooled = submission(BLACK_SINGLE, types=types)
        predictions = read_submission(data, definition=spec)
        interval = ranking_interval(predictions, truth, spec, "dev", seed=7, replicates=200)
        assert interval.estimate == pytest.approx(midst_score(pooled, "dev"), abs=1e-12)
        assert interval.low <= interval.estimate <= interval.high
