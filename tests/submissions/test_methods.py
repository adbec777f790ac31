"""A participant names the method of their submission and links its write-up and code, by the
API and on the submission's page; what is stored is read back, shown as links (never as HTML),
and hostile input is refused naming the field, with nothing stored."""

from __future__ import annotations

import re

from app.models.submission import Submission
from app.models.user import Role
from tests.fixtures.arena import Arena
from tests.fixtures.browser import PASSWORD, csrf

LINKS = {
    "method_name": "LiRA, 16 shadow models",
    "writeup_url": "https://arxiv.org/abs/2112.03570",
    "code_url": "https://github.com/example/lira",
}


def _uploaded(arena: Arena, email: str = "ada@example.org") -> tuple[int, dict[str, str]]:
    _, headers = arena.participant(email)
    answer = arena.upload(headers, arena.zip("cifar10-strong"))
    assert answer.status_code == 202, answer.text
    return answer.json()["id"], headers


def _sign_in(arena: Arena, email: str) -> None:
    token = csrf(arena.browser, "/login")
    arena.browser.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})


def test_the_api_sets_the_method_and_links_and_reads_them_back(arena: Arena) -> None:
    submission, headers = _uploaded(arena)
    answer = arena.browser.patch(f"/api/v1/submissions/{submission}", headers=headers, json=LINKS)
    assert answer.status_code == 200, answer.text
    read = arena.browser.get(f"/api/v1/submissions/{submission}", headers=headers).json()
    assert {k: read[k] for k in LINKS} == LINKS
    cleared = arena.browser.patch(
        f"/api/v1/submissions/{submission}", headers=headers, json={"code_url": ""}
    ).json()
    assert cleared["code_url"] is None and cleared["method_name"] == LINKS["method_name"]


def test_a_javascript_link_is_refused_naming_the_field_and_nothing_is_stored(
    arena: Arena,
) -> None:
    submission, headers = _uploaded(arena)
    for field, value in (
        ("writeup_url", "javascript:alert(1)"),
        ("code_url", "JavaScript:alert(document.cookie)"),
        ("code_url", "data:text/html,<script>alert(1)</script>"),
        ("writeup_url", "ftp://example.org/paper.pdf"),
    ):
        answer = arena.browser.patch(
            f"/api/v1/submissions/{submission}",
            headers=headers,
            json={"method_name": "mine", field: value},
        )
        assert answer.status_code == 422, answer.text
        label = {"writeup_url": "write-up URL", "code_url": "code URL"}[field]
        assert answer.json()["detail"].startswith(f"{label}: only http:// or https://")
    arena.session.expire_all()
    stored = arena.session.get_one(Submission, submission)
    assert (stored.method_name, stored.writeup_url, stored.code_url) == (None, None, None)


def test_a_huge_field_is_refused_naming_it(arena: Arena) -> None:
    submission, headers = _uploaded(arena)
    for body, field in (
        ({"method_name": "x" * 121}, "method_name"),
        ({"writeup_url": "https://example.org/" + "a" * 3000}, "writeup_url"),
    ):
        answer = arena.browser.patch(
            f"/api/v1/submissions/{submission}", headers=headers, json=body
        )
        assert answer.status_code == 422
        assert field in answer.text
    arena.session.expire_all()
    assert arena.session.get_one(Submission, submission).method_name is None


def test_only_the_owner_may_name_it_others_are_told_it_does_not_exist(arena: Arena) -> None:
    submission, _ = _uploaded(arena)
    _, stranger = arena.participant("eve@example.org")
    answer = arena.browser.patch(f"/api/v1/submissions/{submission}", headers=stranger, json=LINKS)
    assert answer.status_code == 404
    assert answer.json()["detail"] == f"there is no submission {submission}"
    missing = arena.browser.patch("/api/v1/submissions/999999", headers=stranger, json=LINKS)
    assert missing.status_code == 404
    assert arena.browser.patch(f"/api/v1/submissions/{submission}", json=LINKS).status_code == 401


def test_the_page_saves_them_and_shows_a_script_in_the_name_as_text(arena: Arena) -> None:
    submission, _ = _uploaded(arena)
    _sign_in(arena, "ada@example.org")
    page = f"/submissions/{submission}"
    hostile = '<script>alert("x")</script> LiRA'
    saved = arena.browser.post(
        f"{page}/method",
        data={"csrf_token": csrf(arena.browser, page), **LINKS, "method_name": hostile},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{page}#method"
    shown = arena.browser.get(page).text
    assert "Method and links saved." in shown
    assert "<script>alert" not in shown
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; LiRA" in shown
    links = re.findall(r'<a class="(writeup|code)" href="([^"]+)" rel="nofollow noopener">', shown)
    assert links == [("writeup", LINKS["writeup_url"]), ("code", LINKS["code_url"])]


def test_the_page_refuses_a_javascript_link_with_the_form_as_typed(arena: Arena) -> None:
    submission, _ = _uploaded(arena)
    _sign_in(arena, "ada@example.org")
    page = f"/submissions/{submission}"
    refused = arena.browser.post(
        f"{page}/method",
        data={
            "csrf_token": csrf(arena.browser, page),
            "method_name": "LiRA",
            "writeup_url": "javascript:alert(1)",
            "code_url": "",
        },
    )
    assert refused.status_code == 422
    assert "write-up URL: only http:// or https:// addresses are taken" in refused.text
    assert 'value="javascript:alert(1)"' in refused.text  # typed, in the field, not a link
    assert 'href="javascript:' not in refused.text
    arena.session.expire_all()
    assert arena.session.get_one(Submission, submission).method_name is None


def test_an_organizer_who_sees_it_may_not_name_its_method(arena: Arena) -> None:
    submission, _ = _uploaded(arena)
    _, organizer = arena.participant("org@example.org", role=Role.ORGANIZER, register=False)
    answer = arena.browser.patch(f"/api/v1/submissions/{submission}", headers=organizer, json=LINKS)
    assert answer.status_code == 403
    assert "only the submission's owner or their team" in answer.json()["detail"]
