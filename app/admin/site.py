"""The organizers' back office as one unit: every area's pages under one router and every
area's API under another, each guarded by the organizer dependency (the one check of who may
use them: services trust it), which `create_app` includes once each.

Not a mounted `FastAPI` sub-application: a mount with `{slug}` in its path gives the
sub-application its own routing table, error handlers and OpenAPI schema, while the API must
stay in the main /openapi.json and /docs, and every organizers' route must stay visible in the
main routing table (the 405 `Allow` header, request metrics and the route-walking tests read
it). The routers give the same one-dependency guard without splitting either."""

from __future__ import annotations

from fastapi import APIRouter

from app.admin.audit import router as audit
from app.admin.benchmark import router as benchmark
from app.admin.dependencies import ORGANIZER_API, ORGANIZER_PAGE
from app.admin.downloads import router as downloads
from app.admin.participants import router as participants
from app.admin.phases import router as phases
from app.admin.results import router as results
from app.admin.settings import router as settings
from app.admin.submissions import router as submissions
from app.admin.tracks import router as tracks
from app.admin.truth import router as truth
from app.core.openapi import ORGANIZER_ERRORS

AREAS = (
    phases,
    submissions,
    audit,
    truth,
    participants,
    downloads,
    settings,
    tracks,
    results,
    benchmark,
)

pages = APIRouter(dependencies=ORGANIZER_PAGE, include_in_schema=False)
api = APIRouter(dependencies=ORGANIZER_API, tags=["admin"], responses=ORGANIZER_ERRORS)
for area in AREAS:
    pages.include_router(area.pages)
    api.include_router(area.api)
