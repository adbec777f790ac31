"""What the API documents of its errors: one body for every 4xx and 5xx, and the statuses each
route may answer, so that /docs and generated clients know them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One field of the request that could not be read."""

    type: str
    loc: list[str | int] = Field(examples=[["query", "limit"]])
    msg: str


class Problem(BaseModel):
    """Why the request failed: a sentence to act on, and every problem when there are several
    (an invalid zip's, one per file); a request that cannot be read lists its fields."""

    detail: str | list[FieldProblem] = Field(
        examples=["not a valid cifar10 submission: 2 problems; nothing was stored"]
    )
    errors: list[str] | None = Field(
        None,
        examples=[["cifar10/cifar10_hi/dev/model_100/prediction.csv: 199 values, expected 200"]],
    )


MEANINGS = {
    400: "the request body could not be parsed (a malformed form or JSON)",
    401: "no API token, or not a valid one (`Authorization: Bearer <token>`)",
    403: "the token's owner may not do this (not an organizer, not registered, banned)",
    404: "no such competition, track or item, or not one the token's owner may see",
    409: "the request clashes with what is stored",
    413: "the upload is over the size limit",
    422: "a field is missing or has a bad value: `detail` says which",
    429: "a submission limit is reached; `Retry-After` says when it resets",
    503: "the server is too busy; `Retry-After` says when to try again",
}


def problems(*codes: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for routes (or routers) that may answer these statuses; a meaning given by
    keyword (`_413="..."`) replaces the usual one."""
    return {
        code: {"model": Problem, "description": meanings.get(f"_{code}", MEANINGS[code])}
        for code in codes
    }


# A route reading a JSON body: 400 when it is not JSON at all.
BODY_ERRORS = problems(400)
CSV = {"text/csv": {"schema": {"type": "string"}}}


def with_csv(description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route answering JSON or, with `?format=csv`, the same rows as CSV."""
    return {200: {"description": description, "content": CSV}}


# Approving, rejecting, banning: a move that makes no sense is refused.
STATUS_CONFLICT = problems(409, _409="a move that makes no sense, e.g. rejecting an approved one")

# Every organizers' route: a token, an organizer of the competition, things that exist.
ORGANIZER_ERRORS = problems(401, 403, 404, 422)
