"""Fuzz the live API with schemathesis: a real server on SQLite (and PostgreSQL), its own spec.

    python benchmarks/fuzz.py [--backends sqlite postgresql] [--max-examples 100]
        [--mode all] [--max-time 600] [--json benchmarks/results/fuzz.json]

Each backend gets a fresh small ALS model and a fresh store (PostgreSQL: a schema dropped
afterwards). Schemathesis reads ``/openapi.json`` and sends positive and negative cases to
every operation, with the API key. A 5xx, an answer that breaks its documented schema, an
undocumented status or content type fails the run (exit 1). The counts per check are printed
as a table and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.models import registry
from nextbuy.serving.process import running_server

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
API_KEY = "fuzz-key-0123456789"
#: What fails a run: a 5xx, a body that breaks its schema, an undocumented status or type.
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
)


@dataclass
class FuzzResult:
    """One backend's run: cases sent, failures per check, schemathesis's exit code."""

    backend: str
    cases: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failures


def build_model(root: Path) -> Path:
    """A small ALS model of the synthetic shop under ``root/models/als``."""
    shop = generate_shop(n_users=200, n_items=60, n_interactions=4000, seed=3)
    train = Interactions.from_frame(shop.interactions)
    model = registry.create("als", factors=8, iterations=3, num_threads=1).fit(train)
    save_artifact(model, train, root / "models", "als", catalog=shop.items)
    return root / "models" / "als"


@contextmanager
def database(backend: str, root: Path) -> Iterator[str]:
    """A fresh store URL: an SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{root / 'events.db'}"
        return
    import sqlalchemy as sa

    schema = f"fuzz_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _counts(output: str) -> tuple[int, dict[str, int]]:
    """Cases sent and failures per kind, read from schemathesis's summary."""
    generated = re.search(r"(\d+) generated", output)
    failures = {
        f"{code} {name.strip()}": int(n)
        for code, name, n in re.findall(r"(ST\d+|\w+Error) ([^:\n]+): (\d+)\s*$", output, re.M)
    }
    for name, n in re.findall(r"\U0001f6ab ([^:\n]+): (\d+)\s*$", output, re.M):
        failures[f"error: {name.strip()}"] = int(n)  # schema errors, network errors
    return (int(generated.group(1)) if generated else 0), failures


def fuzz(
    backend: str,
    *,
    max_examples: int,
    mode: str = "all",
    max_time: float | None = None,
    phases: str = "examples,coverage,fuzzing",
    seed: int = 1,
    log_dir: Path | None = None,
) -> FuzzResult:
    """Run schemathesis against a fresh server on ``backend``; the counts of what it found."""
    with tempfile.TemporaryDirectory(prefix="nextbuy-fuzz-") as tmp:
        root = Path(tmp)
        model_dir = build_model(root)
        with database(backend, root) as url:
            env = {
                "NEXTBUY_API_KEY": API_KEY,
                "NEXTBUY_DATABASE_URL": url,
                "NEXTBUY_ACCESS_LOG": "false",
                "NEXTBUY_DATA_DIR": str(root / "data"),
            }
            (root / "data").mkdir()
            log = (log_dir or root) / f"fuzz-server-{backend}.log"
            with running_server(model_dir, log, env=env, timeout=120) as server:
                cmd = [
                    str(Path(sys.executable).with_name("schemathesis")),
                    "run", f"{server.url}/openapi.json",
                    "--checks", ",".join(CHECKS),
                    "--mode", mode, "--max-examples", str(max_examples),
                    "--phases", phases, "--seed", str(seed),
                    "--header", f"X-API-Key: {API_KEY}",
                    "--generation-database", "none", "--no-color", "--workers", "1",
                    "--request-timeout", "30", "--continue-on-failure",
                ]  # fmt: skip
                if max_time is not None:
                    cmd += ["--max-time", str(int(max_time))]
                start = time.perf_counter()
                proc = subprocess.run(
                    cmd,
                    capture_output=True,
                    text=True,
                    cwd=root,  # schemathesis keeps its state in ./.schemathesis
                    env={**os.environ, "NO_COLOR": "1"},
                )
                seconds = time.perf_counter() - start
                if log_dir is not None:
                    (log_dir / f"fuzz-{backend}.txt").write_text(proc.stdout + proc.stderr)
                cases, failures = _counts(proc.stdout)
                if cases == 0:
                    raise RuntimeError(f"schemathesis ran no case:\n{proc.stdout}{proc.stderr}")
    return FuzzResult(backend, cases, failures, proc.returncode, round(seconds, 1))


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz each backend and print a table; exit 1 when any run found a failure."""
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--mode", choices=["positive", "negative", "all"], default="all")
    parser.add_argument("--max-time", type=float, default=None)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--log-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        result = fuzz(
            backend,
            max_examples=args.max_examples,
            mode=args.mode,
            max_time=args.max_time,
            phases=args.phases,
            log_dir=args.log_dir,
        )
        results.append(result)
    table = Table(title=f"schemathesis ({args.mode} data, {args.max_examples} examples/op)")
    for column in ("backend", "cases", "failures", "exit", "seconds"):
        table.add_column(column)
    for r in results:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(r.failures.items())) or "none"
        table.add_row(r.backend, str(r.cases), failed, str(r.exit_code), str(r.seconds))
    Console().print(table)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
