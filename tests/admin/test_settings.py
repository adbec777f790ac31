"""Organizers edit a competition's settings and Markdown pages (page and API); visitors see the
result, sanitised; too-long fields are refused whole; each change is in the audit log."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from sqlalchemy import select

from app.competitions import registrations
from app.models.audit import AuditEntry
from app.models.competition import Competition
from app.models.user import Role, User
from tests.admin.test_phases import _sign_in
from tests.fixtures.arena import Arena
from tests.fixtures.browser import csrf

PAGE = "/competitions/mico/admin/settings"
API = "/api/v1/admin/competitions/mico/settings"
HOSTILE = (
    "# Rules\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
    '[x](javascript:alert(1)) and <a href="javascript:alert(2)">y</a>'
)


class _ActiveContent(HTMLParser):
    """Everything in a served page that could run: script elements, on* attributes, and
    javascript: addresses."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}={value}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}={value}")


def _active(html: str) -> list[str]:
    """What could run in the page's <main>, where the Markdown is shown (the site's own
    script, after it, is not user content)."""
    parser = _ActiveContent()
    parser.feed(html[html.index("<main>") : html.index("</main>")])
    return parser.found


def _mico(arena: Arena) -> Competition:
    competition = arena.session.scalars(select(Competition).where(Competition.slug == "mico")).one()
    arena.session.refresh(competition)
    return competition


def _entries(arena: Arena, action: str) -> list[AuditEntry]:
    arena.session.expire_all()
    return list(
        arena.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def _form(arena: Arena, **values: str) -> dict[str, str]:
    competition = _mico(arena)
    form = {
        "csrf_token": csrf(arena.browser, PAGE),
        "title": competition.title,
        "overview_md": competition.overview_md,
        "data_md": competition.data_md,
        "evaluation_md": competition.evaluation_md,
        "terms_md": competition.terms_md,
    }
    return {**form, **values}


def test_an_organizer_edits_the_settings_and_the_public_page_shows_them(arena: Arena) -> None:
    arena.participant("ada@example.org")
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    assert "Settings and pages" in arena.browser.get(PAGE).text
    assert f'href="{PAGE}"' in arena.browser.get("/competitions/mico/admin").text
    form = _form(
        arena,
        title="MICO 2027",
        overview_md="Attack **fifty** models.",
        data_md="| split | models |\r\n|---|---|\r\n| dev | 50 |",
        evaluation_md="Mean *TPR* at 10% FPR.",
        terms_md="No use of the *hidden* labels.",
        requires_approval="true",
    )
    saved = arena.browser.post(PAGE, data=form)
    assert saved.status_code == 200 and "Saved: " in saved.text
    assert "already registered accepted the terms as they were then" in saved.text
    competition = _mico(arena)
    assert competition.requires_approval and competition.title == "MICO 2027"
    assert competition.data_md == "| split | models |\n|---|---|\n| dev | 50 |"  # \r\n gone

    arena.browser.cookies.clear()
    public = arena.browser.get("/competitions/mico").text
    assert "<h1>MICO 2027</h1>" in public and "<strong>fifty</strong>" in public
    assert "<td>dev</td>" in arena.browser.get("/competitions/mico/data").text  # its own tab
    assert "<em>TPR</em>" in arena.browser.get("/competitions/mico/evaluation").text
    arena.participant("bob@example.org", register=False)
    arena.browser.cookies.clear()
    _sign_in(arena, "bob@example.org")
    assert "<em>hidden</em>" in arena.browser.get("/competitions/mico").text  # to accept
    registered = arena.browser.post(
        "/competitions/mico/register",
        data={"csrf_token": csrf(arena.browser, "/competitions/mico"), "accept_terms": "true"},
    )
    assert "waits for an organizer" in registered.text  # approval now required

    (entry,) = _entries(arena, "competition.settings")
    assert entry.detail["changed"] == [
        "data_md",
        "evaluation_md",
        "overview_md",
        "requires_approval",
        "terms_md",
        "title",
    ]
    assert entry.detail["title"]["after"] == "MICO 2027"
    assert entry.detail["terms_md"]["chars_after"] == len("No use of the *hidden* labels.")
    assert "fifty" not in str(entry.detail)  # sizes of the pages, never their text
    (terms,) = _entries(arena, "competition.terms")
    assert terms.detail["registered_under_earlier_terms"] == 1  # ada, under the old terms


def test_saving_the_form_untouched_changes_nothing(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    competition = _mico(arena)
    crlf = {k: getattr(competition, k).replace("\n", "\r\n") for k in ("overview_md", "data_md")}
    answer = arena.browser.post(PAGE, data=_form(arena, **crlf))
    assert answer.status_code == 200 and "Nothing had changed" in answer.text
    assert _entries(arena, "competition.settings") == []


def test_hostile_markdown_is_inert_on_the_public_page_and_in_the_preview(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    site = _active(arena.browser.get("/competitions/mico").text)  # the site's own scripts
    pages = dict.fromkeys(("overview_md", "data_md", "evaluation_md", "terms_md"), HOSTILE)
    assert arena.browser.patch(API, json=pages, headers=organizer).status_code == 200
    public = arena.browser.get("/competitions/mico").text
    assert "<h1>Rules</h1>" in public and _active(public) == site
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in public  # shown as text, never run
    arena.participant("bob@example.org", register=False)
    _sign_in(arena, "bob@example.org")  # the terms are shown to whoever may register
    tabs = [
        arena.browser.get(f"/competitions/mico{tab}").text for tab in ("", "/data", "/evaluation")
    ]
    assert sum(tab.count("<h1>Rules</h1>") for tab in tabs) == 4  # overview and terms, data, ...
    assert all(_active(tab) == site for tab in tabs)

    arena.browser.cookies.clear()
    _sign_in(arena, "org@example.org")
    preview = arena.browser.post(f"{PAGE}/preview", data=_form(arena, overview_md=HOSTILE))
    assert preview.status_code == 200 and _active(preview.text) == site
    shown = re.search(r'id="preview-overview_md"[^>]*>(.*?)</div>', preview.text, re.S)
    assert shown and "<h1>Rules</h1>" in shown.group(1)
    assert "<img" not in shown.group(1) and "<a " not in shown.group(1)
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown.group(1)  # text, as on the page
    assert _active(arena.browser.get(PAGE).text) == site  # the form's own textareas too


def test_a_preview_saves_nothing_and_keeps_the_text(arena: Arena) -> None:
    arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    preview = arena.browser.post(
        f"{PAGE}/preview", data=_form(arena, title="Draft title", evaluation_md="**new**")
    )
    assert "nothing is saved until you press" in preview.text
    assert 'value="Draft title"' in preview.text and "<strong>new</strong>" in preview.text
    assert _mico(arena).title != "Draft title" and _entries(arena, "competition.settings") == []
    refused = arena.browser.post(f"{PAGE}/preview", data={"title": "x"})  # no CSRF token
    assert refused.status_code == 403


def test_too_long_fields_are_refused_whole_with_a_clear_error(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    _sign_in(arena, "org@example.org")
    before = _mico(arena)
    long_page = "word " * 20_000 + "end"  # 100,003 characters
    answer = arena.browser.post(
        PAGE, data=_form(arena, title="T" * 201, data_md=long_page, overview_md="changed")
    )
    assert answer.status_code == 422
    assert "nothing was saved" in answer.text and "the title is 1 to 200 characters" in answer.text
    assert "the Data page has 100,003 characters; at most 100,000" in answer.text
    assert long_page in answer.text  # kept in the form, not cut, to shorten it there
    nul = arena.browser.post(PAGE, data=_form(arena, title="MICO\x00"))
    assert nul.status_code == 422 and "NUL" in nul.text
    empty = arena.browser.post(PAGE, data=_form(arena, title="   "))
    assert empty.status_code == 422 and "the title is 1 to 200 characters" in empty.text

    by_api = arena.browser.patch(
        API, json={"overview_md": "changed", "terms_md": "x" * 100_001}, headers=organizer
    )
    assert by_api.status_code == 422
    assert by_api.json()["detail"][0]["loc"] == ["body", "terms_md"]
    assert "100000" in by_api.json()["detail"][0]["msg"]
    after = _mico(arena)
    assert (after.title, after.overview_md, after.data_md, after.terms_md) == (
        before.title,
        before.overview_md,
        before.data_md,
        before.terms_md,
    )
    assert _entries(arena, "competition.settings") == []


def test_the_settings_api_and_points_per_model_fixed_by_ground_truth(arena: Arena) -> None:
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    settings = arena.browser.get(API, headers=organizer).json()
    assert settings["points_per_model"] == 200 and settings["points_per_model_locked"]
    changed = arena.browser.patch(
        API, json={"title": "  MICO 2027 ", "requires_approval": True}, headers=organizer
    ).json()
    assert changed["changed"] == ["requires_approval", "title"] and changed["title"] == "MICO 2027"
    fixed = arena.browser.patch(API, json={"points_per_model": 100}, headers=organizer)
    assert fixed.status_code == 409 and "ground-truth rows are stored" in fixed.json()["detail"]
    same = arena.browser.patch(API, json={"points_per_model": 200}, headers=organizer)
    assert same.status_code == 200 and same.json()["changed"] == []
    assert arena.browser.patch(API, json={"colour": "red"}, headers=organizer).status_code == 422
    null = arena.browser.patch(API, json={"title": None}, headers=organizer)  # not a no-op 200
    assert null.status_code == 422 and null.json()["detail"][0]["loc"] == ["body", "title"]
    assert "leave it out to keep it" in null.json()["detail"][0]["msg"]
    assert arena.browser.get(API, headers=organizer).json()["title"] == "MICO 2027"
    _sign_in(arena, "org@example.org")
    page = arena.browser.get(PAGE).text
    assert 'name="points_per_model"' not in page and "fixed: it defines" in page

    tiny = Competition(slug="tiny", title="Tiny")  # no tracks, no ground truth yet
    arena.session.add(tiny)
    org = arena.session.scalars(select(User).where(User.email == "org@example.org")).one()
    registrations.add_organizer(arena.session, tiny, org)
    arena.session.commit()
    tiny_api = "/api/v1/admin/competitions/tiny/settings"
    moved = arena.browser.patch(tiny_api, json={"points_per_model": 20}, headers=organizer)
    assert moved.status_code == 200 and moved.json()["points_per_model"] == 20
    assert 'name="points_per_model"' in arena.browser.get("/competitions/tiny/admin/settings").text
    nope = arena.browser.get("/api/v1/admin/competitions/nope/settings", headers=organizer)
    assert nope.status_code == 404
