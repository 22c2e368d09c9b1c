"""Shared fixtures: a small synthetic shop on disk, built once per test session, and the
live PostgreSQL server the store tests use when it is there."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

#: The PostgreSQL server of the store tests (database ``test``); the variable points them
#: elsewhere. Without a server they skip, unless NEXTBUY_REQUIRE_POSTGRES=1 (CI) fails them.
PG_URL = os.environ.get(
    "NEXTBUY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = "NEXTBUY_REQUIRE_POSTGRES"


@functools.lru_cache(maxsize=4)
def postgres_problem(url: str) -> str | None:
    """None when the server at ``url`` accepts a connection, else why not (one line)."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        parts = make_url(url)
        psycopg.connect(
            host=parts.host,
            port=parts.port or 5432,
            dbname=parts.database,
            user=parts.username,
            password=parts.password,
            connect_timeout=3,
        ).close()
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def require_postgres() -> str:
    """The live server's URL; skips the test when it is unreachable, or fails it when
    NEXTBUY_REQUIRE_POSTGRES=1 says the server must be there (CI)."""
    problem = postgres_problem(PG_URL)
    if problem is None:
        return PG_URL
    from sqlalchemy.engine import make_url

    where = make_url(PG_URL).render_as_string(hide_password=True)
    if os.environ.get(REQUIRE_POSTGRES) == "1":
        pytest.fail(f"PostgreSQL at {where} is required ({REQUIRE_POSTGRES}=1): {problem}")
    pytest.skip(
        f"PostgreSQL at {where} is not reachable ({problem}); "
        f"set {REQUIRE_POSTGRES}=1 to fail instead"
    )


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


#: Fields that differ on every served list (issue 14): compared answers leave them out.
TAGS = ("recommendation_id", "variant", "experiment_id")


def untag(answer: dict) -> dict:
    """An answer without its per-list tags (and those of a batch's results)."""
    out = {k: v for k, v in answer.items() if k not in TAGS}
    if isinstance(out.get("results"), list):
        out["results"] = [untag(r) for r in out["results"]]
    return out
