"""JSON logs: one access-log line per request with its request ID and latency (pure ASGI)."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from datetime import datetime, timezone
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nextbuy.serving.metrics import ServingMetrics

ACCESS_LOGGER = "nextbuy.access"
#: Incoming request IDs are echoed only when they look like IDs (no header injection, bounded).
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_REQUEST_ID_HEADER = b"x-request-id"
_INTERNAL_ERROR = orjson.dumps({"detail": "internal error; quote the X-Request-ID when reporting"})

access_logger = logging.getLogger(ACCESS_LOGGER)
logger = logging.getLogger("nextbuy.serving")


class JsonFormatter(logging.Formatter):
    """Formats records as one JSON object per line (access lines are already JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return record.getMessage()
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: str = "info") -> None:
    """Send nextbuy's and uvicorn's logs to stderr as JSON lines (once per process)."""
    root = logging.getLogger("nextbuy")
    if any(getattr(h, "_nextbuy", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._nextbuy = True  # type: ignore[attr-defined]
    for name in ("nextbuy", "uvicorn.error"):
        log = logging.getLogger(name)
        log.handlers = [handler]
        log.propagate = False
        log.setLevel(level.upper())
    access_logger.setLevel(logging.INFO)


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def _route_template(scope: Scope) -> str:
    """The matched route's path template (bounded label set), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Gives every request an ID (``X-Request-ID``), times it, logs it and counts it.

    Pure ASGI (no ``BaseHTTPMiddleware``): it wraps ``send`` to add the header and to see the
    status code, which costs a few microseconds per request. An exception that escapes the app
    becomes a JSON 500 carrying the request ID, and its traceback is logged.
    """

    def __init__(
        self, app: ASGIApp, metrics: ServingMetrics | None = None, access_log: bool = True
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self._prefix = os.urandom(4).hex()
        self._counter = 0

    def _new_id(self) -> str:
        self._counter += 1
        return f"{self._prefix}-{self._counter:x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_HEADER:
                if _SAFE_ID.match(value):
                    request_id = value.decode("ascii")
                break
        if request_id is None:
            request_id = self._new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        rid_header = (_REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 500
        started = False
        sent = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, started, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [*message.get("headers", ()), rid_header]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "unhandled error in %s %s (request %s)", scope["method"], scope["path"], request_id
            )
            if started:
                raise
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_INTERNAL_ERROR)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, elapsed)
            if self.access_log and access_logger.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_logger.info(
                    AccessLine(
                        time.time(), request_id, scope["method"], scope["path"], route, status,
                        elapsed, sent, client[0] if client else None,
                    )
                )  # fmt: skip


class AccessLine:
    """One access-log message, formatted as its JSON line only when a handler reads it
    (``str``): a request pays for a few references, not for the formatting."""

    __slots__ = ("at", "request_id", "method", "path", "route", "status", "elapsed", "sent",
                 "client")  # fmt: skip

    def __init__(
        self, at: float, request_id: str, method: str, path: str, route: str, status: int,
        elapsed: float, sent: int, client: str | None,
    ) -> None:  # fmt: skip
        self.at, self.request_id, self.method, self.path = at, request_id, method, path
        self.route, self.status, self.elapsed, self.sent = route, status, elapsed, sent
        self.client = client

    def __str__(self) -> str:
        return orjson.dumps(
            {
                "ts": _timestamp(self.at),
                "level": "info",
                "logger": ACCESS_LOGGER,
                "request_id": self.request_id,
                "method": self.method,
                "path": self.path,
                "route": self.route,
                "status": self.status,
                "latency_ms": round(self.elapsed * 1000, 3),
                "bytes": self.sent,
                "client": self.client,
            }
        ).decode()
