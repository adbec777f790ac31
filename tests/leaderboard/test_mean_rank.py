"""A track ranked by `mean_rank`: rows ordered by their mean rank over the scenarios on TPR at
10% FPR (1 = best), ties to the earlier submission, the mean rank shown as the row's score and
said so; ranked among the rows of the leaderboard only (a participant's older submission is no
row). A made-up version 2 definition, created from synthetic labels, on PostgreSQL and SQLite."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from app.auth import service as auth
from app.competitions import creation, registrations
from app.models.base import utcnow
from app.models.user import Role
from app.scoring.definition import Definition
from app.scoring.readers import read_truth_zip
from tests.competitions.test_organizers import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD

SLUG, TRACK = "ranks", "tri"
SCENARIOS = ("s_a", "s_b", "s_c")
MEMBERS = 20  # per model, as many non-members
SPEC: dict[str, Any] = {
    "version": 2,
    "slug": SLUG,
    "title": "Ranked by mean rank",
    "tracks": [{"name": TRACK, "ranking": "mean_rank", "scenarios": list(SCENARIOS)}],
    "splits": [
        {"name": "dev", "first": 0, "last": 1},
        {"name": "final", "first": 2, "last": 3},
    ],
    "files": {
        "predictions": "{track}/{scenario}/{split}/{model}/prediction.csv",
        "labels": "{track}/{scenario}/{split}/{model}/solution.csv",
        "points_per_model": 2 * MEMBERS,
    },
    "metrics": {"fpr_thresholds": [0.1], "ranking_threshold": 0.1, "shown": ["TPR_FPR_1000"]},
    "phases": [
        {"name": "Development", "carries": ["dev", "final"], "shown": ["dev"]},
        {"name": "Final", "carries": ["dev", "final"], "shown": ["final"]},
    ],
}
BOARD = f"/api/v1/competitions/{SLUG}/tracks/{TRACK}/leaderboard"
# Each participant's share of members found at FPR 0 in each scenario: the TPR at 10% FPR.
# In upload order; ada's first upload (all found) is replaced by her second.
TPRS = {
    "ada-first": (1.0, 1.0, 1.0),
    "bob": (0.5, 0.5, 0.5),
    "cy": (0.75, 0.25, 0.25),
    "dee": (0.25, 1.0, 0.25),
    "ada": (1.0, 0.0, 0.0),
}
# By hand, 1 + the rows strictly better, among ada (latest), bob, cy and dee:
#   s_a: ada 1, cy 2, bob 3, dee 4;  s_b: dee 1, bob 2, cy 3, ada 4;  s_c: bob 1, cy 2, dee 2, ada 4
#   mean: bob 6/3, cy 7/3, dee 7/3 (cy uploaded first), ada 9/3.
# By the mean TPR it would be bob .5, dee .5, cy .417, ada .333: another order.
EXPECTED = [("bob", 2.0), ("cy", 7 / 3), ("dee", 7 / 3), ("ada", 3.0)]


def _labels(model: int) -> list[int]:
    """Members and non-members alternate."""
    return [1, 0] * MEMBERS


def _truth() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for scenario in SCENARIOS:
            for split, models in (("dev", (0, 1)), ("final", (2, 3))):
                for model in models:
                    text = ",".join(map(str, _labels(model)))
                    zf.writestr(f"{TRACK}/{scenario}/{split}/model_{model}/solution.csv", text)
    return buffer.getvalue()


def _predictions(model: int, tpr: float) -> list[float]:
    """The first `tpr` share of members above every non-member, the others below them all:
    the TPR at any FPR under 1 is `tpr`."""
    found = round(tpr * MEMBERS)
    values, seen = [], 0
    for label in _labels(model):
        values.append(0.5 if not label else 0.9 if seen < found else 0.1)
        seen += label
    return values


def _zip(tprs: tuple[float, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for scenario, tpr in zip(SCENARIOS, tprs, strict=True):
            for split, models in (("dev", (0, 1)), ("final", (2, 3))):
                for model in models:
                    text = ",".join(map(repr, _predictions(model, tpr)))
                    zf.writestr(f"{TRACK}/{scenario}/{split}/model_{model}/prediction.csv", text)
    return buffer.getvalue()


def _tpr_at_10(tpr: float) -> float:
    """What scikit-learn says of the pooled dev predictions made for `tpr`."""
    labels = np.concatenate([_labels(m) for m in (0, 1)])
    predictions = np.concatenate([_predictions(m, tpr) for m in (0, 1)])
    fpr, tprs, _ = roc_curve(labels, predictions)
    return float(max(tprs[fpr < 0.1]))


@pytest.fixture
def ranked(arena: Arena) -> dict[str, int]:
    """The competition, four participants, five uploads scored: each name's submission."""
    spec = Definition.from_dict(SPEC)
    labels = read_truth_zip(_truth(), "truth.zip", definition=spec)
    competition = creation.create(
        arena.session, creation.preview(arena.session, spec, labels), now=utcnow()
    )
    ids, tokens = {}, {}
    for name, tprs in TPRS.items():
        person = name.split("-")[0]
        if person not in tokens:
            email = f"{person}@example.org"
            user = auth.create_user(arena.session, email, PASSWORD, role=Role.PARTICIPANT)
            user.display_name = person
            registrations.register(arena.session, competition, user, accept_terms=True)
            tokens[person] = auth.create_token(arena.session, user)[1]
            arena.session.commit()
        answer = arena.browser.post(
            f"/api/v1/competitions/{SLUG}/tracks/{TRACK}/submissions",
            headers={"Authorization": f"Bearer {tokens[person]}"},
            files={"file": ("predictions.zip", _zip(tprs), "application/zip")},
        )
        assert answer.status_code == 202, answer.text
        ids[name] = answer.json()["id"]
        assert arena.score_sent() == ["scored"]
    return ids


def test_rows_are_ordered_by_their_mean_rank_shown_as_the_score(
    arena: Arena, ranked: dict[str, int]
) -> None:
    assert [_tpr_at_10(t) for t in TPRS["dee"]] == list(TPRS["dee"])  # the TPRs as designed
    answer = arena.browser.get(BOARD)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entries"]
    assert [(e["participant"], e["ranking_score"]) for e in entries] == [
        (name, pytest.approx(score, abs=1e-12)) for name, score in EXPECTED
    ]
    assert [e["rank"] for e in entries] == [1, 2, 3, 4]
    assert entries[-1]["submission_id"] == ranked["ada"]  # her latest, not the first
    assert all(e["ci_low"] is None for e in entries)  # an interval of the mean TPR is not one
    # The metrics stay each scenario's own.
    assert entries[0]["scenarios"] == {s: {"TPR_FPR_1000": 0.5} for s in SCENARIOS}
    table = list(csv.reader(io.StringIO(arena.browser.get(BOARD + "?format=csv").text)))
    assert [(r[1], float(r[3])) for r in table[1:]] == [
        (name, pytest.approx(score, abs=1e-12)) for name, score in EXPECTED
    ]


def test_the_page_says_it_ranks_by_mean_rank(arena: Arena, ranked: dict[str, int]) -> None:
    _sign_in(arena, "bob@example.org")
    page = arena.browser.get(f"/competitions/{SLUG}/tracks/{TRACK}/leaderboard").text
    assert "Ranked by each row&#39;s mean rank over the track&#39;s scenarios" in page
    assert "lower is better" in page
    assert "<strong>2.33</strong>" in page and "<strong>3.00</strong>" in page
    assert "95% interval" not in page
    # Bob's own submission shows its mean TPR, and says the leaderboard ranks by mean rank.
    own = arena.browser.get(f"/submissions/{ranked['bob']}").text
    assert "Ranking score (mean TPR at 10% FPR over the scenarios (the leaderboard" in own
