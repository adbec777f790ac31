"""/docs (Swagger UI) and /redoc (ReDoc) served with their scripts and styles from this server:
FastAPI's own pages load them from a CDN, and are blank without the internet. The files come
from the fastapi-offline package, which ships Swagger UI 5 and ReDoc 2 as installed files."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
FILES = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_UI = {
    "validatorUrl": None,  # its badge would ask validator.swagger.io about every schema
    "persistAuthorization": True,  # the token pasted into Authorize survives a reload
}


def serve_docs(app: FastAPI) -> None:
    """/docs and /redoc on files of this server alone (create the app with docs_url and
    redoc_url None, so that FastAPI adds no CDN pages of its own)."""
    app.mount(ASSETS, StaticFiles(directory=FILES), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title} API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{title} API",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,  # fonts from Google: the system's serve as well
        )
        # ReDoc's menu shows its maker's logo from their CDN (hidden when it fails): with
        # this, the browser does not even ask for it.
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page


def _root(request: Request) -> str:
    """The prefix a proxy serves the app under (`--root-path`), as FastAPI's own pages use."""
    return str(request.scope.get("root_path", "")).rstrip("/")
