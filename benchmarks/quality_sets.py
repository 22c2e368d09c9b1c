"""More data sets for ``benchmarks/quality.py``: Last.fm play counts, the synthetic shop at a
chosen density, and MovieLens 100K under a temporal protocol.

Protocol B rules on every set: each user's 20% held out (seed 42; users with fewer than two
interactions stay in train), every unseen item ranked, seen items excluded. Where the data
has timestamps a temporal protocol runs too: each user's latest 20% is the test set. NextBuy's
families run with their untuned (density-aware) defaults; peers run in the same process and
get the advantage of their best setting *by test score* (EASE over a lambda grid, implicit's
ALS over a small grid with linear and log confidence, LightFM WARP when installed). ``auto``
(``nextbuy.selection``) is a row when it is importable; it never sees the test split.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import has_timestamps, split_by_user, split_user_latest
from nextbuy.evaluation import evaluate
from nextbuy.evaluation.honesty import split_words
from nextbuy.evaluation.metrics import ranking_metrics
from nextbuy.models import registry
from nextbuy.retrieval import topk

K = 10
SEED = 42
#: NextBuy's implicit families, each with its defaults.
FAMILIES = [
    "popularity", "itemknn", "rp3beta", "ease", "userease", "infae", "als", "ials", "bpr", "blend",
]  # fmt: skip
#: EASE's lambda grid, on every set: one eigendecomposition serves every lambda
#: (:func:`ease_grid_scores`), so Last.fm's 17,632 items cost seconds per lambda, not minutes.
EASE_GRID = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0)
#: implicit ALS grid: (factors, regularization, alpha), each with linear and log confidence.
ALS_GRID = ((32, 0.1, 1.0), (64, 1.0, 5.0), (64, 10.0, 10.0), (64, 50.0, 20.0))


@dataclass
class SetRow:
    """One line of a data set's table."""

    model: str
    library: str
    settings: str
    metrics: dict[str, float]
    fit_seconds: float
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SetTable:
    """One data set under one protocol: its rows, best first when printed."""

    dataset: str
    split: str  # "user" (per-user random 20%) or "latest" (each user's latest 20%)
    n_train: int
    n_test: int
    rows: list[SetRow]


# ---------------------------------------------------------------------- data
def read_lastfm(path: Path) -> Interactions:
    """HetRec 2011 ``user_artists.dat`` (userID, artistID, weight): play counts as strengths."""
    frame = pd.read_csv(path, sep="\t")
    frame = frame.rename(columns={"userID": "user_id", "artistID": "item_id", "weight": "value"})
    frame = frame.astype({"user_id": str, "item_id": str, "value": "float64"})
    return Interactions.from_frame(frame, explicit=False, source=str(path))


def shop(density: int, seed: int = SEED) -> Interactions:
    """The synthetic shop with about ``density`` interactions per user (event-weighted values).

    Sparse shops are wide (2,000 users, 500 products); dense ones 1,000 users and 1,000 items.
    """
    from nextbuy.data.synthetic.shop import generate_shop

    n_users, n_items = (2000, 500) if density <= 10 else (1000, 1000)
    made = generate_shop(n_users, n_items, n_users * density, seed=seed)
    frame = made.interactions[["user_id", "item_id", "value", "timestamp"]]
    return Interactions.from_frame(frame, explicit=False, source=f"shop-{density}")


def movielens(path: Path) -> Interactions:
    """MovieLens 100K as binary interactions with their timestamps."""
    from nextbuy.evaluation.protocols import read_udata

    frame = read_udata(path).rename(columns={"user": "user_id", "item": "item_id"})
    frame = frame.assign(value=1.0).astype({"user_id": str, "item_id": str})
    return Interactions.from_frame(
        frame[["user_id", "item_id", "value", "timestamp"]], explicit=False, source="ml-100k"
    )


# ---------------------------------------------------------------------- rows
def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def nextbuy_rows(
    train: Interactions, test: Interactions, skip: tuple[str, ...] = ()
) -> list[SetRow]:
    """Every family with its untuned defaults (``auto`` values resolved for this data)."""
    rows = []
    for name in [f for f in FAMILIES if f not in skip]:
        model, fit_s = _timed(lambda name=name: registry.create(name).fit(train))
        result = evaluate(model, train, test, k=K)
        chosen = model.auto_params_.get("values", {})
        settings = ", ".join(f"{k}={v}" for k, v in chosen.items()) or "defaults"
        rows.append(SetRow(name, "nextbuy", settings, result.metrics, fit_s, "", model.params))
        print(f"    {name:<11} ndcg@10={result.metrics['ndcg@10']:.4f} ({fit_s:.1f}s)", flush=True)
    return rows


def auto_row(train: Interactions, test: Interactions, split: str = "user") -> list[SetRow]:
    """``auto`` (``nextbuy.selection.select``) validating on a slice of ``train`` split the
    way the protocol splits (``split``: user or latest); it never sees test."""
    try:
        from nextbuy import selection  # type: ignore[attr-defined]
    except ImportError:
        return []
    try:
        picked, fit_s = _timed(
            lambda: selection.select(train, budget="2m", metric="ndcg@10", seed=SEED, split=split)
        )
        model = getattr(picked, "model", None) or getattr(picked, "winner", None)
        result = evaluate(model, train, test, k=K)
    except Exception as exc:  # noqa: BLE001  (a benchmark row, not a product path)
        print(f"    auto: skipped ({type(exc).__name__}: {exc})", flush=True)
        return []
    name = getattr(model, "name", "?")
    if name == "blend":
        name += " of " + ", ".join(picked.params.get("weights", {}))
    board = picked.leaderboard
    print(f"    auto: {name} ({fit_s:.1f}s): {board.why()}; {'; '.join(board.notes)}", flush=True)
    return [SetRow("auto", "nextbuy", f"budget 2m -> {name}", result.metrics, fit_s)]


def _peer_metrics(train: Interactions, test: Interactions, scores: np.ndarray) -> dict[str, float]:
    """Protocol B metrics of a dense score matrix (seen items excluded)."""
    seen = train.csr
    scores = np.array(scores, dtype=np.float32, copy=True)
    scores[seen.nonzero()] = -np.inf
    top, _ = topk(scores, K)
    truth = sp.csr_matrix(
        (np.ones(len(test), dtype=np.float32), (test.users, test.items)), shape=train.shape
    )
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    return ranking_metrics(top[users], truth[users], k=K, n_items=train.n_items)


def ease_grid_scores(
    x: sp.csr_matrix, lambdas: tuple[float, ...]
) -> Iterator[tuple[float, np.ndarray, float]]:
    """``(lambda, X B, seconds)``: plain EASE's scores (Steck 2019) from one eigendecomposition.

    With the thin SVD ``X = U S V^T`` (from the smaller of ``X X^T`` and ``X^T X``),
    ``P = (X^T X + lam I)^-1 = V diag(1 / (s^2 + lam)) V^T + (I - V V^T) / lam``, so
    ``diag(P)`` and ``X P = (X V) diag(1 / (s^2 + lam)) V^T`` are exact without the
    ``n_items^2`` inverse, and ``X B = X - X P / diag(P)`` (``B = I - P / diag(P)``). Each
    lambda then costs one ``[users, rank] x [rank, items]`` product (rank <= min(users, items));
    ``seconds`` is the shared decomposition's time plus that product's.
    """
    started = time.perf_counter()
    x = sp.csr_matrix(x, dtype=np.float64)
    if x.shape[0] <= x.shape[1]:  # eigenvectors of X X^T are U: V = X^T U / s
        vals, vecs = np.linalg.eigh(np.asarray((x @ x.T).todense()))
        keep = vals > 1e-10 * max(float(vals.max()), 1.0)
        vals, xv = vals[keep], vecs[:, keep] * np.sqrt(vals[keep])
        v = np.asarray(x.T @ vecs[:, keep]) / np.sqrt(vals)
    else:  # eigenvectors of X^T X are V
        vals, vecs = np.linalg.eigh(np.asarray((x.T @ x).todense()))
        keep = vals > 1e-10 * max(float(vals.max()), 1.0)
        vals, v = vals[keep], vecs[:, keep]
        xv = np.asarray(x @ v)
    v_sq = v**2
    outside = 1.0 - v_sq.sum(axis=1)  # the squared norm of each item's part outside V
    dense = np.asarray(x.todense())
    shared = time.perf_counter() - started
    for lam in lambdas:
        started = time.perf_counter()
        inv = 1.0 / (vals + lam)
        diag_p = v_sq @ inv + outside / lam
        scores = dense - ((xv * inv) @ v.T) / diag_p[None, :]
        yield lam, scores, shared + time.perf_counter() - started


def ease_peer(train: Interactions, test: Interactions) -> list[SetRow]:
    """Steck's plain EASE over ``EASE_GRID``; the row shows the best lambda *by test score*.

    Binary input, no EDLAE dropout (nextbuy's ``ease`` with ``dropout=0``). The fit time is
    the shared eigendecomposition plus that lambda's scores.
    """
    best: SetRow | None = None
    for lam, scores, fit_s in ease_grid_scores(train.binary_csr(), EASE_GRID):
        metrics = _peer_metrics(train, test, scores)
        if best is None or metrics["ndcg@10"] > best.metrics["ndcg@10"]:
            note = f"best of lambda in {', '.join(f'{g:g}' for g in EASE_GRID)}, picked on test"
            best = SetRow("EASE (tuned on test)", "reference", f"lambda={lam:g}", metrics, fit_s,
                          note)  # fmt: skip
    return [best] if best is not None else []


def implicit_als_peers(train: Interactions, test: Interactions) -> list[SetRow]:
    """implicit's ALS over ``ALS_GRID``, once with linear and once with log1p confidence."""
    import implicit.cpu.als
    from threadpoolctl import threadpool_limits

    raw = train.csr.astype(np.float32)
    out = []
    for kind in ("linear", "log"):
        best: SetRow | None = None
        for factors, reg, alpha in ALS_GRID:
            x = raw.copy()
            x.data = np.maximum(x.data, 0)
            x.data = np.log1p(x.data) if kind == "log" else x.data

            def fit(
                x: sp.csr_matrix = x, f: int = factors, r: float = reg, a: float = alpha
            ) -> Any:
                with threadpool_limits(1, "blas"):
                    model = implicit.cpu.als.AlternatingLeastSquares(
                        factors=f, regularization=r, alpha=a, iterations=15, random_state=SEED
                    )
                    model.fit(x, show_progress=False)
                return model

            model, fit_s = _timed(fit)
            scores = np.asarray(model.user_factors) @ np.asarray(model.item_factors).T
            metrics = _peer_metrics(train, test, scores)
            if best is None or metrics["ndcg@10"] > best.metrics["ndcg@10"]:
                settings = f"{kind} confidence, factors={factors}, reg={reg:g}, alpha={alpha:g}"
                note = f"best of {len(ALS_GRID)} settings, picked on test"
                best = SetRow(f"ALS {kind} (tuned on test)", "implicit", settings, metrics,
                              fit_s, note)  # fmt: skip
        if best is not None:
            out.append(best)
    return out


def lightfm_peer(train: Interactions, test: Interactions) -> list[SetRow]:
    """LightFM WARP (32 components, 20 epochs) when installed."""
    try:
        from lightfm import LightFM
    except ImportError:
        return []
    x = sp.coo_matrix(train.binary_csr())

    def fit() -> Any:
        model = LightFM(no_components=32, loss="warp", random_state=SEED)
        model.fit(x, epochs=20, num_threads=2)
        return model

    model, fit_s = _timed(fit)
    item_bias, item_emb = model.get_item_representations()
    _, user_emb = model.get_user_representations()
    metrics = _peer_metrics(train, test, user_emb @ item_emb.T + item_bias[None, :])
    return [SetRow("WARP", "lightfm", "no_components=32, epochs=20", metrics, fit_s)]


# ---------------------------------------------------------------------- tables
def protocols(inter: Interactions) -> list[tuple[str, Interactions, Interactions]]:
    """(split, train, test): per-user random 20%, and each user's latest 20% with timestamps."""
    out = [("user", *split_by_user(inter, 0.2, seed=SEED))]
    if has_timestamps(inter):
        out.append(("latest", *split_user_latest(inter, 0.2)))
    return out


def run_set(
    name: str, inter: Interactions, peers: bool = True, skip: tuple[str, ...] = ()
) -> list[SetTable]:
    """Every protocol of one data set: NextBuy's families, ``auto`` and the peers.

    ``skip`` leaves out NextBuy families by name; the EASE peer grid always runs (it costs
    one eigendecomposition, :func:`ease_grid_scores`).
    """
    tables = []
    for split, train, test in protocols(inter):
        print(f"{name}, {split_words(split)}: {len(train):,} train, {len(test):,} test", flush=True)
        rows = nextbuy_rows(train, test, skip) + auto_row(train, test, split)
        if peers:
            rows += ease_peer(train, test)
            rows += implicit_als_peers(train, test)
            rows += lightfm_peer(train, test)
        tables.append(SetTable(name, split, len(train), len(test), rows))
    return tables


def markdown(table: SetTable) -> str:
    """One data set's table, best NDCG@10 first, with the popularity ratio and warnings."""
    pop = next(r for r in table.rows if r.model == "popularity").metrics["ndcg@10"]
    rows = sorted(table.rows, key=lambda r: -r.metrics["ndcg@10"])
    head = ["model", "library", "settings", "NDCG@10", "x popularity", "R@10", "coverage@10",
            "fit s"]  # fmt: skip
    lines = [
        f"**{table.dataset}**, {split_words(table.split)} ({table.n_train:,} train, "
        f"{table.n_test:,} test interactions)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    warnings = []
    for r in rows:
        ndcg = r.metrics["ndcg@10"]
        name = f"**{r.model}**" if r.library == "nextbuy" else r.model
        if r.library == "nextbuy" and r.model != "popularity" and ndcg <= pop:
            name += " (below popularity)"
            warnings.append(
                f"warning: {r.model} does not beat popularity ({ndcg:.4f} vs {pop:.4f})"
            )
        ratio = f"{ndcg / pop:.2f}" if pop > 0 else "-"
        lines.append(
            f"| {name} | {r.library} | {r.settings} | {ndcg:.4f} | {ratio} | "
            f"{r.metrics.get('recall@10', float('nan')):.4f} | "
            f"{r.metrics.get('coverage@10', float('nan')):.3f} | {r.fit_seconds:.1f} |"
        )
    notes = [f"{r.library} {r.model}: {r.note}" for r in rows if r.note]
    notes.append("NextBuy rows (bold) are untuned: settings list what each `auto` default became")
    return "\n".join(lines + [""] + [f"* {n}" for n in warnings + notes])


# ---------------------------------------------------------------------- quality.py's cases
def cases(args: argparse.Namespace) -> list[tuple[str, Callable[[], Interactions]]]:
    """quality.py's --lastfm / --shop-density (and --temporal MovieLens) cases, read lazily;
    sets ``args.set_keys`` (the output file's stem)."""
    sets: list[tuple[str, Callable[[], Interactions]]] = []
    args.set_keys = []
    if args.movielens is not None and args.temporal:
        sets.append(("MovieLens 100K", lambda: movielens(args.movielens)))
        args.set_keys = ["ml100k"]
    if args.lastfm is not None:
        sets.append(("Last.fm HetRec play counts", lambda: read_lastfm(args.lastfm)))
        args.set_keys.append("lastfm")
    for n in args.shop_density:
        sets.append((f"synthetic shop, {n} per user", lambda n=n: shop(n)))
        args.set_keys.append(f"shop{n}")
    return sets


def run_cases(
    sets: list[tuple[str, Callable[[], Interactions]]],
    args: argparse.Namespace,
    info: dict[str, Any],
    command: str,
) -> int:
    """One table per data set and protocol, in ``quality-<sets>.md`` / ``.json`` (e.g.
    ``quality-lastfm.md``, ``quality-ml100k-shop5-shop50.md``)."""
    tables = []
    for name, read in sets:
        skip = tuple(s.strip() for s in args.skip.split(",") if s.strip())
        tables += run_set(name, read(), peers=not args.no_peers_on_sets, skip=skip)
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    head = (f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores), load average "
            f"{info['load_average']} before and {info['load_average_after']} after; "
            f"commit {info['commit']}. Command: `{command}`")  # fmt: skip
    text = "\n\n".join([head, *(markdown(t) for t in tables)]) + "\n"
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "quality-" + "-".join(args.set_keys)
    (args.out / f"{stem}.md").write_text(text)
    payload = {"machine": info, "command": command, "tables": [asdict(t) for t in tables]}
    (args.out / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str))
    return 0
