"""Version aliases of one model folder (``champion``, ``challenger``, any name): the registry's
pointers, kept in ``MODELS_DIR/NAME/ALIASES.json`` with each alias's history for rollback.

The alias ``latest`` is the ``LATEST`` file every model folder already has, so a server that
follows LATEST and one that follows ``@champion`` are moved the same way. Every change is one
atomic file replace under an exclusive lock: a reader sees the old pointer or the new one.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nextbuy.errors import ArtifactError, ConfigError
from nextbuy.fsio import atomic_write_text

ALIASES_FILE = "ALIASES.json"
LATEST_ALIAS = "latest"
_LATEST_FILE = "LATEST"
_LOCK_FILE = ".aliases.lock"
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def check_alias(alias: str) -> str:
    """An alias: 1-64 lower-case letters, digits, ``_`` or ``-``, starting with a letter."""
    if not _NAME.fullmatch(alias or ""):
        raise ConfigError(
            f"alias {alias!r}: expected 1-64 lower-case letters, digits, '_' or '-' "
            "starting with a letter (for example champion or challenger)"
        )
    return alias


def split_alias(path: str | Path) -> tuple[Path, str | None]:
    """``models/als@champion`` -> (``models/als``, ``champion``); other paths -> (path, None)."""
    path = Path(path)
    name, at, alias = path.name.partition("@")
    if not at or path.exists():
        return path, None
    return path.with_name(name), check_alias(alias)


def _read(base: Path) -> dict[str, Any]:
    path = base / ALIASES_FILE
    if not path.is_file():
        return {"aliases": {}, "history": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(state.get("aliases"), dict) and isinstance(state.get("history"), dict)
    except (OSError, ValueError, AssertionError) as exc:
        raise ArtifactError(f"{path}: unreadable alias file ({exc}); fix or remove it") from exc
    return state  # type: ignore[no-any-return]


def aliases(base: str | Path) -> dict[str, str]:
    """Every alias of the model folder ``base`` and the version it names (``latest`` included)."""
    base = Path(base)
    out = dict(_read(base)["aliases"])
    latest = base / _LATEST_FILE
    if latest.is_file() and latest.read_text(encoding="utf-8").strip():
        out[LATEST_ALIAS] = latest.read_text(encoding="utf-8").strip()
    return dict(sorted(out.items()))


def resolve_alias(base: str | Path, alias: str) -> str:
    """The version ``alias`` names in ``base``; a missing alias says which ones exist."""
    known = aliases(base)
    if alias not in known:
        names = ", ".join(known) or "none"
        raise ArtifactError(
            f"{base}: no alias {alias!r} (aliases: {names}); "
            f"set one with `nextbuy models promote {base} VERSION --alias {alias}`"
        )
    return known[alias]


@contextmanager
def _locked(base: Path) -> Iterator[dict[str, Any]]:
    """The alias state under an exclusive lock; written back atomically when the block ends."""
    with open(base / _LOCK_FILE, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = _read(base)
        yield state
        atomic_write_text(base / ALIASES_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")


def set_alias(base: str | Path, alias: str, version: str) -> str | None:
    """Point ``alias`` at ``version`` (atomic); returns the version it named before, if any."""
    base = Path(base)
    check_alias(alias)
    with _locked(base) as state:
        before = aliases(base).get(alias)
        if before == version:
            return before
        if before is not None:
            state["history"].setdefault(alias, []).append(before)
        _point(base, state, alias, version)
    return before


def rollback_alias(base: str | Path, alias: str) -> tuple[str, str]:
    """Point ``alias`` back at the version it named before the last change: (from, to)."""
    base = Path(base)
    with _locked(base) as state:
        current = aliases(base).get(alias)
        past = state["history"].get(alias) or []
        if current is None or not past:
            raise ConfigError(f"{base.name}@{alias}: no earlier version to roll back to")
        previous = past.pop()
        _point(base, state, alias, previous)
    return current, previous


def remove_alias(base: str | Path, alias: str) -> None:
    """Forget ``alias`` (``latest`` cannot be removed: every model folder has one)."""
    base = Path(base)
    if alias == LATEST_ALIAS:
        raise ConfigError("the alias 'latest' is the LATEST file; move it with promote instead")
    with _locked(base) as state:
        if alias not in state["aliases"]:
            raise ConfigError(f"{base.name}: no alias {alias!r}")
        del state["aliases"][alias]
        state["history"].pop(alias, None)


def forget_version(base: str | Path, version: str) -> None:
    """Drop ``version`` from every alias history (after it was deleted)."""
    base = Path(base)
    with _locked(base) as state:
        for alias, past in state["history"].items():
            state["history"][alias] = [v for v in past if v != version]


def _point(base: Path, state: dict[str, Any], alias: str, version: str) -> None:
    if alias == LATEST_ALIAS:
        atomic_write_text(base / _LATEST_FILE, version + "\n")
    else:
        state["aliases"][alias] = version
