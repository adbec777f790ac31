"""The participants' client's HTTP calls: upload, follow, list. Every refusal and network fault
becomes a ClientError with a message a person can act on, never a traceback."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx2 as httpx

from app.client.text import clean, duration

CHUNK = 64 * 1024
WAIT = 30  # the server's longest long poll
DONE = ("scored", "failed", "disqualified")


class ClientError(Exception):
    """A refusal or a fault to print: exit status 1 for refusals, 2 when unreachable."""

    def __init__(
        self,
        message: str,
        problems: list[str] | None = None,
        status: int = 1,
        code: int | None = None,
        no_route: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.status = status  # the command's exit status
        self.code = code  # the HTTP status that caused it, if any
        self.no_route = no_route  # a 404 of the server's router, not of the API


@dataclass
class Upload:
    """A file to send as the multipart field `file`, with the description beside it."""

    name: str
    data: bytes
    description: str


class Api:
    """One server and one token; `with Api(...) as api:` closes its connections."""

    def __init__(self, server: str, token: str | None, timeout: float = 30.0) -> None:
        self.server = server
        headers = {"User-Agent": "mia-arena-client"}
        if token is not None:  # None: public endpoints only (a competition's definition)
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=server,
            headers=headers,
            timeout=httpx.Timeout(timeout, read=WAIT + 30),
            follow_redirects=False,
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def me(self) -> dict[str, Any]:
        """Whose token this is."""
        return self._json("GET", "/api/v1/me")

    def definition(self, competition: str) -> dict[str, Any]:
        """The competition's definition (public: no labels), to validate zips with offline."""
        return self._json("GET", f"/api/v1/competitions/{_segment(competition)}/definition")

    def uploads(self, competition: str, track: str) -> dict[str, Any]:
        """Whether the server would take an upload to the track now, and if not why."""
        path = f"/api/v1/competitions/{_segment(competition)}/tracks/{_segment(track)}/uploads"
        return self._json("GET", path)

    def require_open(self, competition: str, track: str) -> None:
        """ClientError with the server's reason when it would refuse an upload now; a server
        too old to be asked is left to say so to the upload itself."""
        try:
            uploads = self.uploads(competition, track)
        except ClientError as exc:
            if exc.no_route:
                return
            raise
        if uploads["open"]:
            return
        message = clean(str(uploads.get("reason") or "the server takes no uploads now"))
        retry = uploads.get("retry_after")
        reset = retry_at(str(retry), datetime.now(UTC)) if isinstance(retry, int) else None
        raise ClientError(f"{message} (nothing was sent)" + (f"\n{reset}" if reset else ""))

    def submit(
        self, competition: str, track: str, upload: Upload, progress: Callable[[int], None]
    ) -> dict[str, Any]:
        """Upload a zip (202): `progress` hears of every chunk sent."""
        boundary = secrets.token_hex(16)
        head, tail = _multipart(boundary, upload)
        body = _chunks(head, upload.data, tail, progress)
        return self._json(
            "POST",
            f"/api/v1/competitions/{_segment(competition)}/tracks/{_segment(track)}/submissions",
            content=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + len(upload.data) + len(tail)),
            },
            size=len(upload.data),
        )

    def submission(self, submission_id: int, wait: float = 0) -> dict[str, Any]:
        """A submission's status and scores, after waiting up to `wait` s for it to finish."""
        return self._json("GET", f"/api/v1/submissions/{submission_id}", params={"wait": wait})

    def mine(self, competition: str, track: str, limit: int, offset: int) -> dict[str, Any]:
        """A page of one's own submissions to a track, newest first."""
        path = f"/api/v1/competitions/{_segment(competition)}/tracks/{_segment(track)}/submissions"
        return self._json("GET", path, params={"limit": limit, "offset": offset})

    def link(self, path: str) -> str:
        """The absolute address of a page the API names by its path."""
        return self.server + "/" + path.lstrip("/")

    def _json(
        self, method: str, path: str, *, size: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ClientError(
                f"could not reach {self.server}: no answer in time", status=2
            ) from None
        except (httpx.TransportError, OSError) as exc:
            raise ClientError(f"could not reach {self.server}: {_reason(exc)}", status=2) from None
        if answer.status_code >= 400:
            raise refusal(answer, self.server, size)
        if answer.is_redirect:
            where = clean(answer.headers.get("location", "elsewhere"), 200)
            raise ClientError(f"{self.server} sends requests to {where}: use that address")
        try:
            data = answer.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ClientError(
                f"{self.server} answered {answer.status_code} but not with the API's JSON: is it "
                "a mia-arena server?"
            )
        return data


def _segment(value: str) -> str:
    """A path segment: a slug or track name with any `/` or `?` escaped."""
    return quote(value, safe="")


def _reason(exc: BaseException) -> str:
    """The innermost cause of a transport error, e.g. `[Errno 111] Connection refused`."""
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    return clean(str(exc) or type(exc).__name__)


def _multipart(boundary: str, upload: Upload) -> tuple[bytes, bytes]:
    """The bytes before and after the file's in a form of `description` and `file`."""
    name = upload.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="description"\r\n\r\n'
        f"{upload.description}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def _chunks(
    head: bytes, data: bytes, tail: bytes, progress: Callable[[int], None]
) -> Iterator[bytes]:
    yield head
    for start in range(0, len(data), CHUNK):
        piece = data[start : start + CHUNK]
        yield piece
        progress(len(piece))
    yield tail


def refusal(answer: httpx.Response, server: str, size: int | None = None) -> ClientError:
    """What to tell a person about a 4xx or 5xx answer."""
    detail, problems = _detail(answer)
    code = answer.status_code
    no_route = code == 404 and detail in ("", "Not Found")  # not the API's own 404
    if code == 401:
        message = (
            f"your token was refused: run `mia-arena login --server {server}` or set MIA_TOKEN"
            + (f" ({detail})" if detail else "")
        )
    elif code == 413:
        sent = f"the file is {size:,} bytes; " if size is not None else ""
        message = f"too large: {sent}{detail or 'the server refused it by its size'}"
    elif code == 429:
        message = detail or "a submission limit is reached"
        reset = retry_at(answer.headers.get("retry-after"), datetime.now(UTC))
        if reset is not None:
            message += "\n" + reset
    elif no_route:
        message = (
            f"{server} has no such address: check --competition and --track, and that it is "
            "a mia-arena server"
        )
    elif code >= 500:
        message = f"the server failed ({code}): {detail or 'try again later'}"
    else:
        message = detail or f"the server refused the request ({code} {answer.reason_phrase})"
    return ClientError(message, problems, code=code, no_route=no_route)


def _detail(answer: httpx.Response) -> tuple[str, list[str]]:
    """The API's `detail` and `errors`, as text fit for a terminal."""
    try:
        body = answer.json()
    except ValueError:
        return "", []
    if not isinstance(body, dict):
        return "", []
    detail, errors = body.get("detail"), body.get("errors")
    problems = [clean(str(e)) for e in errors] if isinstance(errors, list) else []
    if isinstance(detail, list):  # a request the API could not parse: FastAPI's list
        problems += [clean(_field_error(e)) for e in detail]
        return "the request was refused as malformed", problems
    return clean(str(detail)) if detail is not None else "", problems


def _field_error(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    where = ".".join(str(part) for part in error.get("loc", []))
    return f"{where}: {error.get('msg', '')}"


def retry_at(header: str | None, now: datetime) -> str | None:
    """`you can submit again at 2026-12-02 00:00 UTC (01:00 local time, in 2 h 13 min)` from a
    Retry-After of seconds or an HTTP date."""
    if not header:
        return None
    header = header.strip()
    try:
        at = now + timedelta(seconds=int(header)) if header.isdigit() else None
        if at is None:
            at = parsedate_to_datetime(header).astimezone(UTC)
    except (ValueError, TypeError, OverflowError):
        return None
    at = (at + timedelta(seconds=30)).replace(second=0, microsecond=0)  # to the nearest minute
    local = at.astimezone()
    wait = max(0, int((at - now).total_seconds()))
    return (
        f"you can submit again at {at:%Y-%m-%d %H:%M} UTC "
        f"(your time: {local:%Y-%m-%d %H:%M} {local.tzname() or ''}; in {duration(wait)})"
    )
