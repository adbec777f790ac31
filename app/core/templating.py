"""The one Jinja2 environment: autoescaping on, the CSRF token and the kept messages available
to every page."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from app.core.csrf import csrf_token
from app.core.flash import flashes
from app.core.markdown import render_markdown
from app.core.sizes import size_text

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")
templates.env.globals["csrf_token"] = csrf_token
templates.env.filters["markdown"] = render_markdown
templates.env.globals["flashes"] = flashes
templates.env.filters["filesize"] = size_text
