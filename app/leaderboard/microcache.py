"""A micro-cache for anonymous leaderboard reads: the same answer for everyone who is not
signed in, so each web process makes it at most once per cache period and serves it from
memory meanwhile (a reveal or a new score shows within that period). Signed-in readers and
tokens (organizers see more) always go through."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.leaderboard.service import StandingsCache

LEADERBOARD = re.compile(r"^(/api/v1)?/competitions/[^/]+/tracks/[^/]+/leaderboard$")
PERSONAL = (b"authorization", b"cookie")


class AnonymousLeaderboards:
    """Pure ASGI middleware: cached whole answers (status, headers, body) per path and query."""

    def __init__(self, app: ASGIApp, cache: StandingsCache) -> None:
        self.app = app
        self.cache = cache
        self._making: set[object] = set()  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        key = ("anonymous", scope["path"], scope.get("query_string", b""))
        kept = self.cache.peek(key)
        stale = self.cache.peek(key, stale=True)
        if kept is None and stale is not None and key in self._making:
            kept = stale  # another request is making it again: the last one meanwhile
        if kept is None:
            self._making.add(key)
            try:
                kept = await self._answer(scope, receive)
            finally:
                self._making.discard(key)
            if kept[0] in (200, 404):
                self.cache.put(key, kept)
        status, headers, body = kept
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or self.cache.seconds <= 0:
            return False
        if not LEADERBOARD.match(scope["path"]):
            return False
        return not any(name in PERSONAL for name, _ in scope["headers"])

    async def _answer(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"set-cookie"]
        return start.get("status", 500), headers, b"".join(chunks)
