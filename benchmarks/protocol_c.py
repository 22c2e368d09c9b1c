"""Protocol C (next item): sasrec against popularity, trending, EASE and implicit ALS, one run.

Each user's interactions are sorted by timestamp (ties by item ID); the last one is the test,
the one before it validation; users with fewer than 3 are train only
(:func:`nextbuy.evaluation.sequential.leave_last_split`). Full ranking over every item, seen
items excluded, NDCG@10 and HR@10.

Peers are tuned twice over their grid: on validation (fit on train, score the validation
item; the setting a real user would ship) and on the test itself (fit on train + validation,
the best test score: the advantage the issue's target gives them). ``sasrec`` runs with its
defaults, fitted on train + validation (it holds out each user's last item of that for early
stopping on its own). Decayed ALS and EASE pick their half-life on validation, 0 (off)
included. Data: MovieLens 100K (``--movielens``) and the synthetic shop generated with
sequential structure (``--shop-sequential 0.5``). Writes ``protocol-c.json`` and
``protocol-c.md`` under ``--out``.

    python benchmarks/protocol_c.py --movielens ../shared/data/ml-100k --shop-sequential 0.5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation import evaluate
from nextbuy.evaluation.protocols import read_udata
from nextbuy.evaluation.sequential import LeaveLast, leave_last_split
from nextbuy.models import registry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import RESULTS, machine  # noqa: E402

K = 10
#: Grids searched for the peers (small: each point is one fit).
GRIDS: dict[str, list[dict[str, Any]]] = {
    "ease": [{"regularization": r, "dropout": 0.0} for r in (50.0, 200.0, 500.0, 1000.0)],
    "implicit-als": [
        {"factors": f, "regularization": r, "alpha": a}
        for f in (32, 64)
        for r in (1.0, 10.0)
        for a in (1.0, 10.0)
    ],
    "trending": [{"half_life_days": h} for h in (3.0, 14.0, 60.0, 365.0)],
}
HALF_LIVES = (0.0, 7.0, 30.0, 180.0)


@dataclass
class Row:
    """One model's line in a data set's table."""

    data: str
    model: str
    settings: str
    chosen_on: str
    ndcg: float
    hr: float
    fit_seconds: float


def ndcg_hr(model: Any, train: Interactions, test: Interactions) -> tuple[float, float]:
    result = evaluate(model, train, test, k=K)
    return result.metrics[f"ndcg@{K}"], result.metrics[f"hit_rate@{K}"]


class ImplicitALS:
    """Bare ``implicit`` ALS behind the two calls this script needs (fit, recommend)."""

    name = "implicit-als"
    predicts_ratings = False

    def __init__(self, **params: Any) -> None:
        self.params = params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return dict(self.params)

    def fit(self, train: Interactions) -> ImplicitALS:
        from implicit.cpu.als import AlternatingLeastSquares

        self.n_users_, self.n_items_ = train.shape
        self.x = train.binary_csr()
        self.model = AlternatingLeastSquares(
            factors=self.params["factors"],
            regularization=self.params["regularization"],
            alpha=self.params["alpha"],
            iterations=15,
            random_state=42,
        )
        self.model.fit(self.x, show_progress=False)
        return self

    def recommend(self, users: np.ndarray, k: int = 10, **_: Any) -> tuple[np.ndarray, Any]:
        """Top-k of the training users, their training items excluded (implicit's filter)."""
        users = np.asarray(users)
        ids, scores = self.model.recommend(
            users, self.x[users], N=k, filter_already_liked_items=True
        )
        return ids.astype(np.int32), scores


def make(name: str, params: dict[str, Any]) -> Any:
    if name == "implicit-als":
        return ImplicitALS(**params)
    return registry.create(name, **params)


def timed_fit(name: str, params: dict[str, Any], train: Interactions) -> tuple[Any, float]:
    started = time.perf_counter()
    model = make(name, params).fit(train)
    return model, time.perf_counter() - started


def tuned(data: str, name: str, grid: list[dict[str, Any]], split: LeaveLast) -> list[Row]:
    """The grid's best on validation (refitted on train + valid) and its best on test."""
    rows = []
    on_valid = max(grid, key=lambda p: ndcg_hr(timed_fit(name, p, split.train)[0],
                                               split.train, split.valid)[0])  # fmt: skip
    scores = []
    for params in grid:
        model, fit_s = timed_fit(name, params, split.train_valid)
        ndcg, hr = ndcg_hr(model, split.train_valid, split.test)
        scores.append((ndcg, hr, fit_s, params))
        if params == on_valid:
            rows.append(Row(data, name, _fmt(params), "validation", ndcg, hr, fit_s))
    best = max(scores, key=lambda s: s[0])
    rows.append(Row(data, name, _fmt(best[3]), "test (peer advantage)", best[0], best[1], best[2]))
    return rows


def decayed(data: str, name: str, base: dict[str, Any], split: LeaveLast) -> list[Row]:
    """``name`` with the half-life chosen on validation (0 = off is a candidate)."""
    grid = [{**base, "half_life_days": h} for h in HALF_LIVES]
    rows = tuned(data, name, grid, split)
    plain = [r for r in tuned(data, name, [grid[0]], split) if r.chosen_on == "validation"]
    for row in rows:
        row.model = f"{name} + decay"
    return [r for r in rows if r.chosen_on == "validation"] + [
        Row(
            data,
            name,
            _fmt(base),
            "defaults, no decay",
            plain[0].ndcg,
            plain[0].hr,
            plain[0].fit_seconds,
        )  # fmt: skip
    ]


def run(data: str, interactions: Interactions) -> list[Row]:
    split = leave_last_split(interactions)
    print(f"{data}: {len(split.train)} train, {len(split.valid)} valid, {len(split.test)} test",
          flush=True)  # fmt: skip
    rows: list[Row] = []
    model, fit_s = timed_fit("popularity", {}, split.train_valid)
    rows.append(Row(data, "popularity", "", "-", *ndcg_hr(model, split.train_valid, split.test),
                    fit_s))  # fmt: skip
    for name, grid in GRIDS.items():
        rows += tuned(data, name, grid, split)
        _echo(rows[-1])
    ease_default = registry.get("ease").defaults
    rows += decayed(data, "ease", {"regularization": ease_default["regularization"]}, split)
    rows += decayed(data, "als", {}, split)
    model, fit_s = timed_fit("sasrec", {}, split.train_valid)
    ndcg, hr = ndcg_hr(model, split.train_valid, split.test)
    epochs = len(model.history_.get("train_loss", []))
    per_epoch = fit_s / max(epochs, 1)
    best = int(model.history_.get("best_epoch", [epochs - 1])[0]) + 1
    settings = f"defaults ({epochs} epochs, best {best}, {per_epoch:.1f} s per epoch)"
    rows.append(Row(data, "sasrec", settings, "-", ndcg, hr, fit_s))
    for row in rows:
        _echo(row)
    return rows


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())  # fmt: skip


def _echo(row: Row) -> None:
    print(f"  {row.model:<16} {row.chosen_on:<22} ndcg@10={row.ndcg:.4f} hr@10={row.hr:.4f} "
          f"fit {row.fit_seconds:.1f}s  {row.settings}", flush=True)  # fmt: skip


def markdown(rows: list[Row]) -> str:
    head = ["model", "settings", "chosen on", "NDCG@10", "HR@10", "fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(rows, key=lambda r: -r.ndcg):
        name = f"**{r.model}**" if r.model == "sasrec" else r.model
        lines.append(f"| {name} | {r.settings or 'defaults'} | {r.chosen_on} | {r.ndcg:.4f} | "
                     f"{r.hr:.4f} | {r.fit_seconds:.1f} |")  # fmt: skip
    peers = [r for r in rows if r.model in ("ease", "implicit-als", "trending", "popularity")]
    best = max(peers, key=lambda r: r.ndcg)
    sas = next(r for r in rows if r.model == "sasrec")
    lines.append("")
    ratio = sas.ndcg / best.ndcg
    lines.append(
        f"sasrec / best non-sequential peer ({best.model}, {best.chosen_on}): "
        f"**{ratio:.2f}x**; sasrec trained in {sas.fit_seconds:.0f} s"
    )
    return "\n".join(lines)


def movielens(path: Path) -> Interactions:
    frame = read_udata(path).rename(columns={"user": "user_id", "item": "item_id"})
    frame["value"] = 1.0
    return Interactions.from_frame(frame[["user_id", "item_id", "value", "timestamp"]])


def sequential_shop(share: float) -> Interactions:
    from nextbuy.data.synthetic import generate_shop

    shop = generate_shop(n_users=3000, n_items=600, n_interactions=60_000, sequential=share)
    return Interactions.from_frame(shop.interactions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, help="ml-100k folder")
    parser.add_argument(
        "--shop-sequential",
        type=float,
        default=None,
        help="also the synthetic shop with this share of journey steps",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sets: dict[str, Callable[[], Interactions]] = {}
    if args.movielens:
        sets["MovieLens 100K"] = lambda: movielens(args.movielens)
    if args.shop_sequential is not None:
        sets[f"sequential shop ({args.shop_sequential:g})"] = lambda: sequential_shop(
            args.shop_sequential
        )
    if not sets:
        parser.error("give --movielens and/or --shop-sequential")
    info = machine()
    results = {name: run(name, load()) for name, load in sets.items()}
    info["load_average_after"] = machine()["load_average"]
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "rows": {k: [asdict(r) for r in v] for k, v in results.items()}}
    (args.out / "protocol-c.json").write_text(json.dumps(payload, indent=2))
    text = [f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores); load "
            f"{info['load_average']} before, {info['load_average_after']} after; commit "
            f"{info['commit']}. Command: `python benchmarks/protocol_c.py "
            f"{' '.join(argv if argv is not None else sys.argv[1:])}`"]  # fmt: skip
    for name, rows in results.items():
        text += ["", f"#### Protocol C: {name}", "", markdown(rows)]
    (args.out / "protocol-c.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
