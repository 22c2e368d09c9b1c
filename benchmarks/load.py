"""Load benchmark of the REST API: latency at a fixed request rate and maximum throughput.

Builds (once, cached) a synthetic shop model of 100,000 users x 20,000 items (ALS, 64
factors), starts ``python -m nextbuy.serving`` on a free port, drives it from separate
processes and prints a markdown table per endpoint: rate offered and achieved, p50/p95/p99
latency, errors, and the server's CPU time per request (from /proc).

* Maximum throughput first: ``wrk`` (one thread) with a Lua script that varies users and items;
  every endpoint runs right after its own ``GET /health`` run (the framework's own floor, same
  server, same minute), and a second table gives each endpoint's maximum as a multiple of it.
* Fixed rate, open loop: ``benchmarks/fixed_rate.py`` sends request ``i`` at ``start + i/rate``
  and measures latency from that due time, so stalls count (no coordinated omission). The rate
  is half of ``GET /health``'s maximum (the median of its runs) unless ``--rate`` says.
* Fixed rate, closed loop: Debian's ``hey -c 10 -q 100`` on POST /recommend, for comparison.
  Its workers' tickers fire together (bursts of 10 every 10 ms) and a worker waits for its
  answer before sending again, so it measures something between the two other rows.

Needs ``hey`` and ``wrk`` (``apt-get install -y hey wrk``). Everything runs on this machine
(server and load generators share its cores), on 127.0.0.1 only; every run is bounded in time.

    python benchmarks/load.py                    # the full protocol (about 4 minutes)
    python benchmarks/load.py --duration 5 --max-duration 5   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    """One row of the table."""

    endpoint: str
    tool: str
    offered: float | None  # requests/s asked for (None: as fast as possible)
    achieved: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    server_cpu_us: float = float("nan")  # server CPU time per request (user + system)


# ---------------------------------------------------------------------- the model
def ensure_model(models: Path, users: int, items: int, interactions: int, factors: int) -> Path:
    """MODELS/shop-<users>x<items>: built once (generate, fit ALS, save), then reused."""
    name = f"shop-{users}x{items}-f{factors}"
    model_dir = models / name
    if (model_dir / "LATEST").is_file():
        print(f"model: reusing {model_dir}", file=sys.stderr)
        return model_dir
    from nextbuy.artifacts import save_artifact
    from nextbuy.data.interactions import Interactions
    from nextbuy.data.synthetic import generate_shop
    from nextbuy.models import registry

    start = time.perf_counter()
    shop = generate_shop(n_users=users, n_items=items, n_interactions=interactions, seed=42)
    train = Interactions.from_frame(shop.interactions)
    model = registry.create("als", factors=factors, iterations=10).fit(train)
    save_artifact(model, train, models, name, catalog=shop.items, data={"source": "synthetic"})
    print(
        f"model: built {model_dir} ({train.n_users:,} users x {train.n_items:,} items, "
        f"{len(train):,} pairs) in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    return model_dir


def sample_ids(model_dir: Path, n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Random known user and item IDs of the served version (read from its ID files)."""
    version = model_dir / (model_dir / "LATEST").read_text().strip()
    users = pd.read_parquet(version / "users.parquet")["user_id"].astype(str).to_numpy()
    items = pd.read_parquet(version / "items.parquet")["item_id"].astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    return list(rng.choice(users, n)), list(rng.choice(items, n))


# ---------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    model_dir: Path, port: int, workers: int, log: Path, cache: bool = False
) -> subprocess.Popen[bytes]:
    """``python -m nextbuy.serving`` in its own process; returns once /ready answers 200.

    The per-user answer cache is off unless ``cache``: the benchmark reuses 1,000 users, so
    with it on most answers would be cache hits rather than scoring.
    """
    cmd = [sys.executable, "-m", "nextbuy.serving", "--model-dir", str(model_dir),
           "--port", str(port), "--workers", str(workers)]  # fmt: skip
    # a fresh event store per run: impressions pile up (ten rows per answer), and a store
    # holding earlier runs' millions of rows makes every insert, and so every run, slower
    store = log.parent / "load-events.db"
    for stale in log.parent.glob("load-events.db*"):
        stale.unlink()
    with open(log, "wb") as fh:
        env = {**os.environ, "NEXTBUY_CACHE_SIZE": os.environ.get("NEXTBUY_CACHE_SIZE", "0"),
               "NEXTBUY_DATABASE_URL": f"sqlite:///{store}"}  # fmt: skip
        if cache:
            env.pop("NEXTBUY_CACHE_SIZE")
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server not ready after 120 s; see {log}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live children (worker processes).

    NaN where /proc is missing.
    """
    total, found = 0.0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            found = True
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total if found else float("nan")


# ---------------------------------------------------------------------- open loop (fixed rate)
def run_open_loop(
    endpoint: str, base: str, requests: list[tuple[str, str, str]], rate: float, duration: float
) -> Result:
    """``benchmarks/fixed_rate.py`` in its own process: evenly spaced requests at ``rate``."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
        for method, path, body in requests:
            fh.write(json.dumps({"method": method, "path": path, "body": body}) + "\n")
        lines = fh.name
    try:
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "fixed_rate.py"), "--url", base,
             "--requests", lines, "--rate", f"{rate:g}", "--duration", f"{duration:g}"],
            capture_output=True, text=True, timeout=duration + 120, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(lines)
    d = json.loads(out)
    return Result(
        endpoint, "open loop", rate, d["achieved"], d["p50_ms"], d["p95_ms"], d["p99_ms"],
        d["requests"], d["errors"],
    )  # fmt: skip


# ---------------------------------------------------------------------- hey (fixed rate)
_HEY_PCT = re.compile(r"^\s*(\d+)% in ([\d.]+) secs", re.M)
_HEY_STATUS = re.compile(r"^\s*\[(\d+)\]\s+(\d+) responses", re.M)
_HEY_ERRORS = re.compile(r"^\s*\[(\d+)\]\s+(?!.*responses)", re.M)


def run_hey(
    endpoint: str, url: str, rate: float, duration: float, body: str | None, workers: int
) -> Result:
    """``hey -z`` at ``rate`` requests/s spread over ``workers`` rate-limited workers."""
    workers = max(1, min(workers, int(rate)))
    cmd = ["hey", "-z", f"{duration:g}s", "-c", str(workers), "-q", f"{rate / workers:g}",
           "-t", "10", "-cpus", "1"]  # fmt: skip
    if body is not None:
        cmd += ["-m", "POST", "-T", "application/json", "-d", body]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, timeout=duration + 60, check=True
    ).stdout
    pct = {int(p): float(s) * 1000 for p, s in _HEY_PCT.findall(out)}
    statuses = {int(code): int(n) for code, n in _HEY_STATUS.findall(out)}
    errors_section = out.split("Error distribution:")[1] if "Error distribution:" in out else ""
    transport_errors = sum(int(n) for n in _HEY_ERRORS.findall(errors_section))
    ok = sum(n for code, n in statuses.items() if 200 <= code < 300)
    total = sum(statuses.values()) + transport_errors
    achieved = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Result(
        endpoint, f"hey -c{workers} -q{rate / workers:g}", rate, achieved, pct.get(50, np.nan),
        pct.get(95, np.nan), pct.get(99, np.nan), total, total - ok,
    )  # fmt: skip


# ---------------------------------------------------------------------- wrk (max throughput)
WRK_SCRIPT = """
local reqs = %s
local i = 0
request = function()
  i = i + 1
  local r = reqs[(i %% #reqs) + 1]
  if r[3] ~= "" then
    return wrk.format(r[1], r[2], {["Content-Type"] = "application/json"}, r[3])
  end
  return wrk.format(r[1], r[2])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests": %%d, "duration_us": %%d, "errors": %%d, ' ..
    '"p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def run_wrk(
    endpoint: str, base: str, requests: list[tuple[str, str, str]], duration: float, conns: int
) -> Result:
    """``wrk`` (one thread, ``conns`` connections) cycling through ``requests``."""
    table = (
        "{"
        + ",".join("{" + ",".join(json.dumps(part) for part in req) + "}" for req in requests)
        + "}"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT % table)
        script = fh.name
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{conns}",
                f"-d{duration:g}s",
                "--timeout",
                "10s",
                "-s",
                script,
                base,
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    stats = json.loads(out.split("RESULT", 1)[1])
    seconds = stats["duration_us"] / 1e6
    return Result(
        endpoint, f"wrk -c{conns}", None, stats["requests"] / seconds, stats["p50"] / 1000,
        stats["p95"] / 1000, stats["p99"] / 1000, stats["requests"], stats["errors"],
    )  # fmt: skip


# ---------------------------------------------------------------------- report
def table(results: list[Result]) -> str:
    lines = [
        "| endpoint | driver | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms "
        "| requests | errors | server CPU µs/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        offered = "max" if r.offered is None else f"{r.offered:,.0f}"
        lines.append(
            f"| {r.endpoint} | {r.tool} | {offered} | {r.achieved:,.0f} | {r.p50_ms:.2f} | "
            f"{r.p95_ms:.2f} | {r.p99_ms:.2f} | {r.requests:,} | {r.errors:,} | "
            f"{r.server_cpu_us:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=ROOT / "build" / "load-bench")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=2_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--duration", type=float, default=30, help="seconds per fixed-rate run")
    parser.add_argument("--max-duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="req/s of the fixed-rate single-user rows (default: half GET /health's maximum)",
    )
    parser.add_argument("--batch-rate", type=float, default=20, help="req/s of 100-user batches")
    parser.add_argument("--wrk-connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--cache", action="store_true", help="leave the per-user answer cache on (default off)"
    )
    args = parser.parse_args()

    missing = [tool for tool in ("hey", "wrk") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"needs {' and '.join(missing)}: apt-get install -y hey wrk")
    model_dir = ensure_model(args.models, args.users, args.items, args.interactions, args.factors)
    users, items = sample_ids(model_dir, 1000)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = args.models / "server.log"
    server = start_server(model_dir, port, args.workers, log, cache=args.cache)
    results: list[Result] = []

    def measured(run: Callable[[], Result]) -> None:
        before = cpu_seconds(server.pid)
        result = run()
        result.server_cpu_us = (cpu_seconds(server.pid) - before) / max(result.requests, 1) * 1e6
        results.append(result)
        print(table([result]).splitlines()[-1], file=sys.stderr)

    rec = [("POST", "/recommend", json.dumps({"user_id": u, "k": 10})) for u in users]
    batch = [
        ("POST", "/recommend/batch", json.dumps({"user_ids": users[i : i + 100], "k": 10}))
        for i in range(0, len(users), 100)
    ]
    rating = [
        ("POST", "/predict/rating", json.dumps({"user_id": u, "item_id": i}))
        for u, i in zip(users, items, strict=True)
    ]
    similar = [("GET", f"/items/{i}/similar?k=10", "") for i in items]
    d, m = args.duration, args.max_duration
    conns = args.wrk_connections
    health = [("GET", "/health", "")]
    maxed = [
        ("POST /recommend (k=10)", rec, conns),
        ("POST /recommend/batch (100 users)", batch, 4),
        ("POST /predict/rating", rating, conns),
        ("GET /items/{id}/similar (k=10)", similar, conns),
    ]
    try:
        run_wrk("warm-up", base, rec, 3, 8)
        load = os.getloadavg()[0]
        # maximum throughput: each endpoint right after its own GET /health reference
        references: list[float] = []
        for name, requests, n_conns in maxed:
            measured(lambda: run_wrk(HEALTH, base, health, m, conns))
            references.append(results[-1].achieved)
            measured(lambda r=requests, c=n_conns, e=name: run_wrk(e, base, r, m, c))  # type: ignore[misc]
        # fixed rate: half of GET /health's maximum (the median of its runs) unless --rate
        rate = args.rate if args.rate is not None else round(float(np.median(references)) / 2)
        measured(lambda: run_open_loop("POST /recommend (k=10)", base, rec, rate, d))
        measured(lambda: run_hey("POST /recommend (k=10)", base + "/recommend", rate, d,
                                 rec[0][2], 10))  # fmt: skip
        measured(lambda: run_open_loop("POST /recommend/batch (100 users)", base, batch,
                                       args.batch_rate, d))  # fmt: skip
        measured(lambda: run_open_loop("POST /predict/rating", base, rating, rate, d))
        measured(lambda: run_open_loop("GET /items/{id}/similar (k=10)", base, similar, rate, d))
    finally:
        server.terminate()
        server.wait(timeout=30)
    after = os.getloadavg()[0]
    rate_note = "--rate" if args.rate is not None else "half the median GET /health maximum"
    print(
        f"\n{args.users:,} users x {args.items:,} items, ALS {args.factors} factors, "
        f"{args.workers} server worker(s), {os.cpu_count()} CPU cores shared with the load "
        f"generators; load average {load:.2f} before the runs and {after:.2f} after (other "
        f"processes included). Max rows (wrk) {args.max_duration:g} s each, every endpoint "
        f"right after its own GET /health reference; fixed-rate rows {args.duration:g} s each "
        f"at {rate:,.0f} requests/s ({rate_note}); 1,000 different users and items cycled "
        f"(hey: one user).\n"
    )
    print(table(results))
    print()
    print(ratios(results))


#: The reference row's name: the framework's own floor on the same server, same run.
HEALTH = "GET /health (reference)"


def ratios(results: list[Result]) -> str:
    """Each wrk row's maximum throughput against the ``GET /health`` run just before it, and
    the same ratio from the server's CPU time per request (steadier on a shared machine: the
    neighbours' load changes how much CPU the server gets, less what a request costs)."""
    lines = [
        "| endpoint (wrk, maximum throughput) | requests/s | GET /health just before, "
        "requests/s | x GET /health | server CPU µs/req (GET /health's) | x GET /health by "
        "CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    reference = None
    for r in results:
        if not r.tool.startswith("wrk"):
            continue
        if r.endpoint == HEALTH:
            reference = r
        elif reference is not None and reference.achieved:
            lines.append(
                f"| {r.endpoint} | {r.achieved:,.0f} | {reference.achieved:,.0f} | "
                f"{r.achieved / reference.achieved:.2f} | {r.server_cpu_us:,.0f} "
                f"({reference.server_cpu_us:,.0f}) | "
                f"{reference.server_cpu_us / r.server_cpu_us:.2f} |"
            )
    return "\n".join(lines) if len(lines) > 2 else ""


if __name__ == "__main__":
    main()
