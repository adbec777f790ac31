"""The dependencies every organizers' route shares: who may use them, checked once."""

from __future__ import annotations

from fastapi import Depends

from app.competitions.dependencies import organizer_api, organizer_page
from app.core.csrf import verify_csrf

# The organizer first: an anonymous visitor is sent to sign in, whatever the form holds.
ORGANIZER_FORM = [Depends(organizer_page), Depends(verify_csrf)]
ORGANIZER_PAGE = [Depends(organizer_page)]
ORGANIZER_API = [Depends(organizer_api)]

# Every admin URL is under one of these: the pages, and the API.
PAGES_PATH = "/competitions/{slug}/admin"
API_PATH = "/api/v1/admin/competitions/{slug}"
