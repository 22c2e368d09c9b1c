"""What an artifact manifest records: file checksums, the data fingerprint, package versions,
and JSON that any reader can parse (no NaN)."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import nextbuy
from nextbuy.data.interactions import Interactions

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (large factor files never sit in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def data_fingerprint(train: Interactions, source: str | None = None) -> str:
    """sha256 identifying the training data: shape, ID maps, the canonical CSR and the source.

    The CSR (not the raw rows) is hashed, so the same interactions in another row order give
    the same fingerprint; the ID strings are included because equal indices may name
    different users.
    """
    csr = train.csr
    digest = hashlib.sha256()
    header = {"shape": list(train.shape), "n_rows": len(train), "explicit": train.explicit}
    digest.update(json.dumps({**header, "source": source}, sort_keys=True).encode())
    for ids in (train.user_map.ids, train.item_map.ids):
        digest.update("\x00".join(map(str, ids)).encode())
        digest.update(b"\x01")
    for array, dtype in ((csr.indptr, np.int64), (csr.indices, np.int32), (csr.data, np.float32)):
        digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of the packages that wrote the artifact (torch only when already imported)."""
    out = {"python": platform.python_version(), "nextbuy": nextbuy.__version__}
    for pkg in ("numpy", "scipy", "pandas", "pyarrow", "implicit"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    torch = sys.modules.get("torch")  # never import torch just to record its version
    if torch is not None:
        out["torch"] = str(getattr(torch, "__version__", "unknown"))
    return out


def strict_json(value: Any) -> Any:
    """``value`` with NaN/inf floats as None, so manifests stay valid JSON for any reader."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
