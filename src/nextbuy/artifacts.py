"""Versioned model artifacts (DESIGN section 4): atomic save, verified memory-mapped load."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

import nextbuy
from nextbuy.coldstart import AttributeRidge
from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ArtifactError, NextBuyError
from nextbuy.fallback import Fallback, load_scores, trending_fallback
from nextbuy.fsio import atomic_write_text, fsync_dir, fsync_file
from nextbuy.manifest import (
    data_fingerprint,
    file_sha256,
    json_default,
    package_versions,
    strict_json,
)
from nextbuy.models import registry
from nextbuy.models.base import Recommender

#: Layout version of a version folder; bump when a reader of the old layout would misread it.
SCHEMA_VERSION = 1
#: ``manifest["format"]``: what marks a folder as a NextBuy model.
FORMAT = "nextbuy-model"
MANIFEST = "manifest.json"
LATEST = "LATEST"
USERS_FILE = "users.parquet"
ITEMS_FILE = "items.parquet"
_TMP_PREFIX = ".tmp-"


@dataclass
class ModelArtifact:
    """A loaded version folder: the model (arrays memory-mapped), its ID maps and catalog."""

    path: Path
    manifest: dict[str, Any]
    model: Recommender
    user_map: IdMap
    item_map: IdMap
    #: One row per item in index order: ``item_id`` plus the catalog columns saved with it.
    catalog: pd.DataFrame
    #: Ridge from item attributes to the item space, for items added after training.
    attributes: AttributeRidge | None = None
    #: Trending score per item, the list for unknown users (None: untimed data, plain counts).
    fallback: np.ndarray | None = None

    @property
    def version(self) -> str:
        """The version folder's name, e.g. ``20240501T120000Z-1a2b3c4d``."""
        return self.path.name

    @property
    def name(self) -> str:
        """The model's name (the folder holding its versions)."""
        return str(self.manifest.get("name") or self.path.parent.name)

    @property
    def seen(self) -> sp.csr_matrix:
        """Training interactions (users x items CSR), excluded from recommendations."""
        assert self.model.user_items_ is not None
        return self.model.user_items_


# ---------------------------------------------------------------------- save
def _check_name(name: str) -> None:
    bad = not name or name in (".", "..", LATEST) or name.startswith(".")
    if bad or any(sep in name for sep in ("/", "\\", os.sep)):
        raise ArtifactError(
            f"invalid model name {name!r}: use a plain folder name (no slashes, no leading dot)"
        )


def _items_frame(item_map: IdMap, catalog: pd.DataFrame | None) -> pd.DataFrame:
    """``index``, ``item_id`` and the catalog's columns aligned to the item index."""
    frame = item_map.to_frame("item_id")
    if catalog is None:
        return frame
    from nextbuy.data.catalog import align_catalog

    aligned = align_catalog(catalog, item_map)
    for col in aligned.columns:
        if col not in ("item_id", "index"):  # "index" is the map's own column
            frame[col] = aligned[col].to_numpy()
    return frame


def _file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (except the manifest), keyed by relative path."""
    return {
        p.relative_to(folder).as_posix(): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def save_artifact(
    model: Recommender,
    train: Interactions,
    models_dir: str | Path,
    name: str,
    *,
    catalog: pd.DataFrame | None = None,
    metrics: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    attributes: AttributeRidge | None = None,
    selection: dict[str, Any] | None = None,
    fallback: Fallback | Literal["auto"] | None = "auto",
) -> Path:
    """Write ``model`` as a new version of ``models_dir/name`` and point LATEST at it.

    ``train`` supplies the ID maps and the data fingerprint; ``catalog`` (with ``item_id``)
    is aligned to the item index and stored in items.parquet; ``data`` (e.g. ``source``) is
    kept in the manifest. Everything is written to a hidden temporary folder, fsynced and
    renamed into place, then LATEST is replaced atomically: a failed save leaves no version
    folder and LATEST unchanged. ``attributes`` (new-item model) is stored beside the model.
    ``selection`` (``--model auto``: the leaderboard) is kept in the manifest; ``fallback``
    (trending scores) ranks the list for unknown users: ``"auto"`` computes them from
    ``train`` when it has timestamps (half-life from ``selection``'s trending trials, else the
    default), so every trainer's artifact has them; None writes none.
    Returns the version folder.
    """
    _check_name(name)
    if (model.n_users_, model.n_items_) != train.shape:
        raise ArtifactError(
            f"cannot save {model.name!r}: fitted on {model.n_users_} x {model.n_items_} but "
            f"train has {train.n_users} x {train.n_items} users x items"
        )
    base = Path(models_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    data = dict(data or {})
    if isinstance(fallback, str):  # "auto": trending scores of timed data, before any write
        fallback = trending_fallback(train, selection)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=base))
    try:
        model.save(tmp)
        train.user_map.save(tmp / USERS_FILE, column="user_id")
        _items_frame(train.item_map, catalog).to_parquet(tmp / ITEMS_FILE, index=False)
        if attributes is not None:
            attributes.save(tmp)
        if fallback is not None:
            fallback.save(tmp)
        files = _file_hashes(tmp)
        content = "".join(f"{path}\x00{sha}\n" for path, sha in files.items())
        version = _free_version(base, f"{now:%Y%m%dT%H%M%SZ}-{_sha256_text(content)[:8]}")
        source = data.get("source")
        manifest = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "name": name,
            "version": version,
            "model": model.name,
            "params": model.get_params(),
            "metrics": metrics or {},
            "config": config or {},
            "data": {
                **data,
                "fingerprint": data_fingerprint(train, None if source is None else str(source)),
                "n_rows": len(train),
            },
            "n_users": train.n_users,
            "n_items": train.n_items,
            "explicit": train.explicit,
            "rating_range": list(train.rating_range) if train.explicit else None,
            "created_at": now.isoformat(),
            "packages": package_versions(),
            "history": model.history_,
            "attributes": attributes is not None,
            # lineage: the version LATEST named when this one was trained
            "lineage": {"parent": _latest_of(base)},
            "files": files,
        }
        if selection is not None:
            manifest["selection"] = selection
        if fallback is not None:
            manifest["fallback"] = fallback.manifest()
        text = json.dumps(strict_json(manifest), indent=2, default=json_default)
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        for path in tmp.rglob("*"):
            if path.is_file():
                fsync_file(path)
        fsync_dir(tmp)
        final = base / version
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(base)
    atomic_write_text(base / LATEST, version + "\n")
    return final


def _latest_of(base: Path) -> str | None:
    latest = base / LATEST
    return (latest.read_text(encoding="utf-8").strip() or None) if latest.is_file() else None


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _free_version(base: Path, version: str) -> str:
    """``version``, or ``version-2``, ``-3``… when the same content was saved in the same second."""
    candidate, n = version, 1
    while (base / candidate).exists():
        n += 1
        candidate = f"{version}-{n}"
    return candidate


# ---------------------------------------------------------------------- load
def list_versions(model_dir: str | Path) -> list[str]:
    """Version folders (with a manifest) under ``models_dir/name``, oldest first.

    Ordered by the manifests' ``created_at`` (microseconds), since two versions saved within
    one second share the folder name's time stamp and differ only by content hash.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    keyed = []
    for p in model_dir.iterdir():
        if p.name.startswith(".") or not (p / MANIFEST).is_file():
            continue
        try:
            created = str(json.loads((p / MANIFEST).read_text(encoding="utf-8"))["created_at"])
        except (OSError, ValueError, KeyError, TypeError):
            created = ""  # unreadable manifests sort first; loading them reports why
        keyed.append((created, p.name))
    return [name for _, name in sorted(keyed)]


def resolve_version_dir(path: str | Path) -> Path:
    """The version folder ``path`` names: itself if it holds a manifest, else via its LATEST;
    ``MODELS_DIR/NAME@ALIAS`` names the version an alias points at (see :mod:`.aliases`)."""
    from nextbuy.aliases import resolve_alias, split_alias

    path, alias = split_alias(path)
    if alias is not None and path.is_dir():
        version = resolve_alias(path, alias)
        if not (path / version / MANIFEST).is_file():
            raise ArtifactError(f"{path}@{alias}: points to {version!r}, which is not a version")
        return path / version
    if not path.exists():
        raise ArtifactError(f"{path}: no such model folder; train one with `nextbuy train`")
    if not path.is_dir():
        raise ArtifactError(f"{path}: not a folder; pass MODELS_DIR/NAME or a version folder")
    if (path / MANIFEST).is_file():
        return path
    latest = path / LATEST
    if not latest.is_file():
        versions = list_versions(path)
        if versions:
            raise ArtifactError(
                f"{path}: LATEST is missing; pass a version folder explicitly "
                f"(newest here: {path / versions[-1]})"
            )
        raise ArtifactError(f"{path}: not a NextBuy artifact (no {MANIFEST} and no {LATEST} file)")
    try:
        version = latest.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise ArtifactError(
            f"{latest}: not UTF-8 text; it must hold the name of a version folder in {path}"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"{latest}: cannot read ({exc.strerror or exc})") from None
    target = path / version
    if not version or Path(version).name != version or not target.is_dir():
        raise ArtifactError(
            f"{latest}: points to {version!r}, which is not a version folder in {path} "
            f"(available: {', '.join(list_versions(path)) or 'none'})"
        )
    return target


def read_manifest(version_dir: str | Path) -> dict[str, Any]:
    """The manifest of a version folder, after checking its format and schema version."""
    version_dir = Path(version_dir)
    path = version_dir / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{version_dir}: not a NextBuy artifact ({MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ArtifactError(
            f"{version_dir}: not a NextBuy artifact (manifest format is {found!r}, "
            f"expected {FORMAT!r})"
        )
    schema = manifest.get("schema_version")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise ArtifactError(f"{path}: invalid schema_version {schema!r}")
    if schema > SCHEMA_VERSION:
        raise ArtifactError(
            f"{version_dir}: written with artifact schema {schema}, but this NextBuy "
            f"({nextbuy.__version__}) reads schema {SCHEMA_VERSION} at most; upgrade nextbuy"
        )
    return manifest


def verify_files(version_dir: Path, manifest: dict[str, Any]) -> None:
    """Check that every file the manifest lists exists and has its recorded sha256."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtifactError(f"{version_dir}: manifest lists no files to verify")
    for rel, expected in files.items():
        path = version_dir / rel
        if not path.is_file():
            raise ArtifactError(f"{version_dir}: file {rel} is missing")
        if file_sha256(path) != expected:
            raise ArtifactError(
                f"{path}: checksum mismatch (the file changed after it was saved); "
                "retrain or restore this version"
            )


def _read_items(path: Path) -> tuple[IdMap, pd.DataFrame]:
    frame = pd.read_parquet(path)
    if "item_id" not in frame.columns or "index" not in frame.columns:
        raise ArtifactError(f"{path}: expected columns 'index' and 'item_id'")
    if not np.array_equal(frame["index"].to_numpy(), np.arange(len(frame))):
        raise ArtifactError(f"{path}: column 'index' must be 0..n-1 in order")
    catalog = frame.drop(columns="index").reset_index(drop=True)
    catalog["item_id"] = catalog["item_id"].astype(str)
    return IdMap(catalog["item_id"].to_numpy(dtype=object)), catalog


def load_artifact(path: str | Path, mmap: bool = True, verify: bool = True) -> ModelArtifact:
    """Load ``MODELS_DIR/NAME`` (its LATEST version) or one version folder.

    Checks the manifest's format and schema version and, with ``verify``, every file's
    sha256 before reading it; any problem is an :class:`ArtifactError` naming the path.
    With ``mmap`` dense arrays are memory-mapped read-only, so processes share them.
    """
    version_dir = resolve_version_dir(path)
    manifest = read_manifest(version_dir)
    if verify:
        verify_files(version_dir, manifest)
    model_type = manifest.get("model")
    try:
        model_cls = registry.get(str(model_type))
    except NextBuyError as exc:
        raise ArtifactError(f"{version_dir}: model type {model_type!r} is unknown ({exc})") from exc
    try:
        model = model_cls.load(version_dir, mmap=mmap)
        user_map = IdMap.load(version_dir / USERS_FILE, column="user_id")
        item_map, catalog = _read_items(version_dir / ITEMS_FILE)
        attributes = AttributeRidge.load(version_dir) if manifest.get("attributes") else None
        fallback = load_scores(version_dir, manifest, len(item_map))
    except ArtifactError:
        raise
    except (NextBuyError, OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"{version_dir}: cannot load ({type(exc).__name__}: {exc})") from exc
    if (len(user_map), len(item_map)) != (model.n_users_, model.n_items_):
        raise ArtifactError(
            f"{version_dir}: ID maps hold {len(user_map)} users x {len(item_map)} items but the "
            f"model was fitted on {model.n_users_} x {model.n_items_}"
        )
    return ModelArtifact(
        path=version_dir,
        manifest=manifest,
        model=model,
        user_map=user_map,
        item_map=item_map,
        catalog=catalog,
        attributes=attributes,
        fallback=fallback,
    )
