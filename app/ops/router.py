"""Operations: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.core.config import Settings
from app.ops import service
from app.ops.metrics import Metrics
from app.ops.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=Health,
    summary="Liveness",
    description="200 while the process answers; it reads no database or broker, so a "
    "container is not restarted because a dependency is away (see /readyz for that).",
)
def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness",
    description=f"200 when the database (and the broker, when REDIS_URL is set) answer, "
    f"each within {service.CHECK_SECONDS:g} s; 503 naming what is down otherwise. For a load "
    "balancer: send requests to this process only while it is ready.",
    responses={503: {"model": Readiness, "description": "A dependency is down."}},
)
async def readyz(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    checks = await service.readiness(request.app.state.session_factory, settings.redis_url)
    ready = all(state == service.OK for state in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus's text format; with METRICS_TOKEN set, only for `Bearer <that token>`."""
    token = request.app.state.settings.metrics_token
    if token is not None and not _bearer_is(authorization, token):
        return PlainTextResponse(
            "/metrics needs the header Authorization: Bearer <METRICS_TOKEN>\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    collected: Metrics = request.app.state.metrics
    return Response(collected.exposition(), media_type=CONTENT_TYPE_LATEST)


def _bearer_is(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    )
