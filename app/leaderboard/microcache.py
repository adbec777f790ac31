"""A micro-cache for anonymous leaderboard reads: the same answer for everyone who is not
signed in, so each web process makes it at most once per cache period and serves it from
memory meanwhile (a new score shows within that period; a reveal or a hide at once in the
process that made it, within the period plus STALE_GRACE in the others). When it is stale,
readers get the last one while a task of the process makes the next, for STALE_GRACE seconds;
after that (a quiet spell), and for the very first reader, the reader waits.
Signed-in readers and tokens (organizers see more) always go through."""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.leaderboard.service import StandingsCache

LEADERBOARD = re.compile(r"^(/api/v1)?/competitions/[^/]+/tracks/[^/]+/leaderboard$")
PERSONAL = (b"authorization", b"cookie")
QUERY = {"split", "format", "rows_only", "page"}
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
logger = logging.getLogger(__name__)


def route_of(path: str) -> str | None:
    """The route template of a leaderboard path (a cached answer goes through no route), for
    the request metrics; None for any other path."""
    found = LEADERBOARD.match(path)
    if found is None:
        return None
    return f"{found.group(1) or ''}/competitions/{{slug}}/tracks/{{track}}/leaderboard"


class AnonymousLeaderboards:
    """Pure ASGI middleware: cached whole answers (status, headers, body) per path and query."""

    def __init__(self, app: ASGIApp, cache: StandingsCache) -> None:
        self.app = app
        self.cache = cache
        self._making: dict[object, asyncio.Task[None]] = {}  # one event loop per process

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        key = ("anonymous", scope["path"], scope.get("query_string", b""))
        kept = self.cache.peek(key)
        if kept is None:
            kept = self.cache.peek(key, stale=True)
            if kept is None:
                kept = await self._make(key, scope)  # the first reader: nothing to serve yet
            elif key not in self._making:
                self._making[key] = asyncio.create_task(self._remake(key, dict(scope)))
        status, headers, body = kept
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _make(self, key: object, scope: Scope) -> Answer:
        answer = await self._answer(scope)
        if answer[0] in (200, 404):
            self.cache.put(key, answer)
        return answer

    async def _remake(self, key: object, scope: Scope) -> None:
        try:
            await self._make(key, scope)
        except Exception:  # the stale answer stays; the next reader tries again
            logger.exception("could not make %s again", scope["path"])
        finally:
            self._making.pop(key, None)

    def _cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or self.cache.seconds <= 0:
            return False
        if not LEADERBOARD.match(scope["path"]):
            return False
        if any(name in PERSONAL for name, _ in scope["headers"]):
            return False
        # Only the leaderboard's own parameters, once each: any other query would be an
        # entry of its own, and random ones would fill the memory.
        names = [name for name, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"))]
        return set(names) <= QUERY and len(names) == len(set(names))

    async def _answer(self, scope: Scope) -> Answer:
        start: Message = {}
        chunks: list[bytes] = []

        async def nothing_sent() -> Message:  # a GET: no body to read
            return {"type": "http.request", "body": b"", "more_body": False}

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, nothing_sent, keep)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"set-cookie"]
        return start.get("status", 500), headers, b"".join(chunks)
