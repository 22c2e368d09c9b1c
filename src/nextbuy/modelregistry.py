"""The model registry: every saved version of ``MODELS_DIR/NAME`` with its metrics, data
fingerprint, parameters and lineage, and the aliases that point at versions.

Versions are the artifact folders :func:`nextbuy.artifacts.save_artifact` writes (so every
trained version is registered by being saved); aliases live in :mod:`nextbuy.aliases`.
Promote and rollback move one alias atomically; a server following ``NAME@ALIAS`` picks the
change up by itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nextbuy import aliases as alias_store
from nextbuy.artifacts import MANIFEST, list_versions, read_manifest, verify_files
from nextbuy.data.datasets import dataset_of
from nextbuy.errors import ArtifactError, ConfigError

#: The alias ``promote`` moves when none is named.
DEFAULT_ALIAS = "champion"


class RegistryError(ConfigError):
    """A registry change was refused; the message says why, and nothing changed."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: what ``models list`` shows."""

    version: str
    created_at: str
    model: str
    dataset: str
    fingerprint: str
    parent: str | None
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    params: dict[str, Any]


def _base(model_dir: str | Path) -> Path:
    base = Path(model_dir)
    if (base / MANIFEST).is_file():  # a version folder: its model folder
        base = base.parent
    if not base.is_dir() or not list_versions(base):
        raise ArtifactError(f"{base}: no model versions here; train one with `nextbuy train`")
    return base


def resolve(model_dir: str | Path, ref: str) -> str:
    """A version name from ``ref``: a version folder name, or ``@alias``."""
    base = _base(model_dir)
    if ref.startswith("@"):
        return alias_store.resolve_alias(base, ref[1:])
    if ref not in list_versions(base):
        raise RegistryError(
            f"{base.name}: no version {ref!r} (versions: {', '.join(list_versions(base))}; "
            "an alias is written @NAME)"
        )
    return ref


def versions(model_dir: str | Path) -> list[VersionInfo]:
    """Every registered version of the model folder, oldest first."""
    base = _base(model_dir)
    by_version: dict[str, list[str]] = {}
    for alias, version in alias_store.aliases(base).items():
        by_version.setdefault(version, []).append(alias)
    return [_info(base, v, tuple(by_version.get(v, ()))) for v in list_versions(base)]


def _info(base: Path, version: str, names: tuple[str, ...]) -> VersionInfo:
    m = read_manifest(base / version)
    data = m.get("data") or {}
    return VersionInfo(
        version=version,
        created_at=str(m.get("created_at", "")),
        model=str(m.get("model", "")),
        dataset=dataset_of(m),
        fingerprint=str(data.get("fingerprint", ""))[:12],
        parent=(m.get("lineage") or {}).get("parent"),
        aliases=names,
        metrics={k: float(v) for k, v in (m.get("metrics") or {}).items() if _number(v)},
        params=dict(m.get("params") or {}),
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def show(model_dir: str | Path, ref: str) -> dict[str, Any]:
    """The manifest of one version plus the aliases that point at it."""
    base = _base(model_dir)
    version = resolve(base, ref)
    manifest = read_manifest(base / version)
    names = [a for a, v in alias_store.aliases(base).items() if v == version]
    return {**manifest, "aliases": names}


def diff(model_dir: str | Path, ref_a: str, ref_b: str) -> list[tuple[str, str, Any, Any]]:
    """Parameters and metrics of two versions side by side: (kind, key, a, b), changed first."""
    base = _base(model_dir)
    a, b = (_info(base, resolve(base, r), ()) for r in (ref_a, ref_b))
    rows: list[tuple[str, str, Any, Any]] = []
    for kind, left, right in (("param", a.params, b.params), ("metric", a.metrics, b.metrics)):
        for key in sorted({*left, *right}):
            rows.append((kind, key, left.get(key), right.get(key)))
    rows += [("data", "dataset", a.dataset, b.dataset), ("data", "fingerprint", a.fingerprint,
             b.fingerprint), ("model", "model", a.model, b.model)]  # fmt: skip
    return sorted(rows, key=lambda r: (r[2] == r[3], r[0], r[1]))


def promote(model_dir: str | Path, ref: str, alias: str = DEFAULT_ALIAS) -> tuple[str | None, str]:
    """Point ``alias`` at a version after checking its files: (version before, version now)."""
    base = _base(model_dir)
    version = resolve(base, ref)
    manifest = read_manifest(base / version)
    verify_files(base / version, manifest)  # a damaged version is never promoted
    before = alias_store.set_alias(base, alias, version)
    return before, version


def rollback(model_dir: str | Path, alias: str = DEFAULT_ALIAS) -> tuple[str, str]:
    """Point ``alias`` back at its previous version: (version before, version now)."""
    return alias_store.rollback_alias(_base(model_dir), alias)


def delete(model_dir: str | Path, ref: str, in_experiments: Collection[str] = ()) -> str:
    """Remove one version folder, unless an alias or a running experiment still uses it.

    ``in_experiments``: the versions and ``@aliases`` running experiments serve.
    """
    base = _base(model_dir)
    version = resolve(base, ref)
    users = [f"@{a}" for a, v in alias_store.aliases(base).items() if v == version]
    if users:
        raise RegistryError(
            f"{base.name}/{version} is what {', '.join(users)} points at; promote another "
            "version to that alias first (nothing was deleted)"
        )
    running = [
        r for r in in_experiments if r == version or (r.startswith("@") and
                                                      _alias_is(base, r[1:], version))
    ]  # fmt: skip
    if running or version in in_experiments:
        raise RegistryError(
            f"{base.name}/{version} is served by a running experiment; stop it first "
            "(nothing was deleted)"
        )
    trash = base / f".deleting-{version}"
    (base / version).rename(trash)  # atomic: the version disappears at once, whole
    shutil.rmtree(trash, ignore_errors=True)
    alias_store.forget_version(base, version)
    return version


def _alias_is(base: Path, alias: str, version: str) -> bool:
    return alias_store.aliases(base).get(alias) == version
