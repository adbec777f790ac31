"""The browser's side: the submit form (with and without its script), the submission page
and its live panel, the list of one's submissions."""

from __future__ import annotations

import re

import httpx2 as httpx

from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf, register
from tests.submissions.test_upload import _broken, _noted

SUBMIT = "/competitions/mico/tracks/cifar10/submit"
UPLOAD = "/competitions/mico/tracks/cifar10/submissions"


def _signed_up(arena: Arena) -> None:
    register(arena.browser)
    arena.browser.post(
        "/competitions/mico/register",
        data={"csrf_token": csrf(arena.browser, "/competitions/mico"), "accept_terms": "true"},
    )


def _post(arena: Arena, data: bytes, description: str = "", **headers: str) -> httpx.Response:
    return arena.browser.post(
        UPLOAD,
        data={"csrf_token": csrf(arena.browser, SUBMIT), "description": description},
        files={"file": ("mine.zip", data, "application/zip")},
        headers=headers,
        follow_redirects=False,
    )


def test_the_form_uploads_and_the_page_shows_the_scores_once_scored(arena: Arena) -> None:
    _signed_up(arena)
    track_links = arena.browser.get("/competitions/mico").text
    assert f'href="{SUBMIT}"' in track_links
    form = arena.browser.get(SUBMIT).text
    assert "<strong>30</strong> of 30 submissions left today" in form
    assert "resets at midnight UTC" in form and 'data-max-bytes="2097152"' in form

    answer = _post(arena, arena.zip("cifar10-strong"), "<script>alert(1)</script> LiRA")
    assert answer.status_code == 303
    page_url = answer.headers["location"]
    assert re.fullmatch(r"/submissions/\d+", page_url)
    page = arena.browser.get(page_url).text
    assert 'class="badge queued"' in page and "this page updates by itself" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; LiRA" in page and "<script>alert(1)" not in page

    assert arena.score_sent() == ["scored"]
    panel = arena.browser.get(page_url, params={"panel_only": 1}).text
    assert 'data-status="scored"' in panel and "Dev scores" in panel and "Final" not in panel
    assert panel.count("<tr><td>cifar10_") == 3 and "TPR@10%" in panel and "TPR@0.1%" in panel
    assert panel.count('role="img"') == 2 and "False positive rate" in panel
    assert "<html" not in panel  # the fragment alone, for the page's script
    assert arena.browser.get(page_url + "/download").content == arena.zip("cifar10-strong")

    rows = arena.browser.get(UPLOAD, params={"rows_only": 1}).text
    assert 'class="badge scored"' in rows and "data-active" not in rows
    assert "<strong>29</strong> of 30" in arena.browser.get(SUBMIT).text


def test_problems_are_listed_for_the_script_and_for_the_plain_form(arena: Arena) -> None:
    _signed_up(arena)
    broken = _broken(arena.zip("cifar10-strong"))
    scripted = _post(arena, broken, accept="application/json")
    assert scripted.status_code == 422
    assert any("199 values" in e for e in scripted.json()["errors"])
    plain = _post(arena, broken)
    assert plain.status_code == 422 and "nothing was stored" in plain.text
    assert re.search(r"<li>cifar10/cifar10_hi/dev/model_100/prediction\.csv: [^<]*199", plain.text)
    assert "<strong>30</strong> of 30" in arena.browser.get(SUBMIT).text


def test_warnings_are_shown_apart_from_problems(arena: Arena) -> None:
    """What the reader ignored comes back as warnings: in the script's JSON (accepted or
    refused), in the plain form's own list (class "warning", not "error"), and once on the
    submission's page after the plain form's redirect."""
    _signed_up(arena)
    form = arena.browser.get(SUBMIT).text
    assert '<div id="warnings" hidden>' in form and 'id="warning-list"' in form
    noted = _noted(arena.zip("cifar10-strong"))
    scripted = _post(arena, noted, accept="application/json")
    assert scripted.status_code == 202
    assert scripted.json()["warnings"][0] == "README.md: is not a prediction file: ignored"

    refused = _noted(arena.zip("cifar10-strong"), drop_first=True)
    scripted = _post(arena, refused, accept="application/json")
    assert scripted.status_code == 422
    assert any("1 of 50 models missing" in e for e in scripted.json()["errors"])
    assert scripted.json()["warnings"] == [
        "README.md: is not a prediction file: ignored",
        "train/ is not scored: ignored (1 file)",
    ]
    plain = _post(arena, refused)
    assert plain.status_code == 422
    warnings = plain.text.split('<div id="warnings"', 1)[1].split("</div>", 1)[0]
    assert '<p class="warning" id="warning-summary">Ignored in the zip (2):</p>' in warnings
    assert "<li>README.md: is not a prediction file: ignored</li>" in warnings
    problems = plain.text.split('<div id="problems"', 1)[1].split("</div>", 1)[0]
    assert "1 of 50 models missing" in problems and "README" not in problems

    accepted = _post(arena, noted)
    assert accepted.status_code == 303
    page = arena.browser.get(accepted.headers["location"]).text
    assert "Ignored in the zip: README.md: is not a prediction file: ignored; train/" in page
    assert "Ignored in the zip" not in arena.browser.get(accepted.headers["location"]).text


def test_pages_are_for_the_owner_only(arena: Arena) -> None:
    _, headers = arena.participant("bob@example.org")
    theirs = arena.upload(headers, arena.zip("cifar10-weak")).json()["id"]
    anonymous = arena.browser.get(f"/submissions/{theirs}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    _signed_up(arena)
    assert arena.browser.get(f"/submissions/{theirs}").status_code == 404
    assert arena.browser.get(f"/submissions/{theirs}/download").status_code == 404


def test_the_form_says_why_someone_may_not_submit(arena: Arena) -> None:
    register(arena.browser)
    page = arena.browser.get(SUBMIT)
    assert page.status_code == 200 and 'id="refused"' in page.text
    assert "register to" in page.text and '<form id="upload"' not in page.text
