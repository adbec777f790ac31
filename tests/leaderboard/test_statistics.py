"""A track's statistics and analysis as a participant, an organizer and a paper's author see
them: the figures one would count by hand, entries per day, the best score over time, final
kept from participants until the reveal, and the exports (CSV, LaTeX, SVG, PNG)."""

from __future__ import annotations

import csv
import io
import struct
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from sqlalchemy import select, update

from app.core.charts_stats import Spread, scenario_chart, to_svg
from app.models.ranking import Ranking
from app.models.submission import Submission
from app.models.user import Role, User
from tests.fixtures.arena import Arena

API = "/api/v1/competitions/mico/tracks/cifar10"
PAGES = "/competitions/mico/tracks/cifar10"
DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _crowd(arena: Arena) -> dict[str, dict[str, str]]:
    """ada sends three entries, bob two, carol registers and sends none; an organizer. The
    entries are dated 2 March (two), 4 March (three): 3 March had none."""
    _, ada = arena.participant("ada@example.org")
    _, bob = arena.participant("bob@example.org")
    arena.participant("carol@example.org")
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    sent = [(ada, "weak"), (bob, "random"), (ada, "medium"), (bob, "weak"), (ada, "strong")]
    ids = [arena.upload(who, arena.zip(f"cifar10-{attack}")).json()["id"] for who, attack in sent]
    assert arena.score_sent() == ["scored"] * 5
    days = [DAY, DAY + timedelta(hours=2), *(DAY + timedelta(days=2, hours=h) for h in (1, 2, 3))]
    for submission, at in zip(ids, days, strict=True):
        arena.session.execute(
            update(Submission).where(Submission.id == submission).values(created_at=at)
        )
    arena.session.commit()
    return {"ada": ada, "bob": bob, "organizer": organizer}


def test_the_figures_and_entries_per_day_are_those_one_counts(arena: Arena) -> None:
    _crowd(arena)
    stats = arena.browser.get(f"{API}/statistics").json()
    assert (stats["entries"], stats["submitters"], stats["registered"]) == (5, 2, 3)
    assert stats["per_day"] == [
        {"day": "2026-03-02", "entries": 2},
        {"day": "2026-03-03", "entries": 0},
        {"day": "2026-03-04", "entries": 3},
    ]
    page = arena.browser.get(f"{PAGES}/statistics")
    assert page.status_code == 200
    assert "Participants who submitted" in page.text
    assert page.text.count('class="stat-bar"') == 3  # one bar a day, the empty one too


def test_the_best_score_over_time_only_rises_and_is_the_best_so_far(arena: Arena) -> None:
    _crowd(arena)
    best = arena.browser.get(f"{API}/statistics?split=dev").json()["best"]
    scores = [b["score"] for b in best]
    assert len(scores) >= 2 and scores == sorted(scores) and len(set(scores)) == len(scores)
    # Replayed by hand from the stored scores: each rise is the best of all sent until then.
    sent = arena.session.execute(
        select(Submission.created_at, Ranking.ranking_score)
        .join(Ranking, (Ranking.submission_id == Submission.id) & (Ranking.split == "dev"))
        .order_by(Submission.created_at, Submission.id)
    ).all()
    rises, so_far = [], float("-inf")
    for at, score in sent:
        if score > so_far:
            rises.append((at, score))
            so_far = score
    assert [(datetime.fromisoformat(b["at"]), b["score"]) for b in best] == [
        (at, score) for at, score in rises
    ]
    board = arena.browser.get(f"{API}/leaderboard?split=dev").json()["entries"]
    assert (best[-1]["score"], best[-1]["participant"]) == (
        board[0]["ranking_score"],
        board[0]["participant"],
    )


def test_final_is_the_organizers_alone_until_the_reveal(arena: Arena) -> None:
    people = _crowd(arena)
    ada, organizer = people["ada"], people["organizer"]
    for url in (
        f"{API}/statistics?split=final",
        f"{API}/analysis?split=final",
        f"{API}/analysis/results?split=final&format=csv",
        f"{API}/analysis/scores?split=final&format=png",
    ):
        assert arena.browser.get(url, headers=ada).status_code == 404, url
        assert arena.browser.get(url).status_code == 404, url
        assert arena.browser.get(url, headers=organizer).status_code == 200, url
    # Without a split, the analysis is of what the viewer may see: dev before the reveal.
    assert arena.browser.get(f"{API}/analysis", headers=ada).json()["split"] == "dev"
    page = arena.browser.get(f"{PAGES}/statistics?split=final").text
    assert 'id="not-yet"' in page and 'class="stat-best"' not in page
    assert 'id="not-yet"' in arena.browser.get(f"{PAGES}/analysis?split=final").text

    assert arena.browser.post(
        "/api/v1/admin/competitions/mico/reveal", headers=organizer
    ).is_success
    final = arena.browser.get(f"{API}/statistics?split=final", headers=ada).json()
    board = arena.browser.get(f"{API}/leaderboard?split=final").json()["entries"]
    assert final["best"][-1]["score"] == board[0]["ranking_score"]
    assert arena.browser.get(f"{API}/analysis").json()["split"] == "final"
    assert 'class="stat-best"' in arena.browser.get(f"{PAGES}/statistics?split=final").text


def test_the_analysis_names_the_hardest_scenario_and_exports_a_row_per_participant_and_scenario(
    arena: Arena,
) -> None:
    _crowd(arena)
    found = arena.browser.get(f"{API}/analysis?split=dev").json()
    assert found["metric"] == "TPR_FPR_10" or found["metric"].startswith("TPR")
    medians = {s["name"]: s["median"] for s in found["scenarios"]}
    assert found["hardest"] == min(medians, key=lambda n: medians[n])
    assert found["hardest"].endswith("_lo")  # the demo's attacks leak least there
    assert all(set(s["values"]) == {"ada", "bob"} for s in found["scenarios"])

    answer = arena.browser.get(f"{API}/analysis/scores?split=dev&format=csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 2 * len(found["scenarios"])
    assert {(r["participant"], r["scenario"]) for r in rows} == {
        (p, s["name"]) for p in ("ada", "bob") for s in found["scenarios"]
    }
    results = list(
        csv.DictReader(
            io.StringIO(arena.browser.get(f"{API}/analysis/results?split=dev&format=csv").text)
        )
    )
    assert [r["participant"] for r in results] == ["ada", "bob"]
    assert [r["rank"] for r in results] == ["1", "2"]


def test_the_latex_table_escapes_names_and_is_booktabs(arena: Arena) -> None:
    _crowd(arena)
    name = r"a_b & c% $x# {y} ~z^ \end"
    ada = arena.session.scalars(select(User).where(User.email == "ada@example.org")).one()
    ada.display_name = name
    arena.session.commit()
    tex = arena.browser.get(f"{PAGES}/analysis/results?split=dev&format=tex").text
    escaped = r"a\_b \& c\% \$x\# \{y\} \textasciitilde{}z\textasciicircum{} \textbackslash{}end"
    assert escaped in tex
    assert name not in tex
    for command in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}"):
        assert command in tex
    body = tex[tex.index(r"\midrule") : tex.index(r"\bottomrule")]
    assert body.count(r" \\") == 2  # a row per participant


def test_the_chart_is_valid_svg_with_inert_names_and_a_png_of_its_size(arena: Arena) -> None:
    _crowd(arena)
    svg = arena.browser.get(f"{API}/analysis/scores?split=dev&format=svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = int(root.get("width", "0")), int(root.get("height", "0"))
    png = arena.browser.get(f"{API}/analysis/scores?split=dev&format=png").content
    assert png[:8] == PNG_SIGNATURE
    assert struct.unpack(">II", png[16:24]) == (2 * width, 2 * height)  # IHDR: 2 px a unit

    hostile = '<script>alert(1)</script>"&'
    drawn = to_svg(
        scenario_chart(
            [Spread(hostile, (0.2, 0.4))], title=hostile, y_label="TPR@10%", x_label="Scenario"
        )
    )
    parsed = ElementTree.fromstring(drawn)
    assert not [e for e in parsed.iter() if e.tag.endswith("script")]
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert "<style" not in drawn and " id=" not in drawn
