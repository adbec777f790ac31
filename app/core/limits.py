"""A cap on request bodies, applied before anything reads them: a 1 GB upload is refused at
its Content-Length, or as soon as a chunked body passes the cap, never spooled to disk."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and boundaries


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(self.max_bytes, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # FastAPI passes an HTTPException through as it is
                raise HTTPException(413, _message(self.max_bytes))
            return message

        return counted


def _message(max_bytes: int) -> str:
    return f"the request is over {max_bytes / 1024 / 1024:.2f} MB, the most this server takes"


async def _refuse(max_bytes: int, send: Send) -> None:
    body = b'{"detail":"' + _message(max_bytes).encode() + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
