"""A/B simulator (issue 14): synthetic shoppers with known tastes against two real models
served by a real server, then many seeded replays that validate the report's statistics.

    python benchmarks/ab_sim.py [--users 2000 --items 400 --seeds 400] [--json OUT]

1. The sample shop is generated and its latent tastes recovered (the generator's own draws,
   replayed), so every (user, item) has a true purchase probability: category appetite times
   taste affinity. Popularity (control) and ALS (challenger) are trained on the shop's log and
   saved as two versions of one model; a real server (uvicorn) runs an experiment between
   ``@champion`` and ``@challenger``; every user asks once, buys each shown item with its true
   probability, and posts the purchase (half with the ``recommendation_id``, half relying on the
   attribution window). The server's report is printed.
2. For ``--seeds`` seeds the assignment salt and the purchases are redrawn from the same lists
   (the lists each model serves each user, through the server's own code), and the report's
   two-proportion z-test is run: detection power at the simulated lift, the A/A false-positive
   rate (both arms popularity), and how often the 95% interval covers the true difference.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from nextbuy import modelregistry as registry
from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.data.synthetic.products import category_names
from nextbuy.data.synthetic.shop import _YEAR, _argsort_unique, _id_strings, _rated_pairs
from nextbuy.data.synthetic.taste import choose_items, draw_items, draw_users, rate, sample_events
from nextbuy.experiments.assignment import assign_many
from nextbuy.experiments.definition import Experiment, Variant
from nextbuy.experiments.stats import two_proportion_test
from nextbuy.models import registry as models
from nextbuy.serving.options import RecommendOptions
from nextbuy.serving.process import running_server
from nextbuy.serving.service import RecommendationService
from nextbuy.serving.settings import ServingSettings

console = Console()
KEY = {"X-API-Key": "ab-sim-key-0123456789"}
K = 10


def true_purchase_probability(n_users: int, n_items: int, n_inter: int, seed: int,
                              base: float) -> tuple[Any, np.ndarray]:  # fmt: skip
    """The shop and P[u, i] (shop ID order) from the generator's own draws, replayed."""
    shop = generate_shop(n_users=n_users, n_items=n_items, n_interactions=n_inter, seed=seed)
    rng = np.random.default_rng(seed)  # the same draws as generate_shop, in the same order
    n_cat = min(10, n_items)
    items = draw_items(n_items, n_cat, 8, rng)
    people = draw_users(items, n_users, n_inter, 8, rng)
    users = np.repeat(np.arange(n_users, dtype=np.int32), people.activity)
    chosen, affinity = choose_items(users, people, items, 2.0, 6, 0.05, rng)
    events = sample_events(affinity, rng)
    first_seen = rng.uniform(0.0, 0.8, n_users)
    frac = first_seen[users] + rng.random(len(users)) * (1.0 - first_seen[users])
    offsets = (frac * _YEAR).astype(np.int64)
    order = _argsort_unique(offsets, _YEAR)
    users, chosen, events = users[order], chosen[order], events[order]
    r_users, r_items, _ = _rated_pairs(users, chosen, events, offsets[order], n_items, 0.5, rng)
    rate(r_users, r_items, people, items, rng)
    perm = rng.permutation(n_items)
    ids = np.asarray(_id_strings("p", n_items).take(perm).to_pylist())  # internal -> item ID
    catalog = shop.items.set_index("item_id")
    if not (catalog.loc[ids, "category"].to_numpy() == category_names(n_cat)[items.category]).all():
        raise SystemExit("could not replay the shop's draws (generator changed?)")
    aff = people.factors @ items.factors.T / np.sqrt(items.factors.shape[1])
    appetite = people.mix[:, items.category] * n_cat  # 1 on average
    p = np.clip(base * appetite * 2.0 / (1.0 + np.exp(-2.0 * aff)), 0.0, 0.9)
    return shop, p[:, np.argsort(ids)]  # columns in sorted item-ID order


def served_lists(version_dir: Path, user_ids: list[str]) -> list[list[str]]:
    """The list each user gets from a version, through the server's own service."""
    service = RecommendationService(ServingSettings(model_dir=version_dir, online=False))
    service.load()
    options = RecommendOptions(k=K)
    return [[i["item_id"] for i in service.recommend(u, options)["recommendations"]]
            for u in user_ids]  # fmt: skip


def list_probability(lists: list[list[str]], p: np.ndarray, col: dict[str, int]) -> np.ndarray:
    """P(a user buys at least one shown item) per user."""
    idx = np.array([[col[i] for i in lst] for lst in lists])
    rows = np.arange(len(lists))[:, None]
    return 1.0 - np.prod(1.0 - p[rows, idx], axis=1)


def live_experiment(root: Path, user_ids: list[str], p: np.ndarray, col: dict[str, int],
                    rng: np.random.Generator, log: Path) -> dict[str, Any]:  # fmt: skip
    """The real server: create the experiment, serve every user once, post purchases."""
    exp = {"experiment_id": "pop-vs-als",
           "variants": [{"name": "control", "model": "@champion"},
                        {"name": "als", "model": "@challenger"}]}  # fmt: skip
    env = {"NEXTBUY_API_KEY": KEY["X-API-Key"], "NEXTBUY_ACCESS_LOG": "false"}
    with running_server(root / "shop@champion", log, env=env) as server, \
            httpx.Client(base_url=server.url, timeout=30) as http:  # fmt: skip
        assert http.post("/experiments", json=exp, headers=KEY).status_code == 201
        events = []
        for n, user in enumerate(track(user_ids, description="users shopping")):
            answer = http.post("/recommend", json={"user_id": user, "k": K}).json()
            for item in answer["recommendations"]:
                if rng.random() < p[n, col[item["item_id"]]]:
                    event = {"user_id": user, "item_id": item["item_id"], "event": "purchase"}
                    if n % 2 == 0:  # half send the list's id back, half rely on the window
                        event |= {"recommendation_id": answer["recommendation_id"],
                                  "position": item["rank"]}  # fmt: skip
                    events.append(event)
        for start in range(0, len(events), 1000):
            http.post("/events", json=events[start : start + 1000])
        time.sleep(1.0)  # the impression writer flushes every 0.2 s
        return http.get("/experiments/pop-vs-als").json()  # type: ignore[no-any-return]


def replay(q_a: np.ndarray, q_b: np.ndarray, user_ids: list[str], seeds: int) -> dict[str, float]:
    """Seeded re-draws of assignment and purchases: power, A/A false positives, coverage."""
    arms = [Variant(name="a"), Variant(name="b")]
    true_diff = float(q_b.mean() - q_a.mean())
    wins = aa_false = covered = 0
    for seed in track(range(seeds), description="seeded replays"):
        rng = np.random.default_rng(1000 + seed)
        exp = Experiment(experiment_id="sim", variants=arms, salt=f"seed-{seed}")
        in_b = assign_many(exp, user_ids) == "b"
        bought = rng.random(len(user_ids)) < np.where(in_b, q_b, q_a)
        n_a, n_b = int((~in_b).sum()), int(in_b.sum())
        diff, (low, high), p_value = two_proportion_test(
            int(bought[~in_b].sum()), n_a, int(bought[in_b].sum()), n_b
        )
        wins += p_value < 0.05 and diff > 0
        covered += low <= true_diff <= high
        aa = rng.random(len(user_ids)) < q_a
        aa_p = two_proportion_test(int(aa[~in_b].sum()), n_a, int(aa[in_b].sum()), n_b)[2]
        aa_false += aa_p < 0.05
    return {"true_difference": true_diff, "power": wins / seeds,
            "aa_false_positive_rate": aa_false / seeds, "coverage": covered / seeds,
            "seeds": seeds}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--interactions", type=int, default=60_000)
    ap.add_argument("--seeds", type=int, default=400)
    ap.add_argument("--base", type=float, default=0.01, help="Purchase probability scale.")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    started = time.perf_counter()
    shop, p = true_purchase_probability(args.users, args.items, args.interactions, 14, args.base)
    item_ids = sorted(shop.items["item_id"].astype(str))
    col = {item: j for j, item in enumerate(item_ids)}
    user_ids = sorted(shop.interactions["user_id"].astype(str).unique())
    p = p[[int(u[1:]) for u in user_ids]]
    rng = np.random.default_rng(14)
    with tempfile.TemporaryDirectory(prefix="ab-sim-") as tmp:
        root = Path(tmp)
        train = Interactions.from_frame(shop.interactions)
        pop = save_artifact(models.create("popularity").fit(train), train, root, "shop",
                            catalog=shop.items)  # fmt: skip
        als_model = models.create("als", factors=16, iterations=10, num_threads=1).fit(train)
        als = save_artifact(als_model, train, root, "shop", catalog=shop.items)
        registry.promote(root / "shop", pop.name, "champion")
        registry.promote(root / "shop", als.name, "challenger")
        report = live_experiment(root, user_ids, p, col, rng, root / "server.log")
        q_pop = list_probability(served_lists(pop, user_ids), p, col)
        q_als = list_probability(served_lists(als, user_ids), p, col)
    sim = replay(q_pop, q_als, user_ids, args.seeds)
    # a weaker challenger: each of its users gets the ALS list with probability 0.1 (else
    # popularity's), a small true lift where power is informative
    weak = replay(q_pop, q_pop + 0.1 * (q_als - q_pop), user_ids, args.seeds)
    show(report, {"als": sim, "10% als": weak}, q_pop, q_als)
    if args.json is not None:
        out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": platform.platform(), "args": vars(args) | {"json": str(args.json)},
               "seconds": round(time.perf_counter() - started, 1), "live_report": report,
               "simulation": {"als": sim, "als_10pct": weak},
               "true_rate": {"control": float(q_pop.mean()),
                             "als": float(q_als.mean())}}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2, default=str))


def show(
    report: dict[str, Any], sims: dict[str, dict[str, float]], q_a: np.ndarray, q_b: np.ndarray
) -> None:
    live = Table(title="live experiment on a real server (purchase per user, 95% Wilson CI)")
    for col in ("variant", "users", "impressions", "purchase/user", "95% CI", "true rate"):
        live.add_column(col, justify="left" if col == "variant" else "right")
    truth = {"control": q_a.mean(), "als": q_b.mean()}
    for v in report["variants"]:
        r = v["purchase_per_user"]
        low, high = r["ci95"]
        live.add_row(v["variant"], str(v["users"]), str(v["impressions"]), f"{r['rate']:.4f}",
                     f"[{low:.4f}, {high:.4f}]", f"{truth[v['variant']]:.4f}")  # fmt: skip
    console.print(live)
    test = next(t for t in report["tests"] if t["outcome"] == "purchase_per_user")
    console.print(f"difference {test['difference']:+.4f} [{test['ci95'][0]:+.4f}, "
                  f"{test['ci95'][1]:+.4f}], p={test['p_value']:.3g}; SRM p="
                  f"{report['srm']['p_value']:.3f}; attributed {report['attributed_events']}; "
                  f"verdict: {report['verdict']}", highlight=False)  # fmt: skip
    seeds = next(iter(sims.values()))["seeds"]
    table = Table(title=f"statistics over {seeds} seeded replays each (nominal: A/A 5%, "
                  "coverage 95%)")  # fmt: skip
    for col in ("challenger", "true lift (abs)", "detection power", "A/A false positives",
                "CI coverage"):  # fmt: skip
        table.add_column(col, justify="right")
    for name, sim in sims.items():
        table.add_row(name, f"{sim['true_difference']:+.4f}", f"{sim['power']:.1%}",
                      f"{sim['aa_false_positive_rate']:.1%}", f"{sim['coverage']:.1%}")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
