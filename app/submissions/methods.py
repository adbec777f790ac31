"""What a submission's owner says of it: the method's name and links to its write-up and code,
shown with it in the results (and reusable by any later listing of entries). The links are
http(s) addresses only, checked here for the API and the page alike: a `javascript:` link,
or any other scheme, is refused with the field named."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import HttpUrl, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from app.core.errors import Forbidden, Invalid
from app.models.submission import Submission
from app.models.user import User
from app.teams.service import team_of

MAX_METHOD = 120
MAX_URL = 2000
FIELDS = {"method_name": "method name", "writeup_url": "write-up URL", "code_url": "code URL"}
_HTTP_URL = TypeAdapter(HttpUrl)


@dataclass(frozen=True)
class Method:
    """A submission's method name and links; None where not given."""

    method_name: str | None = None
    writeup_url: str | None = None
    code_url: str | None = None

    @property
    def given(self) -> bool:
        """True when anything is said."""
        return any((self.method_name, self.writeup_url, self.code_url))


def method_of(submission: Submission) -> Method:
    """What the submission's owner said of it."""
    return Method(submission.method_name, submission.writeup_url, submission.code_url)


def describe(
    session: Session, submission: Submission, user: User, changes: dict[str, str | None]
) -> Method:
    """Set the fields in `changes` (an empty text or None clears one), all or nothing; only
    the owner or their team may (an organizer who may see it is refused)."""
    team = team_of(session, user)
    if submission.user_id != user.id and (team is None or submission.team_id != team.id):
        raise Forbidden("only the submission's owner or their team may name its method and links")
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}: give {', '.join(FIELDS)}")
    checked = {name: _checked(name, value) for name, value in changes.items()}
    for name, value in checked.items():
        setattr(submission, name, value)
    session.flush()
    return method_of(submission)


def _checked(name: str, value: str | None) -> str | None:
    """The field's value as stored, or Invalid naming the field and what to give."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isprintable():
        raise Invalid(f"{FIELDS[name]}: printable characters only, on one line")
    if name != "method_name":
        return _url(name, text)
    if len(text) > MAX_METHOD:
        raise Invalid(f"method name: at most {MAX_METHOD} characters (it has {len(text)})")
    return text


def _url(name: str, text: str) -> str:
    """An http(s) address, at most MAX_URL characters, as pydantic's HttpUrl reads it."""
    label = FIELDS[name]
    if len(text) > MAX_URL:
        raise Invalid(f"{label}: at most {MAX_URL} characters (it has {len(text)})")
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme not in ("http", "https"):
        raise Invalid(
            f"{label}: only http:// or https:// addresses are taken "
            f"(e.g. https://arxiv.org/abs/2301.00001), not {text[:40]!r}"
        )
    try:
        return str(_HTTP_URL.validate_python(text))
    except ValidationError:
        raise Invalid(f"{label}: {text[:60]!r} is not a web address") from None
