"""Organizers open one submission and see who sent it, every split's exact scores and what
they can do to it; its owner still sees only what participants see. The organizers' lists page
through thousands of rows with their filters kept, and the audit log names people."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from app.models.phase import Phase
from app.models.ranking import Ranking
from app.models.submission import Submission, SubmissionStatus
from app.models.track import Track
from app.models.user import Role, User
from tests.admin.test_phases import _phases_api, _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf

ADMIN = "/competitions/mico/admin"
PHASES_API = "/api/v1/admin/competitions/mico/phases"


def _rankings(arena: Arena, submission: int) -> dict[str, float]:
    rows = arena.session.execute(
        select(Ranking.split, Ranking.ranking_score).where(Ranking.submission_id == submission)
    ).tuples()
    return dict(rows.all())


def test_an_organizer_sees_the_submitter_and_every_splits_exact_scores(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.score_sent()
    rankings = _rankings(arena, submission)
    assert set(rankings) == {"dev", "final"}
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")

    opened = arena.browser.get(f"/submissions/{submission}")  # the participants' address
    assert opened.url.path == f"{ADMIN}/submissions/{submission}"
    page = opened.text
    assert "ada" in page and "ada@example.org" in page
    for split, score in rankings.items():
        assert f'id="scores-{split}"' in page
        assert repr(score) in page, f"{split}'s ranking score, every digit (its tooltip)"
        assert f">{score:.12g}</strong>" in page, f"{split}'s ranking score, 12 digits"
    assert "hidden from participants" in page  # final, before the reveal
    assert "TPR@10%" in page
    assert f"{ADMIN}/submissions/{submission}/zip" in page
    assert f"{ADMIN}/submissions/{submission}/rescore" in page
    assert f"{ADMIN}/submissions/{submission}/disqualify" in page

    listing = arena.browser.get(f"{ADMIN}/submissions").text
    assert f'href="{ADMIN}/submissions/{submission}"' in listing


def test_the_owner_still_sees_no_final_score_and_not_the_organizers_page(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-strong")).json()["id"]
    arena.score_sent()
    final = _rankings(arena, submission)["final"]
    _sign_in(arena, "ada@example.org")
    own = arena.browser.get(f"/submissions/{submission}")
    assert own.url.path == f"/submissions/{submission}"
    assert f"{final:.4f}" not in own.text and repr(final) not in own.text
    assert 'id="scores-final"' not in own.text
    assert arena.browser.get(f"{ADMIN}/submissions/{submission}").status_code == 403


def test_disqualifying_from_the_submissions_page_comes_back_to_it(arena: Arena) -> None:
    _, ada = arena.participant("ada@example.org")
    submission = arena.upload(ada, arena.zip("cifar10-weak")).json()["id"]
    arena.score_sent()
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    page = f"{ADMIN}/submissions/{submission}"
    token = csrf(arena.browser, page)
    short = arena.browser.post(
        f"{page}/disqualify", data={"csrf_token": token, "reason": "x", "back": "submission"}
    )
    assert short.status_code == 422 and "3 to 500 characters" in short.text
    assert 'id="scores-dev"' in short.text  # the same page again, with the error
    answer = arena.browser.post(
        f"{page}/disqualify",
        data={"csrf_token": token, "reason": "trained on the labels", "back": "submission"},
    )
    assert answer.url.path == page
    assert "is disqualified" in answer.text and "trained on the labels" in answer.text
    again = arena.browser.post(
        f"{page}/requalify", data={"csrf_token": token, "back": "submission"}
    )
    assert again.url.path == page and "is requalified" in again.text


def _seed(arena: Arena, count: int) -> dict[str, int]:
    """`count` scored submissions, alternately ada's and bob's, oldest first, in one bulk
    insert (uploading 5,000 zips would take minutes); their owners' ids."""
    ada, _ = arena.participant("ada@example.org")
    bob, _ = arena.participant("bob@example.org")
    track = arena.session.scalars(select(Track).where(Track.name == "cifar10")).one()
    phase = arena.session.scalars(select(Phase).where(Phase.name == "Development")).one()
    rows = [
        {
            "user_id": (ada, bob)[i % 2].id,
            "track_id": track.id,
            "phase_id": phase.id,
            "zip_bytes": b"",
            "sha256": f"{i:064x}",
            "size": 100,
            "description": f"n{i}",
            "status": SubmissionStatus.FAILED if i % 3 == 2 else SubmissionStatus.SCORED,
        }
        for i in range(count)
    ]
    arena.session.execute(insert(Submission), rows)
    arena.session.commit()
    return {"ada": ada.id, "bob": bob.id}


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="submission-(\d+)"', page)]


def test_five_thousand_submissions_page_through_with_their_filters(arena: Arena) -> None:
    _seed(arena, 5000)
    every = list(arena.session.scalars(select(Submission.id).order_by(Submission.id.desc())).all())
    ada = arena.session.scalars(select(User.id).where(User.email == "ada@example.org")).one()
    adas = list(
        arena.session.scalars(
            select(Submission.id)
            .where(Submission.user_id == ada, Submission.status == SubmissionStatus.SCORED)
            .order_by(Submission.id.desc())
        ).all()
    )
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    url = f"{ADMIN}/submissions"

    first = arena.browser.get(url).text
    assert _ids(first) == every[:50]
    assert "1–50 of <strong>5,000</strong> submissions" in first and "page 1 of 100" in first
    assert f'href="{url}?page=2" rel="next"' in first
    middle = arena.browser.get(url, params={"page": 50}).text
    assert _ids(middle) == every[49 * 50 : 50 * 50]
    assert "2,451–2,500 of <strong>5,000</strong>" in middle
    last = arena.browser.get(url, params={"page": 100}).text
    assert _ids(last) == every[-50:] and 'rel="next"' not in last
    assert _ids(arena.browser.get(url, params={"page": 101}).text) == []
    assert arena.browser.get(url, params={"page": 0}).status_code == 422

    # ada's scored ones: every second submission, two in three of those scored.
    filters = {"track": "cifar10", "status": "scored", "participant": "ada"}
    assert len(adas) == 1667
    one = arena.browser.get(url, params=filters).text
    assert _ids(one) == adas[:50] and "of <strong>1,667</strong> submissions" in one
    assert "page 1 of 34" in one
    following = "?track=cifar10&amp;status=scored&amp;participant=ada&amp;page=2"
    assert f'href="{url}{following}" rel="next"' in one
    second = arena.browser.get(url, params={**filters, "page": 2}).text
    assert _ids(second) == adas[50:100]
    end = arena.browser.get(url, params={**filters, "page": 34}).text
    assert _ids(end) == adas[33 * 50 :] and len(_ids(end)) == 17
    assert "1,651–1,667 of <strong>1,667</strong>" in end


def test_the_participants_list_pages_and_links_their_submissions(arena: Arena) -> None:
    for i in range(120):
        arena.participant(f"p{i:03}@example.org")
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    url = f"{ADMIN}/participants"
    first = arena.browser.get(url).text
    assert "1–50 of <strong>120</strong> participants" in first and "p000" in first
    assert "p050" not in first
    last = arena.browser.get(url, params={"page": 3}).text
    assert "101–120 of <strong>120</strong>" in last and "p119" in last and "p000" not in last
    assert f"{ADMIN}/submissions?participant=p119" in last
    found = arena.browser.get(url, params={"search": "p11", "page": 1}).text
    assert "of <strong>10</strong> participants" in found

    # An action on page 3 comes back to page 3, not to the first page.
    back = re.search(r'name="back" value="([^"]+)"', last)
    assert back is not None and back.group(1) == f"{url}?page=3"
    p119 = arena.session.scalars(select(User.id).where(User.email == "p119@example.org")).one()
    banned = arena.browser.post(
        f"{url}/{p119}/ban", data={"csrf_token": csrf(arena.browser, url), "back": f"{url}?page=3"}
    )
    assert banned.url.path == url and banned.url.query == b"page=3"
    assert "p119 is banned" in banned.text
    elsewhere = arena.browser.post(
        f"{url}/{p119}/unban",
        data={"csrf_token": csrf(arena.browser, url), "back": "https://x.org"},
    )
    assert elsewhere.url.path == url and elsewhere.url.query == b""


def test_the_audit_log_names_people_and_reads_field_names(arena: Arena) -> None:
    ada, _ = arena.participant("ada@example.org")
    submission_user, headers = arena.participant("bob@example.org")
    submission = arena.upload(headers, arena.zip("cifar10-weak")).json()["id"]
    arena.score_sent()
    org, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    page = f"{ADMIN}/participants"
    token = csrf(arena.browser, page)
    limits = {"csrf_token": token, "max_per_day": "3", "max_total": ""}
    arena.browser.post(f"{page}/{ada.id}/limits", data=limits)
    arena.browser.post(f"{page}/{ada.id}/ban", data={"csrf_token": token})
    arena.browser.post(
        f"{ADMIN}/submissions/{submission}/disqualify",
        data={"csrf_token": token, "reason": "trained on the labels"},
    )
    development = _phases_api(arena, organizer)["Development"]
    changed = arena.browser.post(
        f"{PHASES_API}/{development['id']}", json={"ladder_eta": 0.05}, headers=organizer
    )
    assert changed.status_code == 200, changed.text

    log = arena.browser.get(f"{ADMIN}/audit").text
    assert org.display_name in log
    assert "user_id" not in log and "registration_id" not in log and "max_per_day" not in log
    assert "max per day: 3" in log and "Ladder step: 0.05" in log
    people = re.findall(r'participant: <a href="[^"]*search=ada%40example.org">ada</a>', log)
    assert len(people) == 2  # the limits and the ban
    assert f'submission: <a href="{ADMIN}/submissions/{submission}">#{submission}</a>' in log
    assert submission_user.id != ada.id
