"""Whether the event store answers, as reads and writes need to know it.

Reads never wait for a store known to be down (they answer from the model and say the online
state is stale); writes answer 503 with ``Retry-After`` at once; the background thread tries
again every ``retry_s``. Failures are logged once with their traceback, then at most once a
minute, so a store that is down for an hour writes about sixty lines, not 3,600 tracebacks.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("nextbuy.serving")

#: Header on every answer given while the online state (events, catalog changes) is stale.
STALE_HEADER = b"x-nextbuy-online-state"
#: At most one log line per this many seconds while the store stays down.
LOG_EVERY_S = 60.0

State = Literal["ok", "down", "off"]


class StoreHealth:
    """The event store's state in this process: ``ok``, ``down`` (since when, why) or ``off``."""

    def __init__(self, retry_s: float = 2.0, enabled: bool = True) -> None:
        self.retry_s = retry_s
        self.enabled = enabled
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_try = 0.0
        self._last_log = 0.0
        self._failures = 0
        self._reason = ""
        #: True while the served snapshot lacks the store's state (started or loaded while down).
        self.snapshot_stale = False

    @property
    def state(self) -> State:
        if not self.enabled:
            return "off"
        return "down" if self._down_since is not None else "ok"

    @property
    def stale(self) -> bool:
        """Answers may miss recent events or catalog changes."""
        return self.enabled and (self._down_since is not None or self.snapshot_stale)

    def should_try(self) -> bool:
        """False while the store is down and was tried less than ``retry_s`` ago (fail fast)."""
        return self._down_since is None or time.monotonic() - self._last_try >= self.retry_s

    def failed(self, what: str, exc: BaseException) -> None:
        """Record a failure; log it with its traceback the first time, then once a minute."""
        now = time.monotonic()
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = now
            self._last_try = now
            self._failures += 1
            self._reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log = first or now - self._last_log >= LOG_EVERY_S
            if log:
                self._last_log = now
            failures = self._failures
        if first:
            logger.warning(
                "event store unreachable (%s); answering from the model, writes answer 503",
                what,
                exc_info=exc,
            )
        elif log:
            down = now - (self._down_since or now)
            logger.warning(
                "event store still unreachable after %.0f s (%d failures; last: %s)",
                down,
                failures,
                self._reason,
            )

    def succeeded(self) -> None:
        """Record a success; say once that the store is back."""
        with self._lock:
            was_down = self._down_since
            self._down_since = None
            self._failures = 0
        if was_down is not None:
            logger.info("event store reachable again after %.0f s", time.monotonic() - was_down)

    def readiness(self) -> dict[str, Any]:
        """The ``store`` part of ``/ready``: state, whether writes work, seconds down."""
        down = self._down_since
        return {
            "state": self.state,
            "writes": self.state == "ok",
            "stale": self.stale,
            "down_s": None if down is None else round(time.monotonic() - down, 1),
        }


class StaleHeaderMiddleware:
    """Adds ``X-NextBuy-Online-State: stale`` to every answer given while the state is stale."""

    def __init__(self, app: ASGIApp, health: StoreHealth) -> None:
        self.app = app
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and self.health.stale:
                headers = list(message.get("headers", []))
                headers.append((STALE_HEADER, b"stale"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_marked)
