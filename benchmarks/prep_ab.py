"""Data preparation against bare implicit's, side by side: Parquet -> IdMaps -> CSR.

Time: one process alternates NextBuy's ``read_interactions(path).to_interactions().csr``
with implicit's (pandas read of 3 columns, two factorize, scipy CSR, sum_duplicates), median
of ``--repeat``. Memory: each path once in a fresh subprocess (VmHWM minus the RSS before).
Usage: ``python benchmarks/prep_ab.py PATH.parquet [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def nextbuy_prep(path: Path) -> object:
    """NextBuy's data preparation (what ``benchmarks/speed.py`` times)."""
    from nextbuy.data.sources import read_interactions

    return read_interactions(path).to_interactions().csr


def implicit_prep(path: Path) -> Any:
    """Bare implicit's data preparation (``benchmarks/speed.py``'s reference)."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    frame = pd.read_parquet(path, columns=["user_id", "item_id", "value"])
    users, user_ids = pd.factorize(frame["user_id"])
    items, item_ids = pd.factorize(frame["item_id"])
    csr = sp.csr_matrix(
        (frame["value"].to_numpy(np.float32), (users, items)),
        shape=(len(user_ids), len(item_ids)),
    )
    csr.sum_duplicates()
    return csr


PATHS = {"nextbuy": nextbuy_prep, "implicit": implicit_prep}


def _mib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def peak(name: str, path: Path) -> None:
    """Print the peak memory one path adds (run in a fresh process)."""
    import numpy  # noqa: F401 - the libraries both paths load, before the baseline
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import scipy.sparse  # noqa: F401

    import nextbuy.data.sources  # noqa: F401

    start = _mib("VmRSS")
    PATHS[name](path)
    print(json.dumps({"peak_mib": _mib("VmHWM"), "added_mib": _mib("VmHWM") - start}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peak", choices=sorted(PATHS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak:
        peak(args.peak, args.path)
        return
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    for prep in PATHS.values():  # warm-up: imports and the page cache
        prep(args.path)
    for _ in range(args.repeat):
        for name, prep in PATHS.items():
            t = time.perf_counter()
            prep(args.path)
            times[name].append(time.perf_counter() - t)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    mem = {}
    for name in PATHS:
        cmd = [sys.executable, __file__, str(args.path), "--peak", name]
        mem[name] = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
    print(json.dumps({"median_s": med, "times_s": times, "memory": mem}, indent=1))
    print(
        f"time {med['nextbuy']:.3f} s vs {med['implicit']:.3f} s = "
        f"{med['nextbuy'] / med['implicit']:.2f}x; peak "
        f"{mem['nextbuy']['peak_mib']} vs {mem['implicit']['peak_mib']} MiB = "
        f"{mem['nextbuy']['peak_mib'] / mem['implicit']['peak_mib']:.2f}x"
    )


if __name__ == "__main__":
    main()
