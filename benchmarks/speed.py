"""Speed and memory at scale: NextBuy vs bare ``implicit`` on the 10-million-interaction shop.

Every stage runs in its own subprocess, so each reports its own peak memory (``VmHWM`` from
/proc/self/status, reset per stage through /proc/self/clear_refs where the kernel allows):

1. generate: ``nextbuy.data.synthetic.generate_shop`` (200,000 users x 50,000 items x
   10,000,000 interactions by default), written to a temporary Parquet file.
2. nextbuy: read the Parquet file -> IdMaps -> CSR (``read_interactions`` + ``Interactions``),
   fit NextBuy's ALS (64 factors, through ``implicit``), top-10 for every user.
3. implicit: the same file the way a bare ``implicit`` user would load it (pandas,
   ``factorize``, scipy CSR), ``implicit.cpu.als`` with the same factors, regularization and
   iterations, top-10 for every user with ``model.recommend``.
4. evaluation: full-ranking top-10 evaluation of 100,000 users x 20,000 items at 64 factors
   (per-user 20 % holdout), ``nextbuy.evaluation.evaluate`` vs ``implicit.evaluation.
   ranking_metrics_at_k`` on the same factors.

Prints a markdown table (with the load average before and after) and writes
``speed.json`` / ``speed.md`` under ``--out``. ``--small`` runs a 1M-interaction version in
about a minute.

    python benchmarks/speed.py            # the 10M shop (a few minutes on 2 cores)
    python benchmarks/speed.py --small    # quick check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
FULL = {"users": 200_000, "items": 50_000, "interactions": 10_000_000,
        "eval_users": 100_000, "eval_items": 20_000, "eval_interactions": 4_000_000}  # fmt: skip
SMALL = {"users": 20_000, "items": 5_000, "interactions": 1_000_000,
         "eval_users": 10_000, "eval_items": 2_000, "eval_interactions": 400_000}  # fmt: skip
#: ALS settings shared by NextBuy and implicit (quality is not the point here, speed is).
ALS = {"factors": 64, "regularization": 1.0, "alpha": 2.0, "iterations": 10}
SEED = 42


# ---------------------------------------------------------------------- memory helpers
def _status(field: str) -> int:
    """A /proc/self/status field in MiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not permitted."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Stage:
    """Times a block and records the peak memory reached inside it (VmHWM after a reset).

    ``process_peak_mib`` keeps the highest VmHWM seen at the end of any stage, i.e. the
    process's peak (resets only lower VmHWM to the current RSS, never below a later peak).
    """

    def __init__(self, out: dict[str, Any], name: str) -> None:
        self.out, self.name = out, name

    def __enter__(self) -> Stage:
        self.reset = reset_peak()
        self.out[f"{self.name}_start_mib"] = _status("VmRSS")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.out[f"{self.name}_s"] = round(time.perf_counter() - self.started, 3)
        peak = _status("VmHWM")
        if self.reset:
            self.out[f"{self.name}_peak_mib"] = peak
        self.out["process_peak_mib"] = max(self.out.get("process_peak_mib", 0), peak)


# ---------------------------------------------------------------------- workers
def worker_generate(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the shop and write its interactions as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nextbuy.data.synthetic import generate_shop

    out: dict[str, Any] = {}
    with Stage(out, "generate"):
        shop = generate_shop(args.users, args.items, args.interactions, seed=SEED)
    with Stage(out, "write_parquet"):
        frame = shop.interactions[["user_id", "item_id", "value", "timestamp", "event"]]
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), args.data)
    out["rows"] = len(shop.interactions)
    return out


def worker_nextbuy(args: argparse.Namespace) -> dict[str, Any]:
    """NextBuy: read Parquet -> IdMaps -> CSR, fit ALS, top-10 for all users."""
    import implicit.cpu.als  # noqa: F401  (imported before the timed stages, as implicit's side)
    import numpy as np

    from nextbuy.data.sources import read_interactions
    from nextbuy.models import registry

    registry.get("als")  # import the model code before timing
    out: dict[str, Any] = {"start_mib": _status("VmRSS")}
    with Stage(out, "prep"):
        dataset = read_interactions(args.data)
        train = dataset.to_interactions()
        del dataset
        csr = train.csr
    out["shape"] = list(train.shape)
    out["nnz"] = int(csr.nnz)
    model = registry.create("als", **ALS, random_state=SEED)
    with Stage(out, "fit"):
        model.fit(train)
    out["fit_per_iteration_s"] = round(out["fit_s"] / ALS["iterations"], 3)
    users = np.arange(train.n_users)
    with Stage(out, "recommend_10k"):
        model.recommend(users[:10_000], k=10)
    with Stage(out, "recommend"):
        model.recommend(users, k=10)
    # ``nextbuy batch``'s own path: the saved artifact, the service, the output frame
    from nextbuy.artifacts import save_artifact
    from nextbuy.cli.answers import _batch_frame
    from nextbuy.cli.service import open_service

    with tempfile.TemporaryDirectory() as models:
        served = open_service(save_artifact(model, train, models, "als"))
        user_ids = served.user_ids()
        with Stage(out, "batch"):
            frame, _ = _batch_frame(served, user_ids, 10)
        out["batch_rows"] = len(frame)
    return out


def worker_implicit(args: argparse.Namespace) -> dict[str, Any]:
    """Bare implicit: pandas + scipy CSR, implicit's ALS and recommend."""
    import implicit.cpu.als
    import numpy as np
    import pandas  # noqa: F401  (imported before the timed stage, as NextBuy's side is)
    import scipy.sparse  # noqa: F401
    from threadpoolctl import threadpool_limits

    out: dict[str, Any] = {"start_mib": _status("VmRSS")}
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from prep_ab import implicit_prep  # the one definition of the reference's preparation

    with Stage(out, "prep"):
        csr = implicit_prep(args.data)
    out["shape"] = list(csr.shape)
    out["nnz"] = int(csr.nnz)
    with threadpool_limits(1, "blas"):  # implicit's advice; NextBuy's ALS does the same
        model = implicit.cpu.als.AlternatingLeastSquares(**ALS, random_state=SEED)
        with Stage(out, "fit"):
            model.fit(csr, show_progress=False)
        out["fit_per_iteration_s"] = round(out["fit_s"] / ALS["iterations"], 3)
        users = np.arange(csr.shape[0])
        with Stage(out, "recommend_10k"):
            model.recommend(users[:10_000], csr[:10_000], N=10, filter_already_liked_items=True)
        with Stage(out, "recommend"):
            model.recommend(users, csr, N=10, filter_already_liked_items=True)
    return out


def worker_evaluation(args: argparse.Namespace) -> dict[str, Any]:
    """Full-ranking top-10 evaluation at 64 factors: NextBuy's evaluate vs implicit's."""
    import implicit.cpu.als
    import implicit.evaluation
    import numpy as np

    from nextbuy.data.interactions import Interactions
    from nextbuy.data.split import split
    from nextbuy.data.synthetic import generate_shop
    from nextbuy.evaluation import evaluate
    from nextbuy.models import registry

    out: dict[str, Any] = {}
    shop = generate_shop(args.eval_users, args.eval_items, args.eval_interactions, seed=SEED)
    inter = Interactions.from_frame(shop.interactions)
    del shop
    train, test = split(inter, "user", test_fraction=0.2, seed=SEED)
    out["shape"] = list(train.shape)
    model = registry.create("als", **{**ALS, "iterations": 3}, random_state=SEED).fit(train)
    with Stage(out, "nextbuy_eval"):
        result = evaluate(model, train, test, k=10)
    out["nextbuy_users"] = result.n_users
    out["nextbuy_ndcg@10"] = round(result.metrics["ndcg@10"], 5)
    twin = implicit.cpu.als.AlternatingLeastSquares(factors=ALS["factors"])
    twin.user_factors = np.array(model.user_factors_)
    twin.item_factors = np.array(model.item_factors_)
    test_csr = test.binary_csr()
    with Stage(out, "implicit_eval"):
        metrics = implicit.evaluation.ranking_metrics_at_k(
            twin, train.csr, test_csr, K=10, show_progress=False
        )
    out["implicit_ndcg@10"] = round(float(metrics["ndcg"]), 5)
    return out


WORKERS = {
    "generate": worker_generate,
    "nextbuy": worker_nextbuy,
    "implicit": worker_implicit,
    "evaluation": worker_evaluation,
}


def run_worker(name: str, args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its last stdout line is a JSON result."""
    cmd = [sys.executable, __file__, "--worker", name, "--data", str(data)]
    for key in ("users", "items", "interactions", "eval_users", "eval_items",
                "eval_interactions"):  # fmt: skip
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"worker {name} failed:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - started, 2)
    print(f"  {name}: {json.dumps(result)}", flush=True)
    return result


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from repeated runs: the minimum of every time (``*_s``), the first run's rest."""
    out = dict(runs[0])
    for key in out:
        if key.endswith("_s"):
            out[key] = min(run[key] for run in runs)
    out["runs"] = len(runs)
    return out


# ---------------------------------------------------------------------- report
def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else ""


def report(res: dict[str, dict[str, Any]], sizes: dict[str, int], info: dict[str, Any]) -> str:
    """The markdown table: one row per measurement, NextBuy next to implicit and the target."""
    gen, nb, im, ev = res["generate"], res["nextbuy"], res["implicit"], res["evaluation"]
    n_users, n_items = nb["shape"]
    rows = [
        ("generate the shop (generate_shop)", gen["generate_s"], None, "", "<= 20 s"),
        ("data preparation: Parquet -> IdMaps -> CSR", nb["prep_s"], im["prep_s"],
         ratio(nb["prep_s"], im["prep_s"]), "<= 10 s"),
        ("ALS fit, 64 factors, per iteration", nb["fit_per_iteration_s"],
         im["fit_per_iteration_s"], ratio(nb["fit_per_iteration_s"], im["fit_per_iteration_s"]),
         ""),
        (f"ALS end to end ({ALS['iterations']} iterations, in-memory data to fitted model)",
         nb["fit_s"], im["fit_s"], ratio(nb["fit_s"], im["fit_s"]), "<= 1.10x implicit"),
        ("top-10 for 10,000 users (seen items excluded)", nb["recommend_10k_s"],
         im["recommend_10k_s"], ratio(nb["recommend_10k_s"], im["recommend_10k_s"]), ""),
        (f"top-10 for all {n_users:,} users", nb["recommend_s"], im["recommend_s"],
         ratio(nb["recommend_s"], im["recommend_s"]), ""),
        (f"`nextbuy batch` top-10 for all {n_users:,} users (service + output frame)",
         nb.get("batch_s"), im["recommend_s"], ratio(nb.get("batch_s"), im["recommend_s"]),
         "<= 1.10x implicit"),
        (f"full-ranking evaluation, {ev['shape'][0]:,} x {ev['shape'][1]:,} at 64 factors "
         f"({ev['nextbuy_users']:,} test users)", ev["nextbuy_eval_s"], ev["implicit_eval_s"],
         ratio(ev["nextbuy_eval_s"], ev["implicit_eval_s"]), "<= 30 s"),
    ]  # fmt: skip
    nb_fit = nb.get("fit_peak_mib", 0) - nb["fit_start_mib"]
    im_fit = im.get("fit_peak_mib", 0) - im["fit_start_mib"]
    mem = [
        ("peak memory while training (VmHWM during the ALS fit, data loaded)",
         nb.get("fit_peak_mib"), im.get("fit_peak_mib"),
         ratio(nb.get("fit_peak_mib"), im.get("fit_peak_mib")), "<= 2x implicit"),
        ("memory the ALS fit adds (its peak minus the RSS before it)", nb_fit, im_fit,
         ratio(nb_fit, im_fit), ""),
        ("peak memory of data preparation", nb.get("prep_peak_mib"), im.get("prep_peak_mib"),
         ratio(nb.get("prep_peak_mib"), im.get("prep_peak_mib")), ""),
        ("peak memory of the whole process (VmHWM)", nb["process_peak_mib"],
         im["process_peak_mib"], ratio(nb["process_peak_mib"], im["process_peak_mib"]), ""),
        ("peak memory of the generator process", gen["process_peak_mib"], None, "", ""),
    ]  # fmt: skip
    lines = [
        f"{sizes['interactions']:,} interactions, {n_users:,} users x {n_items:,} items "
        f"({nb['nnz']:,} distinct pairs). Measured {info['date']} on {info['cpu']} "
        f"({info['cores']} cores); load average {info['load_before']} before, "
        f"{info['load_after']} after. Command: `{info['command']}`",
        "",
        "| measurement | NextBuy | implicit | NextBuy / implicit | target |",
        "|---|---|---|---|---|",
    ]
    for label, a, b, r, target in rows:
        lines.append(f"| {label} | {a:.2f} s | {'' if b is None else f'{b:.2f} s'} | {r} | "
                     f"{target} |")  # fmt: skip
    for label, a, b, r, target in mem:
        a_s = "" if a is None else f"{a:,} MiB"
        b_s = "" if b is None else f"{b:,} MiB"
        lines.append(f"| {label} | {a_s} | {b_s} | {r} | {target} |")
    lines.append("")
    lines.append(
        f"NDCG@10 of the evaluation run (same factors): NextBuy {ev['nextbuy_ndcg@10']}, "
        f"implicit {ev['implicit_ndcg@10']} (implicit's NDCG divides by the ideal DCG of "
        "min(K, |test|) items too, but counts only users it can score)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1M interactions, quick check")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (min counts)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None,
                            help=f"default {value:,} ({SMALL[key]:,} with --small)")  # fmt: skip
    args = parser.parse_args(argv)
    sizes = SMALL if args.small else FULL
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    if args.worker:
        result = WORKERS[args.worker](args)
        sys.stdout.write(json.dumps(result) + "\n")
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from quality import machine  # the same machine description as the quality tables

    info = machine()
    info["load_before"] = info.pop("load_average")
    info["command"] = "python benchmarks/speed.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    used = {k: getattr(args, k) for k in FULL}
    print(f"speed benchmark: {json.dumps(used)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="nextbuy-speed-") as tmp:
        data = Path(tmp) / "interactions.parquet"
        results = {"generate": run_worker("generate", args, data)}
        # NextBuy and implicit alternate, each --repeat times; the fastest run of each counts
        # (other processes on a shared machine only ever add time)
        runs: dict[str, list[dict[str, Any]]] = {"nextbuy": [], "implicit": []}
        for _ in range(args.repeat):
            for name in runs:
                runs[name].append(run_worker(name, args, data))
        for name, done in runs.items():
            results[name] = fastest(done)
        results["evaluation"] = run_worker("evaluation", args, data)
    info["load_after"] = [round(x, 2) for x in os.getloadavg()]
    info["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = report(results, used, info)
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "speed-small" if args.small else "speed"
    (args.out / f"{name}.md").write_text(text + "\n")
    payload = {"sizes": used, "als": ALS, "machine": info, "results": results}
    (args.out / f"{name}.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
