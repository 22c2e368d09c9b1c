"""How to protect the served model: map in place, read into memory, or map a private copy.

    python benchmarks/pinning.py [--users 20000 200000] [--factors 64] [--repeats 3]
        [--json benchmarks/results/pinning.json]

For each size an ALS model (one iteration: only the array sizes matter) is saved as a real
artifact, then loaded the four ways a server could (median of ``--repeats`` loads, page
cache warm):

* ``mmap in place`` (main before issue 10): verify the checksums, then map the folder's files;
  bytes changed on disk afterwards are served and a truncation kills the process (SIGBUS);
* ``read into memory``: verify, then read; private memory, but a window between check and read;
* ``private copy + mmap`` (chosen): copy while hashing, map the copy, unlink it;
* ``private copy + read``: the same copy, then read it into memory.

Also reported: the anonymous (non-shareable) memory each adds after touching every factor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from nextbuy.artifacts import ModelArtifact, load_artifact, save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.pinning import load_pinned


def anon_kib() -> int:
    """This process's anonymous resident memory (KiB): what other workers cannot share."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def build(root: Path, n_users: int, factors: int) -> Path:
    rng = np.random.default_rng(0)
    n_items = max(1000, n_users // 10)
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in rng.integers(0, n_users, 4 * n_users)],
            "item_id": [f"p{i}" for i in rng.integers(0, n_items, 4 * n_users)],
            "value": 1.0,
        }
    )
    train = Interactions.from_frame(frame)
    model = registry.create("als", factors=factors, iterations=1, num_threads=1).fit(train)
    return save_artifact(model, train, root, f"als{n_users}")


def measure(load: Callable[[], ModelArtifact], repeats: int) -> dict[str, float]:
    times: list[float] = []
    anon: list[float] = []
    for _ in range(repeats):
        before = anon_kib()
        start = time.perf_counter()
        artifact = load()
        seconds = time.perf_counter() - start
        model: Any = artifact.model
        touched = float(
            np.asarray(model.user_factors_).sum() + np.asarray(model.item_factors_).sum()
        )
        anon.append((anon_kib() - before) / 1024)
        times.append(seconds)
        del artifact, model, touched
    return {"load_s": statistics.median(times), "anon_mib": statistics.median(anon)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_users in args.users:
            version = build(Path(tmp), n_users, args.factors)
            size = sum(p.stat().st_size for p in version.iterdir()) / 2**20
            ways: dict[str, Callable[[], ModelArtifact]] = {
                "mmap in place": lambda v=version: load_artifact(v, mmap=True),
                "read into memory": lambda v=version: load_artifact(v, mmap=False),
                "private copy + mmap": lambda v=version: load_pinned(v, mmap=True),
                "private copy + read": lambda v=version: load_pinned(v, mmap=False),
            }
            load_artifact(version)  # warm-up: imports and the page cache
            for way, load in ways.items():
                results.append(
                    {"users": n_users, "size_mib": round(size, 1), "way": way,
                     **measure(load, args.repeats)}
                )  # fmt: skip
    table = Table(title=f"Loading a model ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    for col in ("users", "files MiB", "way", "load s", "x mmap", "anon MiB", "safe"):
        table.add_column(col, justify="left" if col == "way" else "right")
    for row in results:
        base = next(
            r for r in results if r["users"] == row["users"] and r["way"] == "mmap in place"
        )
        safe = "yes" if row["way"].startswith("private") else "no"
        table.add_row(
            f"{row['users']:,}", f"{row['size_mib']:.1f}", row["way"], f"{row['load_s']:.3f}",
            f"{row['load_s'] / base['load_s']:.2f}", f"{row['anon_mib']:.1f}", safe,
        )  # fmt: skip
    Console().print(table)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    if args.json:
        meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": load,
                "cpus": os.cpu_count(), "python": platform.python_version()}  # fmt: skip
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
