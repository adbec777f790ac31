"""Large multipart uploads read within a bound: refused by their Content-Length before a byte
is read, or as soon as a body without one passes the bound (organizers' ground truth, bundles
and definitions; participants' zips go through FastAPI's own max_body_size)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from fastapi import Request
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser

from app.core.errors import Invalid, TooLarge


async def bounded_form(
    request: Request,
    *,
    bound: int,
    too_large: Callable[[int | None], TooLarge],
    not_multipart: str,
    unreadable: str,
    max_files: int,
    max_fields: int,
    max_part_size: int,
) -> FormData:
    """The request's multipart form, never reading more than `bound` bytes of body.

    `too_large(size)` makes the 413 (size None: a body of unknown length past the bound);
    `not_multipart` is the 422's message for another content type; `unreadable` follows the
    parser's own reason when the form cannot be read. The caller closes the form."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > bound:
        raise too_large(int(declared))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid(not_multipart)

    async def bounded() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > bound:
                raise too_large(None)
            yield chunk

    parser = MultiPartParser(
        request.headers,
        bounded(),
        max_files=max_files,
        max_fields=max_fields,
        max_part_size=max_part_size,
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise Invalid(f"the form could not be read ({exc.message}){unreadable}") from None
