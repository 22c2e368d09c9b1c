"""View-models of the pages: plain dicts and lists built from the service's public answers.

Every recommendation, similar item, popular list and model card comes from the same service
methods the API routes call; this module only selects, joins and labels for display.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from nextbuy.artifacts import LATEST, list_versions, read_manifest
from nextbuy.errors import NextBuyError
from nextbuy.serving.online import OnlineLayer
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.ui.activity import Activity
from nextbuy.serving.ui.state import Lookup, UiState

#: Metrics where lower is better (everything else: higher is better).
LOWER_IS_BETTER = ("rmse", "mae", "fit_seconds")
#: Metrics the tables show first, in this order.
HEADLINE = ("ndcg@10", "recall@10", "precision@10", "map@10", "hit_rate@10", "coverage@10",
            "rmse", "mae")  # fmt: skip
TIMELINE_MAX = 40
SEARCH_MAX = 30


# ---------------------------------------------------------------------- items
def hue(text: str | None) -> int:
    """A stable colour (HSL hue) per category, for picture-less item tiles."""
    return int(hashlib.md5((text or "").encode()).hexdigest()[:4], 16) % 360


def info(
    service: RecommendationService, lookup: Lookup, item_ids: list[str]
) -> list[dict[str, Any]]:
    """Catalog fields of items by ID (unknown IDs get their ID only), with picture and tile."""
    snapshot = service.snapshot
    index = lookup.item_index.get_indexer(item_ids) if item_ids else np.empty(0, dtype=np.int64)
    out = []
    for item_id, i in zip(item_ids, index.tolist(), strict=True):
        fields = dict(snapshot.item_info[i]) if i >= 0 else {}
        out.append(decorate({"item_id": item_id, **fields}, lookup))
    return out


def decorate(item: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """An answer's item with its picture URL and tile colour (a copy)."""
    name = item.get("name") or item["item_id"]
    return {
        **item,
        "image": lookup.images.get(item["item_id"]),
        "hue": hue(item.get("category")),
        "initials": "".join(w[0] for w in str(name).split()[:2]).upper(),
    }


def search_items(lookup: Lookup, query: str) -> np.ndarray:
    """Indices (popular first) of items whose ID, name, brand or category contain ``query``."""
    q = query.strip().lower()
    if not q:
        return lookup.item_order[:SEARCH_MAX]
    hits = np.flatnonzero(np.char.find(lookup.item_text, q) >= 0)[:SEARCH_MAX]
    return lookup.item_order[hits]


def search_users(lookup: Lookup, query: str) -> list[str]:
    """User IDs starting with ``query`` (sorted), at most ``SEARCH_MAX``."""
    q = query.strip()
    lo = int(np.searchsorted(lookup.user_ids, q, side="left"))
    found = lookup.user_ids[lo : lo + SEARCH_MAX]
    return [str(u) for u in found if str(u).startswith(q)]


# ---------------------------------------------------------------------- model and metrics
def metric_rows(*metrics: dict[str, Any]) -> list[tuple[str, list[float | None]]]:
    """One row per metric name present in any of ``metrics`` (headline ones first)."""
    names = [m for m in HEADLINE if any(m in d for d in metrics)]
    names += sorted({k for d in metrics for k in d} - set(names) - {"fit_seconds"})
    return [(n, [_finite(d.get(n)) for d in metrics]) for n in names]


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def better(name: str, new: float | None, old: float | None) -> str:
    """``better``, ``worse`` or ``same`` for a metric's change (by its direction)."""
    if new is None or old is None or math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-12):
        return "same"
    up = new > old
    return "better" if up != (name.split("@")[0] in LOWER_IS_BETTER) else "worse"


def latest_of(service: RecommendationService) -> str | None:
    """The version LATEST names for the served model (None without a LATEST file)."""
    path = service.snapshot.artifact.path.parent / LATEST
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def versions(service: RecommendationService, limit: int = 50) -> list[dict[str, Any]]:
    """The served model's versions, newest first: created, type, metrics, LATEST, served."""
    base = service.snapshot.artifact.path.parent
    served, latest = service.snapshot.version, latest_of(service)
    out: list[dict[str, Any]] = []
    for version in reversed(list_versions(base)[-limit:]):
        try:
            manifest = read_manifest(base / version)
        except NextBuyError as exc:
            out.append({"version": version, "error": str(exc), "metrics": {}})
            continue
        out.append(
            {
                "version": version,
                "model": manifest.get("model"),
                "created_at": manifest.get("created_at"),
                "metrics": {
                    k: v
                    for k, v in (manifest.get("metrics") or {}).items()
                    if _finite(v) is not None
                },
                "source": (manifest.get("data") or {}).get("source"),
                "n_users": manifest.get("n_users"),
                "n_items": manifest.get("n_items"),
                "served": version == served,
                "latest": version == latest,
            }
        )
    return out


def version_chart(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The headline metric of each version over creation time, for the chart."""
    from datetime import datetime

    metric = next((m for m in HEADLINE if any(m in r["metrics"] for r in rows)), None)
    points = []
    for r in reversed(rows):
        try:
            t = datetime.fromisoformat(str(r.get("created_at"))).timestamp()
        except ValueError:
            continue
        points.append((t, r["metrics"].get(metric)))
    if metric is None or len(points) < 1:
        return None
    return {
        "kind": "line",
        "time": True,
        "x": [p[0] for p in points],
        "series": [{"label": metric, "values": [p[1] for p in points]}],
    }


def experiment_chart(daily: dict[str, Any]) -> dict[str, Any] | None:
    """Each variant's daily click rate with its 95% interval, over time, for the chart."""
    if not daily["days"]:
        return None
    series = []
    for name, v in daily["variants"].items():
        series += [
            {"label": f"{name} clicks / list", "values": v["rate"]},
            {"label": f"{name} 95% low", "values": v["low"]},
            {"label": f"{name} 95% high", "values": v["high"]},
        ]
    return {"kind": "line", "time": True, "x": daily["days"], "series": series}


# ---------------------------------------------------------------------- users
def timeline(
    service: RecommendationService,
    lookup: Lookup,
    online: OnlineLayer | None,
    activity: Activity | str,
    user_id: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """The user's interactions, newest first (stored events, then training), and a note."""
    rows: list[dict[str, Any]] = []
    note = None
    if online is not None and online.store is not None:
        frame = online.store.events_frame(user_ids=[user_id])
        for rec in frame.sort_values("id", ascending=False).head(TIMELINE_MAX).to_dict("records"):
            rows.append({**rec, "origin": "posted"})
    if isinstance(activity, Activity):
        rows += [{**r, "origin": "training"} for r in activity.user_rows(user_id)[:TIMELINE_MAX]]
    else:
        note = activity
        snapshot = service.snapshot
        u = snapshot.artifact.user_map.index_of(user_id)
        if u >= 0:
            row = snapshot.artifact.seen[u]
            order = np.argsort(-row.data, kind="stable")[:TIMELINE_MAX]
            for i, v in zip(row.indices[order].tolist(), row.data[order].tolist(), strict=True):
                rows.append({"item_id": str(snapshot.item_ids[i]), "timestamp": None,
                             "event": None, "value": v, "origin": "training"})  # fmt: skip
    rows = rows[:TIMELINE_MAX]
    cards = info(service, lookup, [r["item_id"] for r in rows])
    return [{**r, "item": c} for r, c in zip(rows, cards, strict=True)], note


def recommendations(
    service: RecommendationService, lookup: Lookup, answer: dict[str, Any]
) -> list[dict[str, Any]]:
    """An answer's items with pictures and their ``because`` reasons as names."""
    return [decorate(item, lookup) for item in answer["recommendations"]]


def compare_lists(before: dict[str, Any], after: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """The what-if list with each item's move against the current list, and what dropped out."""
    old_rank = {r["item_id"]: r["rank"] for r in before["recommendations"]}
    new_ids = {r["item_id"] for r in after["recommendations"]}
    rows = []
    for item in after["recommendations"]:
        was = old_rank.get(item["item_id"])
        move = "new" if was is None else was - item["rank"]
        rows.append({**decorate(item, lookup), "was": was, "move": move})
    dropped = [
        decorate(r, lookup) for r in before["recommendations"] if r["item_id"] not in new_ids
    ]
    changed = bool(dropped) or any(r["move"] != 0 for r in rows)
    return {"rows": rows, "dropped": dropped, "changed": changed, "strategy": after["strategy"]}


def event_types(service: RecommendationService) -> list[str]:
    """Event types the what-if box offers (ratings for rating models)."""
    if service.snapshot.predicts_ratings:
        return ["rating"]
    weights = service.settings.event_weights
    return [k for k in weights if k != "rating"] or ["view"]


# ---------------------------------------------------------------------- overview
def coverage(service: RecommendationService, ui: UiState, lookup: Lookup) -> dict[str, Any]:
    """Catalog coverage of the sampled users' top 10, the most shown items, the head's share."""
    exposure = ui.exposure.get()
    ids, counts = exposure.counts()
    snapshot = service.snapshot
    top_decile = max(1, snapshot.n_items // 10)
    head = np.asarray(snapshot.item_ids)[snapshot.popular_order[:top_decile]].astype(str)
    slots = int(counts.sum())
    head_slots = int(counts[np.isin(ids.astype(str), head)].sum()) if len(ids) else 0
    top = info(service, lookup, [str(i) for i in ids[:10]])
    return {
        "n_users": exposure.n_users,
        "personalized": int(exposure.personalized.sum()),
        "n_catalog": exposure.n_catalog,
        "n_recommended": len(ids),
        "coverage": exposure.coverage,
        "head_share": head_slots / slots if slots else None,
        "top": [{**t, "users": int(c)} for t, c in zip(top, counts[:10].tolist(), strict=True)],
        "never": exposure.n_catalog - len(ids),
    }


def recommend_options(k: int = 10, explain: bool = False) -> RecommendOptions:
    """The options every page asks with (the API's defaults otherwise)."""
    return RecommendOptions(k=k, explain=explain)
