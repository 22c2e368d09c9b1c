"""The short fuzz run of `make test`: schemathesis over the live spec of a real server on
SQLite (`make fuzz` runs the long one, PostgreSQL too). A 5xx or a schema violation fails."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("schemathesis")

from benchmarks.fuzz import fuzz  # noqa: E402


def test_short_fuzz_run_finds_no_5xx_and_no_schema_violation():
    start = time.perf_counter()
    result = fuzz("sqlite", max_examples=5, max_time=25, seed=7)
    assert result.cases > 300, result  # every operation, positive and negative
    assert result.failures == {}, result
    assert result.exit_code == 0, result
    assert time.perf_counter() - start < 120  # schemathesis stops at 25 s; the rest is start-up
