"""Every request gets an id (X-Request-ID, on its answer and on each of its log lines), is
logged once with its route and time, and is counted in the metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logs import escape_controls, request_id, request_id_from
from app.ops.metrics import Metrics

log = logging.getLogger("app.access")
HEADER = "X-Request-ID"
UNMATCHED = "unmatched"  # no route: one label for every unknown path


class RequestContext:
    """Pure ASGI middleware, outermost, so cached answers and errors go through it too."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        routes: list[BaseRoute],
        route_of: Callable[[str], str | None],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(Headers(scope=scope).get(HEADER))
        token = request_id.set(rid)
        started = perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A copy: a cached answer's header list is shared by every request it serves.
                message = {**message, "headers": list(message.get("headers", []))}
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here with its request id; the id stays set for the 500 answer made
            # outside (app.main's handler) and for the server's own report.
            self._done(scope, 500, started, failed=True)
            raise
        self._done(scope, status, started, failed=False)
        request_id.reset(token)

    def _done(self, scope: Scope, status: int, started: float, *, failed: bool) -> None:
        seconds = perf_counter() - started
        route = self._route(scope)
        self.metrics.observe(scope["method"], route, status, seconds)
        path = escape_controls(scope["path"][:200])
        fields = {
            "method": scope["method"][:16],
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        line = f"{fields['method']} {path} {status} {fields['duration_ms']} ms"
        if failed:
            log.exception("%s: unhandled error", line, extra=fields)
        else:
            log.info(line, extra=fields)

    def _route(self, scope: Scope) -> str:
        """The route's template (/competitions/{slug}), never the path itself: the metrics'
        labels stay as few as the routes."""
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path", UNMATCHED))
        for plain in self.routes:  # the docs and schema (routes of Starlette's own)
            if isinstance(plain, Route) and plain.matches(dict(scope))[0] is Match.FULL:
                return plain.path
        return self.route_of(scope["path"]) or UNMATCHED
