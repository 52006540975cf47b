"""structlog: one JSON object per line; the request id is bound through contextvars by the middleware.

The service's own events go from structlog straight to stdout (no standard-library record in between: the
access line of every request is one of them, and the detour through ``logging`` cost three times as much).
Standard-library loggers (uvicorn, alembic, httpx) go through the same processors and JSON renderer, so every line
on stdout is JSON; both write whole lines and flush them, so lines never interleave.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog


def _dumps(event: dict, **_: object) -> str:
    """orjson (UTF-8 kept as is, like ``ensure_ascii=False``); anything it cannot encode becomes its str()."""
    return orjson.dumps(event, default=str).decode()


_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class StdoutLogger:
    """structlog's output for the service's own events: each rendered line written to whatever ``sys.stdout``
    is at the moment (a logger cached on first use must not keep a stream that a test, or a CLI, has since
    replaced), and flushed."""

    def msg(self, message: str) -> None:
        stream = sys.stdout
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stdout_logger(*_args: object) -> StdoutLogger:
    return StdoutLogger()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_dumps),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "httpx", "alembic"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The access line is RequestMiddleware's (with route, duration, actor and request id). uvicorn logs
    # its own whenever "uvicorn.access" has a handler, even with access_log=False: that would be every request
    # twice, at the cost of a second record and line.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info, structlog.processors.JSONRenderer(serializer=_dumps)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stdout_logger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None) -> Any:
    """A structlog logger (``name`` is kept for the reader of the code; the lines do not carry it)."""
    return structlog.get_logger(name)
