"""Fixtures for the data tests: small files written into tmp_path, and a tiny shop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nextbuy.data.synthetic import Shop, generate_shop


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(name, text, encoding="utf-8")`` writes a file under tmp_path and returns it."""

    def _write(name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_bytes(text.encode(encoding))
        return path

    return _write


@pytest.fixture(scope="session")
def small_shop() -> Shop:
    """A small shop (600 users, 150 items, 30k events), generated once per session."""
    return generate_shop(n_users=600, n_items=150, n_interactions=30_000, seed=11)
