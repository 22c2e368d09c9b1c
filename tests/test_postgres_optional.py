"""`make test` without PostgreSQL: its tests skip with a reason, or fail when CI requires it.

The suite is pointed at a closed port (NEXTBUY_TEST_POSTGRES_URL), never at a stopped server.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_postgres_tests(**env: str) -> subprocess.CompletedProcess[str]:
    """The PostgreSQL cases of the store suite in a child pytest, with ``env`` on top."""
    base = {k: v for k, v in os.environ.items() if k != "NEXTBUY_REQUIRE_POSTGRES"}
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider",
         "tests/test_store.py", "-k", "postgresql"],
        cwd=ROOT,
        env={**base, "NEXTBUY_TEST_POSTGRES_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_postgres_tests_skip_with_a_reason_when_no_server_listens() -> None:
    proc = run_postgres_tests()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outcome = proc.stdout.strip().splitlines()[-1]
    skipped = re.search(r"(\d+) skipped", outcome)
    assert skipped and int(skipped.group(1)) >= 5 and "failed" not in outcome, outcome
    assert "is not reachable" in proc.stdout and "NEXTBUY_REQUIRE_POSTGRES=1" in proc.stdout


@pytest.mark.slow
def test_ci_switch_turns_the_skips_into_failures() -> None:
    proc = run_postgres_tests(NEXTBUY_REQUIRE_POSTGRES="1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    outcome = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ (failed|error)", outcome) and "skipped" not in outcome, outcome
    assert "is required (NEXTBUY_REQUIRE_POSTGRES=1)" in proc.stdout
