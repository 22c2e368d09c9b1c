"""Open-loop HTTP/1.1 load generator: requests at evenly spaced times, whatever the server does.

Request ``i`` is due at ``start + i / rate``. It goes out over a pool of keep-alive
connections as soon as it is due; if every connection is still waiting for an answer (the
server is behind) it queues, and its latency then counts from its due time, so a stall shows
up in the percentiles instead of silently lowering the rate (no coordinated omission).
Otherwise latency runs from the moment it was written to the last byte of its answer (the
driver's own timer jitter is not blamed on the server).

Written with asyncio protocols (no task per request) so that the driver takes little of the
CPU it shares with the server. Prints one JSON object; ``benchmarks/load.py`` runs it in a
separate process.

    python benchmarks/fixed_rate.py --url http://127.0.0.1:8000 --rate 1000 --duration 30 \\
        --requests requests.jsonl     # lines of {"method": ..., "path": ..., "body": ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds


def build_requests(lines: list[dict[str, str]], host: str) -> list[bytes]:
    """Raw HTTP/1.1 requests (keep-alive), one per line of the requests file."""
    out = []
    for line in lines:
        body = (line.get("body") or "").encode()
        head = f"{line['method']} {line['path']} HTTP/1.1\r\nHost: {host}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        out.append(head.encode() + b"\r\n" + body)
    return out


class Driver:
    """Schedules the requests and records one latency (or error) per request."""

    def __init__(self, requests: list[bytes], rate: float, total: int) -> None:
        self.requests = requests
        self.rate = rate
        self.total = total
        self.sent = 0
        self.latencies: list[float] = []
        self.errors = 0
        self.idle: deque[Connection] = deque()
        self.backlog: deque[tuple[int, float]] = deque()  # (request, due time) waiting
        self.start = 0.0
        self.finished_at = 0.0
        self.done: asyncio.Future[None] | None = None

    def tick(self) -> None:
        """Send everything due by now, then sleep until the next request is due."""
        loop = asyncio.get_running_loop()
        now = clock()
        while self.sent < self.total and self.start + self.sent / self.rate <= now:
            self.dispatch(self.sent, self.start + self.sent / self.rate)
            self.sent += 1
        if self.sent < self.total:
            wait = self.start + self.sent / self.rate - clock()
            loop.call_later(max(0.0, wait), self.tick)

    def dispatch(self, i: int, due: float) -> None:
        if self.idle:
            self.idle.popleft().send(self.requests[i % len(self.requests)], None)
        else:
            self.backlog.append((i, due))

    def release(self, conn: Connection) -> None:
        if self.backlog:
            i, due = self.backlog.popleft()
            conn.send(self.requests[i % len(self.requests)], due)
        else:
            self.idle.append(conn)

    def record(self, latency: float | None) -> None:
        if latency is None:
            self.errors += 1
        else:
            self.latencies.append(latency)
        if len(self.latencies) + self.errors == self.total and self.done and not self.done.done():
            self.finished_at = clock()
            self.done.set_result(None)


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.buffer = bytearray()
        self.started = 0.0
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float | None) -> None:
        """Write ``request``; latency counts from ``due`` when it had to queue, else from now."""
        self.busy = True
        self.started = clock() if due is None else due
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = 0
        for line in head.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        self.busy = False
        self.driver.record(clock() - self.started if 200 <= status < 300 else None)
        self.driver.release(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.busy = False
            self.driver.record(None)


async def drive(
    host: str, port: int, requests: list[bytes], rate: float, duration: float, connections: int
) -> dict[str, float]:
    """Send ``rate * duration`` requests on schedule and summarise their latencies."""
    loop = asyncio.get_running_loop()
    driver = Driver(requests, rate, int(rate * duration))
    driver.done = loop.create_future()
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: Connection(driver), host, port)
        driver.idle.append(conn)
    driver.start = clock() + 0.05
    loop.call_later(0.05, driver.tick)
    try:
        await asyncio.wait_for(driver.done, timeout=duration + 60)
    except asyncio.TimeoutError:
        driver.errors += driver.total - len(driver.latencies) - driver.errors
        driver.finished_at = clock()
    lat = sorted(driver.latencies) or [math.nan]

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, math.ceil(p / 100 * len(lat)) - 1)] * 1000

    elapsed = driver.finished_at - driver.start
    return {
        "offered": rate,
        "achieved": len(driver.latencies) / elapsed if elapsed > 0 else 0.0,
        "requests": driver.total,
        "errors": driver.errors,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": lat[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="http://host:port")
    parser.add_argument("--requests", type=Path, required=True, help="JSON lines to cycle")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    args = parser.parse_args()
    url = urlsplit(args.url)
    lines = [json.loads(x) for x in args.requests.read_text().splitlines() if x.strip()]
    requests = build_requests(lines, url.netloc)
    run = asyncio.run
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # plain asyncio is slower but correct
        pass
    started = time.perf_counter()
    result = run(
        drive(url.hostname or "127.0.0.1", url.port or 80, requests, args.rate, args.duration,
              args.connections)
    )  # fmt: skip
    result["wall_s"] = time.perf_counter() - started
    print(json.dumps(result))


if __name__ == "__main__":
    main()
