"""Logging: JSON lines for a log collector (production) or text for people, each line with the
id of the request it belongs to."""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any
from uuid import uuid4

from app.core.config import Settings

# The request being served by this task (set by app.ops.middleware); "-" outside requests.
request_id: ContextVar[str] = ContextVar("request_id", default="-")

# What a proxy or client may send as X-Request-ID: a UUID, a hex or base64 id, a trace id.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}", re.ASCII)
# Attributes every LogRecord has: anything else was passed as `extra=` and is logged as a field.
# (uvicorn adds a coloured copy of its messages: not a field.)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def request_id_from(header: str | None) -> str:
    """The client's or proxy's request id when it is a sane one, otherwise a new one."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (as `request_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class DropUnhandled(logging.Filter):
    """Drops uvicorn's own report of an exception the app has already logged with its
    request id (app.ops.middleware), so each error is logged once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Exception in ASGI application")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extra fields and the
    traceback; newlines in messages stay inside their JSON string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, with control characters in the message escaped: a path sent with a
    newline in it cannot forge a second line."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def escape_controls(text: str) -> str:
    """`text` with control characters written as escapes (\\n, \\x1b...)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def logging_config(
    settings: Settings, stream: IO[str] | str = "ext://sys.stderr", level: str | None = None
) -> dict[str, Any]:
    """The dictConfig for a process: one handler on stderr (or `stream`), JSON or text, the
    request id on every record; uvicorn's and Celery's loggers go through it too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "unhandled": {"()": DropUnhandled},
        },
        "formatters": {"json": {"()": JsonFormatter}, "text": {"()": TextFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": stream,
                "formatter": "json" if settings.json_logs else "text",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level or settings.log_level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's default configuration gives these handlers of their own: use ours.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True, "filters": ["unhandled"]},
            # Each request is logged once, by app.ops.middleware (with its route and id).
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def configure_logging(settings: Settings, level: str | None = None) -> None:
    """Set up this process's logging from the settings (LOG_FORMAT, LOG_LEVEL, ENVIRONMENT);
    `level` instead of LOG_LEVEL when given."""
    logging.config.dictConfig(logging_config(settings, level=level))
