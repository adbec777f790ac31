"""The application: routers, sessions, error handlers. Nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from time import monotonic

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match

from app.admin import site as admin_site
from app.auth import account_router
from app.auth import router as auth_router
from app.auth.dependencies import LoginRequired
from app.benchmark import router as benchmark_router
from app.competitions import creation_router
from app.competitions import router as competitions_router
from app.core.config import Settings, get_settings
from app.core.db import sessions
from app.core.docs import serve_docs
from app.core.errors import DomainError, Invalid, Unavailable
from app.core.jobs import Dispatcher
from app.core.logs import request_id
from app.core.templating import templates
from app.leaderboard import router as leaderboard_router
from app.leaderboard import statistics_router
from app.leaderboard.microcache import AnonymousLeaderboards, route_of
from app.leaderboard.service import StandingsCache
from app.mail import outbox
from app.ops import router as ops_router
from app.ops.metrics import Metrics
from app.ops.middleware import HEADER, RequestContext
from app.results import router as results_router
from app.submissions import router as submissions_router
from app.submissions.notices import DoneListener
from app.submissions.pipeline import Sweeper, dispatcher_for


def create_app(
    settings: Settings | None = None,
    session_factory: Callable[[], Session] | None = None,
    dispatcher: Dispatcher | None = None,
    *,
    clock: Callable[[], float] = monotonic,
) -> FastAPI:
    """A new application on the settings' database and queue; tests may pass a session factory
    and a dispatcher of their own (then nothing runs in the background), and the clock the
    leaderboards' cache ages by."""
    settings = settings or get_settings()
    factory = session_factory or sessions()
    background = dispatcher is None
    if dispatcher is None:
        dispatcher = dispatcher_for(settings, factory)
    app = FastAPI(
        title="mia-arena",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url=None,  # served by serve_docs, from this server's files rather than a CDN
        redoc_url=None,
        # Refused at its Content-Length, or as soon as a chunked body passes it: never spooled.
        max_body_size=settings.max_upload_bytes + MULTIPART_OVERHEAD,
        lifespan=partial(_lifespan, settings, factory, dispatcher, background),
    )
    serve_docs(app)
    app.state.settings = settings
    app.state.session_factory = factory
    app.state.metrics = Metrics(factory, settings.prometheus_multiproc_dir)
    app.state.dispatcher = dispatcher
    app.state.done = DoneListener(settings.database_url)
    app.state.standings = StandingsCache(
        settings.leaderboard_cache_seconds, clock, on_made=app.state.metrics.rankings.observe
    )
    app.add_middleware(AnonymousLeaderboards, cache=app.state.standings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="mia_session",
        same_site="lax",
        https_only=settings.environment == "production",
        max_age=14 * 24 * 3600,
    )
    # Added last, so outermost: every answer, cached or failed, has its id and is counted.
    app.add_middleware(
        RequestContext, metrics=app.state.metrics, routes=app.router.routes, route_of=route_of
    )
    app.include_router(ops_router.router)
    app.include_router(auth_router.pages, include_in_schema=False)
    app.include_router(auth_router.api)
    app.include_router(account_router.pages, include_in_schema=False)
    # Before the competitions' pages: /competitions/new is not a competition's slug.
    app.include_router(creation_router.pages, include_in_schema=False)
    app.include_router(creation_router.api)
    app.include_router(competitions_router.pages, include_in_schema=False)
    app.include_router(competitions_router.api)
    app.include_router(submissions_router.pages, include_in_schema=False)
    app.include_router(submissions_router.api)
    app.include_router(leaderboard_router.pages, include_in_schema=False)
    app.include_router(leaderboard_router.api)
    app.include_router(statistics_router.router)  # a track's statistics and analysis
    app.include_router(results_router.pages, include_in_schema=False)
    app.include_router(results_router.api)
    app.include_router(benchmark_router.pages, include_in_schema=False)
    app.include_router(benchmark_router.api)
    app.include_router(admin_site.pages, include_in_schema=False)  # the organizers' back office
    app.include_router(admin_site.api)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DataError, _invalid_value)
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    return app


METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")  # those a 405's Allow may name
MULTIPART_OVERHEAD = 64 * 1024  # an upload form's other fields and boundaries
API_DESCRIPTION = """The JSON API of a competition server for membership-inference attacks (MICO).

Send an API token with every request that needs an account:
`Authorization: Bearer <token>` (make one on your account page, or with
`mia-arena tokens create EMAIL`). Leaderboards need none. Every error answers
`{"detail": "...", "errors": [...]}`: `detail` says what to do, `errors` lists every problem of
an invalid zip. The browser pages are not part of this API."""


@asynccontextmanager
async def _lifespan(
    settings: Settings,
    factory: Callable[[], Session],
    dispatcher: Dispatcher,
    background: bool,
    app: FastAPI,
) -> AsyncIterator[None]:
    """Listening for scored submissions (PostgreSQL); in embedded mode, a sweeper resends what
    a crash or restart left unscored."""
    if background and settings.database_url.startswith("postgresql"):
        app.state.done.start()
    sweeper = mailer = waker = None
    if background and not settings.redis_url:
        sweeper = Sweeper.from_settings(factory, dispatcher, settings)
        sweeper.start()
        mailer = outbox.Mailer(factory, settings)
        mailer.start()
        waker = mailer.woken.set
    elif background and settings.redis_url:
        waker = outbox.celery_waker(settings.redis_url)
    if waker is not None:
        outbox.wakers.append(waker)
    yield
    if sweeper is not None:
        sweeper.stopped.set()
    if waker is not None:
        outbox.wakers.remove(waker)
    if mailer is not None:
        mailer.stop()
    if background:
        dispatcher.close()
    await app.state.done.stop()


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A form with a missing or malformed field: JSON for the API, the error page otherwise."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/api/"):
        # Without the offending input: a file sent as a plain field would come back whole.
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, 422)
    fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
    return await _domain_error(
        request, Invalid(f"the form is missing or has a bad value: {fields}")
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """The framework's own errors; a 405's `Allow` lists every method of the path, where the
    router names only those of the first route it tried (POST for a path that takes DELETE
    too)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allowed = [
            method
            for method in METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] is Match.FULL
                for route in request.app.router.routes
            )
        ]
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
    return await http_exception_handler(request, exc)


async def _busy(request: Request, exc: Exception) -> Response:
    """Every database connection taken for too long: a 503 to retry, not a 500."""
    return await _domain_error(
        request,
        Unavailable(
            "the server is too busy right now; try again in a few seconds",
            headers={"Retry-After": "5"},
        ),
    )


async def _invalid_value(request: Request, exc: Exception) -> Response:
    """A value the database cannot take (a NUL character, a number out of range): a 422."""
    return await _domain_error(
        request,
        Invalid(
            "a value in the request cannot be stored (a NUL character, or a number "
            "out of range); remove it and try again"
        ),
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A fault of the server (already logged with its request id by app.ops.middleware): a
    500 that names the request id to quote, and shows nothing of the fault itself."""
    rid = request_id.get()
    message = f"something went wrong on the server; if it happens again, quote request id {rid}"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, 500, headers={HEADER: rid})
    return templates.TemplateResponse(
        request, "error.html", {"message": message, "errors": []}, 500, headers={HEADER: rid}
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    """The API answers JSON; pages answer HTML (or the login form when signed out)."""
    assert isinstance(exc, DomainError)
    if request.url.path.startswith("/api/"):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        body: dict[str, object] = {"detail": exc.message}
        if exc.errors is not None:
            body["errors"] = exc.errors
        return JSONResponse(body, exc.status_code, headers={**headers, **exc.headers})
    if isinstance(exc, LoginRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"message": exc.message, "errors": exc.errors or []},
        status_code=exc.status_code,
        headers=exc.headers,
    )
