"""Shared fixtures: a small synthetic shop on disk, built once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def shop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small deterministic shop: interactions.csv, ratings.csv, items.csv."""
    from nextbuy.data.synthetic import generate_shop, write_shop

    out = tmp_path_factory.mktemp("shop")
    write_shop(generate_shop(n_users=400, n_items=120, n_interactions=12000, seed=7), out)
    return out


def run_cli(*args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real ``nextbuy`` entry point in a subprocess (exit codes and stderr as users see)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from nextbuy.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"nextbuy {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc
