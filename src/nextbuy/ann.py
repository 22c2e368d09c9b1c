"""Approximate inner-product search over item vectors (faiss IVF), cached beside an artifact.

An :class:`AnnIndex` answers "the k items with the largest ``q . v``" by scanning the
``nprobe`` inverted lists whose centroids score highest; the returned scores are exact inner
products of the items found. Filtered search passes a bitmap selector, and the number of lists
scanned grows as the filter narrows, so a filter keeping 5% of the catalog still finds its
top items. The index is written under ``<version>/ann/`` with a sidecar recording its sha256
and the sha256 of the vectors it was built from: a changed or corrupted file is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger("nextbuy.ann")

#: Folder of the index inside a version folder, its files, and their format version.
INDEX_DIR = "ann"
INDEX_FILE = "ivf-ip.faiss"
META_FILE = "ivf-ip.json"
FORMAT_VERSION = 1
#: Inverted lists scanned per query without a filter (recall@10 >= 0.98 measured on 1M items).
DEFAULT_NPROBE = 32
#: A filter keeping a share ``s`` of the items scans ``FILTER_PROBE_FACTOR * nprobe / s`` lists
#: (5% of 1M items, nprobe 32: 320 of 1,000 lists, recall@10 0.99 in ``benchmarks/ann.py``;
#: only the kept items' distances are computed, the others cost one bitmap test).
FILTER_PROBE_FACTOR = 0.5
#: Training points per list for k-means (faiss wants >= 39) and the most sampled overall.
_TRAIN_PER_LIST = 64


def n_lists(n_items: int) -> int:
    """Inverted lists for ``n_items``: about sqrt(n), so a list holds about sqrt(n) items."""
    return int(min(max(round(math.sqrt(n_items)), 1), 8192))


def vectors_sha256(vectors: np.ndarray) -> str:
    """sha256 of the float32 vectors (shape included): what an index was built from."""
    arr = np.ascontiguousarray(vectors, dtype=np.float32)
    digest = hashlib.sha256(f"{arr.shape}".encode())
    flat = arr.reshape(-1)
    step = 1 << 24  # 64 MiB of float32 at a time
    for start in range(0, len(flat), step):
        digest.update(flat[start : start + step].tobytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class AnnIndex:
    """An IVF inner-product index over ``n`` item vectors, with its search defaults."""

    index: Any  # faiss.IndexIVFFlat
    n: int
    dim: int
    nprobe: int = DEFAULT_NPROBE
    build_seconds: float = 0.0
    loaded_from: str = "built"  # "built" or "cache"

    @property
    def nlist(self) -> int:
        return int(self.index.nlist)

    def nbytes(self) -> int:
        """Approximate memory of the index: the stored vectors, their ids and the centroids."""
        return int(self.n * (self.dim * 4 + 8) + self.nlist * self.dim * 4)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items per query row: ``(ids int64, scores float32)``, -1 / -inf padded.

        ``allowed`` (bool per item) restricts the search; ``nprobe`` grows as the share of items
        it keeps shrinks (up to every list), since a narrow filter leaves few items per list.
        """
        import faiss

        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(min(int(k), self.n), 1)
        nprobe = self.nprobe
        params: Any = faiss.SearchParametersIVF()
        bits = None
        if allowed is not None:
            share = max(float(np.count_nonzero(allowed)) / max(self.n, 1), 1e-6)
            nprobe = int(min(self.nlist, math.ceil(FILTER_PROBE_FACTOR * self.nprobe / share)))
            bits = np.packbits(np.asarray(allowed, dtype=bool), bitorder="little")
            params.sel = faiss.IDSelectorBitmap(self.n, faiss.swig_ptr(bits))
        params.nprobe = nprobe
        scores, ids = self.index.search(queries, k, params=params)
        del bits  # kept alive until the search returned (the selector reads it)
        ids = ids.astype(np.int64, copy=False)
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32, copy=False)
        return ids, scores


def build_index(vectors: np.ndarray, nprobe: int = DEFAULT_NPROBE, seed: int = 0) -> AnnIndex:
    """Train and fill an IVF inner-product index over ``vectors`` ([n, d], any float dtype)."""
    import faiss

    start = time.perf_counter()
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = data.shape
    nlist = n_lists(n)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    n_train = min(n, nlist * _TRAIN_PER_LIST)
    sample = data if n_train == n else data[np.sort(rng.choice(n, n_train, replace=False))]
    index.cp.seed = seed
    index.cp.min_points_per_centroid = 1  # small catalogs: no warning about few points
    index.train(sample)
    index.add(data)
    return AnnIndex(index, n, dim, nprobe, time.perf_counter() - start, "built")


def save_index(ann: AnnIndex, folder: Path, source_sha: str) -> None:
    """Write the index and its sidecar into ``folder/ann`` atomically (temp file + rename)."""
    import faiss

    target = Path(folder) / INDEX_DIR
    target.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ivf-", dir=target)
    os.close(fd)
    try:
        faiss.write_index(ann.index, tmp)
        sha = _file_sha256(Path(tmp))
        os.replace(tmp, target / INDEX_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "faiss-ivfflat-ip",
        "n_items": ann.n,
        "dim": ann.dim,
        "nlist": ann.nlist,
        "source_sha256": source_sha,
        "files": {INDEX_FILE: sha},
        "build_seconds": round(ann.build_seconds, 3),
    }
    fd, tmp = tempfile.mkstemp(prefix=".meta-", dir=target)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target / META_FILE)


def load_index(folder: Path, source_sha: str, n: int, dim: int, nprobe: int) -> AnnIndex | None:
    """The cached index of ``folder`` if it is intact and built from these vectors, else None.

    A missing index is None silently; a stale or corrupted one (format, shape, source or
    checksum differ) is None with a warning naming the reason, so the caller rebuilds it.
    """
    import faiss

    target = Path(folder) / INDEX_DIR
    meta_path, index_path = target / META_FILE, target / INDEX_FILE
    if not meta_path.is_file() or not index_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("%s: unreadable (%s); rebuilding the ANN index", meta_path, exc)
        return None
    expected = {"format_version": FORMAT_VERSION, "n_items": n, "dim": dim}
    for key, value in expected.items():
        if meta.get(key) != value:
            logger.warning(
                "%s: %s is %r, expected %r; rebuilding", meta_path, key, meta.get(key), value
            )
            return None
    if meta.get("source_sha256") != source_sha:
        logger.warning("%s: built from other item vectors; rebuilding the ANN index", meta_path)
        return None
    if _file_sha256(index_path) != meta.get("files", {}).get(INDEX_FILE):
        logger.warning("%s: checksum mismatch (the file changed); rebuilding", index_path)
        return None
    index = faiss.read_index(str(index_path))
    if index.ntotal != n or index.d != dim:
        logger.warning("%s: holds %d x %d; rebuilding", index_path, index.ntotal, index.d)
        return None
    return AnnIndex(index, n, dim, nprobe, 0.0, "cache")


def load_or_build(
    folder: Path | None, vectors: np.ndarray, nprobe: int = DEFAULT_NPROBE
) -> AnnIndex:
    """The index of ``vectors`` from ``folder``'s cache, else built (and cached when writable)."""
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    source = vectors_sha256(data)
    if folder is not None:
        cached = load_index(folder, source, data.shape[0], data.shape[1], nprobe)
        if cached is not None:
            return cached
    ann = build_index(data, nprobe)
    if folder is not None:
        try:
            save_index(ann, folder, source)
        except OSError as exc:  # a read-only deployment: serve from memory, say so
            logger.warning("cannot cache the ANN index in %s (%s); kept in memory", folder, exc)
    return ann
