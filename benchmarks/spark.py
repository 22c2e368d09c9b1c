"""Spark MLlib ALS next to ``implicit`` and NextBuy's best: quality, speed, memory, batch.

Side by side in one run, on the same data and the same split:

1. quality: MovieLens 100K protocol B (NDCG@10 and friends, ``nextbuy.evaluation``) for
   Spark ALS (``spark_als``), implicit's ALS (NextBuy's ``als``, and the bare-implicit peer
   setting of ``quality.py``), NextBuy's best (``blend``) and popularity; protocol A (RMSE)
   for Spark's explicit ALS against NextBuy's ``mf`` and best (``bpmf``). Spark's settings
   were tuned on a validation slice of the training split (``--tune`` re-runs that search).
2. speed: synthetic shops of 1M, 10M and 50M interactions written as Parquet; Spark reads,
   indexes, aggregates and trains (``nextbuy.spark.train.train_spark``, no split) while
   NextBuy + implicit read the same file and fit the same ALS; seconds per iteration, end to
   end, peak memory of the Spark JVM (driver and executor are one JVM in local mode), of the
   driver Python, and of the Python workers.
3. batch: ``batch --engine spark`` against the in-process batch, top-10 for every user.

Every stage runs in its own process so its peaks are its own. The machine is 2 shared
cores: the load average is printed next to every table.

    python benchmarks/spark.py --movielens ../shared/data/ml-100k              # everything
    python benchmarks/spark.py --movielens ../shared/data/ml-100k --sizes 1M   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import machine  # noqa: E402
from benchmarks.speed import Stage, _status  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SEED = 42
#: Shops by size: users x items x interactions (10M is speed.py's shop).
SIZES = {
    "1M": (20_000, 5_000, 1_000_000),
    "10M": (200_000, 50_000, 10_000_000),
    "50M": (1_000_000, 100_000, 50_000_000),
}
#: The ALS both engines fit in the speed runs (speed.py's settings; speed, not quality).
SPEED_ALS = {"factors": 64, "iterations": 10}
#: Spark ALS on protocol B, from ``--tune`` (validation slice of the training split only;
#: results/spark-tuning.json). They are also the shipped defaults of spark_als(_explicit).
SPARK_B = {"factors": 64, "regularization": 0.3, "alpha": 3.0, "iterations": 15}
#: Spark's explicit ALS on protocol A, from ``--tune``.
SPARK_A = {"factors": 8, "regularization": 0.15, "iterations": 15}
#: Spark settings of the benchmark's local session (2 cores; heap sized per shop).
SPARK_CONF = {"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false"}


# ---------------------------------------------------------------------- memory of Spark's processes
def _rss_mib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids: list[int] = []
        for task in Path(f"/proc/{parent}/task").glob("*"):  # children of every thread
            try:
                kids += [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
        out += kids
        todo += kids
    return out


class SparkMemory:
    """Samples the JVM's and the Python workers' memory while Spark runs (every 0.2 s)."""

    def __init__(self) -> None:
        self.jvm_pid = 0
        self.workers_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def attach(self, spark: Any) -> None:
        self.jvm_pid = int(spark.sparkContext._gateway.proc.pid)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            kids = [p for p in _descendants(self.jvm_pid) if _is_python(p)]
            self.workers_peak = max(self.workers_peak, sum(_rss_mib(p) for p in kids))

    def report(self, out: dict[str, Any]) -> None:
        self._stop.set()
        out["jvm_peak_mib"] = _rss_mib(self.jvm_pid, "VmHWM")
        out["python_workers_peak_mib"] = self.workers_peak
        out["python_driver_peak_mib"] = max(out.get("process_peak_mib", 0), _status("VmHWM"))


def _is_python(pid: int) -> bool:
    try:
        return "python" in Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return False


def _session(heap: str) -> Any:
    from nextbuy.spark.session import SparkOptions, get_session

    conf = {**SPARK_CONF, "spark.driver.memory": heap}
    return get_session(SparkOptions(master="local[*]", conf=conf))


# ---------------------------------------------------------------------- workers
def worker_generate(args: dict[str, Any]) -> dict[str, Any]:
    """The shop's interactions as one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nextbuy.data.synthetic import generate_shop

    users, items, n = SIZES[args["size"]]
    out: dict[str, Any] = {}
    with Stage(out, "generate"):
        shop = generate_shop(users, items, n, seed=SEED)
        frame = shop.interactions[["user_id", "item_id", "value", "timestamp", "event"]]
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), args["data"])
    out["rows"] = len(frame)
    return out


def worker_spark_train(args: dict[str, Any]) -> dict[str, Any]:
    """``train --engine spark`` on the Parquet file: read, index, aggregate, fit, save."""
    from nextbuy.config import Config
    from nextbuy.spark.session import SparkOptions
    from nextbuy.spark.train import train_spark

    out: dict[str, Any] = {}
    memory = SparkMemory()
    with Stage(out, "session"):
        spark = _session(args["heap"])
    memory.attach(spark)
    cfg = Config()
    cfg.split.method = "none"
    params = {**SPEED_ALS, "num_user_blocks": 4, "num_item_blocks": 4}
    options = SparkOptions(master="local[*]")
    with Stage(out, "end_to_end"):
        result = train_spark(args["data"], args["models"], options, cfg, model="spark_als",
                             params=params, name="spark")  # fmt: skip
    out.update({k: round(v, 3) for k, v in result.timings.items()})
    out["n_train"] = result.n_train
    if args.get("per_iteration"):  # fit time at 2 iterations: the slope is the iteration cost
        from nextbuy.spark.io import index_log, read_log
        from nextbuy.spark.train import factors_array, fit_als

        pairs = index_log(read_log(spark, args["data"])).pairs
        pairs.count()
        two = {**params, "iterations": 2}
        started = time.perf_counter()
        model = fit_als(pairs, two, explicit=False)
        factors_array(model.userFactors, result.model.n_users_, SPEED_ALS["factors"])
        factors_array(model.itemFactors, result.model.n_items_, SPEED_ALS["factors"])
        out["fit_2_iterations_s"] = round(time.perf_counter() - started, 3)
        slope = (out["fit_s"] - out["fit_2_iterations_s"]) / (SPEED_ALS["iterations"] - 2)
        out["per_iteration_s"] = round(slope, 3)
    else:
        out["per_iteration_s"] = round(out["fit_s"] / SPEED_ALS["iterations"], 3)
    memory.report(out)
    return out


def worker_local_train(args: dict[str, Any]) -> dict[str, Any]:
    """The same file in-process: NextBuy's reader, ``als`` (implicit's solver), save."""
    from nextbuy.artifacts import save_artifact
    from nextbuy.data.sources import read_interactions
    from nextbuy.models import registry

    out: dict[str, Any] = {}
    registry.get("als")
    with Stage(out, "end_to_end"):
        with Stage(out, "read_index"):
            train = read_interactions(args["data"]).to_interactions()
            train.csr  # noqa: B018 - build the CSR inside the timed stage
        model = registry.create("als", **SPEED_ALS, regularization=1.0, random_state=SEED)
        with Stage(out, "fit"):
            model.fit(train)
        with Stage(out, "save"):
            save_artifact(model, train, args["models"], "local")
    out["per_iteration_s"] = round(out["fit_s"] / SPEED_ALS["iterations"], 3)
    out["n_train"] = len(train)
    out["python_driver_peak_mib"] = max(out.get("process_peak_mib", 0), _status("VmHWM"))
    return out


def worker_spark_batch(args: dict[str, Any]) -> dict[str, Any]:
    """``batch --engine spark``: top-10 for every user of the Spark-trained artifact."""
    from nextbuy.spark.batch import batch_spark
    from nextbuy.spark.session import SparkOptions

    out: dict[str, Any] = {}
    memory = SparkMemory()
    spark = _session(args["heap"])
    memory.attach(spark)
    with Stage(out, "batch"):
        result = batch_spark(args["model"], args["out"], SparkOptions(master="local[*]"), k=10)
    out["rows"] = result.n_rows
    memory.report(out)
    return out


def worker_local_batch(args: dict[str, Any]) -> dict[str, Any]:
    """The in-process ``nextbuy batch`` on the same artifact, written as Parquet."""
    from typer.testing import CliRunner

    from nextbuy.cli import app

    out: dict[str, Any] = {}
    with Stage(out, "batch"):
        result = CliRunner().invoke(
            app, ["batch", "--model-dir", args["model"], "--out", args["out"], "-k", "10"]
        )
    assert result.exit_code == 0, result.output
    out["python_driver_peak_mib"] = max(out.get("process_peak_mib", 0), _status("VmHWM"))
    return out


def worker_quality(args: dict[str, Any]) -> dict[str, Any]:
    """Protocols B and A, every model on the same split, scored by ``nextbuy.evaluation``."""
    import implicit.cpu.als
    import numpy as np
    from threadpoolctl import threadpool_limits

    from nextbuy.evaluation import evaluate
    from nextbuy.evaluation.protocols import protocol_a, protocol_b
    from nextbuy.models import registry

    _session("4g")
    rows: list[dict[str, Any]] = []

    def run(protocol: str, label: str, library: str, settings: str, make: Any, train: Any,
            test: Any) -> None:  # fmt: skip
        started = time.perf_counter()
        model = make().fit(train)
        fit = time.perf_counter() - started
        res = evaluate(model, train, test, k=10, fit_seconds=fit, ratings=protocol == "A")
        rows.append({"protocol": protocol, "model": label, "library": library,
                     "settings": settings, "fit_s": round(fit, 2), **res.metrics})  # fmt: skip
        ndcg, err = res.metrics.get("ndcg@10", 0.0), res.metrics.get("rmse", float("nan"))
        print(f"  {protocol} {label}: NDCG@10 {ndcg:.4f}, RMSE {err:.4f}, {fit:.1f} s",
              file=sys.stderr)  # fmt: skip

    train, test = protocol_b(args["movielens"])
    spark_b = {**SPARK_B, "num_user_blocks": 2, "num_item_blocks": 2}
    run("B", "spark_als", f"Spark MLlib {_spark_version()}", _fmt(SPARK_B),
        lambda: registry.create("spark_als", **spark_b), train, test)  # fmt: skip
    run("B", "als", "nextbuy (implicit's solver)", "defaults: factors=64, reg=30, alpha=2, 15 it",
        lambda: registry.create("als"), train, test)  # fmt: skip
    run("B", "blend", "nextbuy (best)", "defaults: EASE + iALS + user-EASE",
        lambda: registry.create("blend"), train, test)  # fmt: skip
    run("B", "popularity", "nextbuy", "baseline", lambda: registry.create("popularity"),
        train, test)  # fmt: skip

    class BareImplicit:  # implicit's ALS as quality.py runs it (its own confidence)
        def fit(self, inter: Any) -> Any:
            with threadpool_limits(1, "blas"):
                model = implicit.cpu.als.AlternatingLeastSquares(
                    factors=16, regularization=20.0, alpha=5.0, iterations=30, random_state=42
                )
                model.fit(inter.binary_csr(), show_progress=False)
            als: Any = registry.create("als", factors=16)
            als.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
            als.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
            als.popularity_ = np.zeros(inter.n_items, dtype=np.float32)
            als._remember(inter)
            return als

    run("B", "ALS", "implicit (bare)", "factors=16, regularization=20, alpha=5, iterations=30",
        BareImplicit, train, test)  # fmt: skip
    train, test = protocol_a(args["movielens"])
    spark_a = {**SPARK_A, "num_user_blocks": 2, "num_item_blocks": 2}
    run("A", "spark_als_explicit", f"Spark MLlib {_spark_version()}", _fmt(SPARK_A),
        lambda: registry.create("spark_als_explicit", **spark_a), train, test)  # fmt: skip
    run("A", "mf", "nextbuy (PyTorch)", "defaults", lambda: registry.create("mf"), train, test)
    run("A", "bpmf", "nextbuy (best)", "defaults", lambda: registry.create("bpmf"), train, test)
    return {"rows": rows}


def worker_tune(args: dict[str, Any]) -> dict[str, Any]:
    """Grid search of Spark's settings on validation slices carved from the training splits."""
    from nextbuy.data.split import split
    from nextbuy.evaluation import evaluate
    from nextbuy.evaluation.protocols import protocol_a, protocol_b
    from nextbuy.models import registry

    _session("4g")
    out: dict[str, Any] = {"B": [], "A": []}
    train, _ = protocol_b(args["movielens"])
    fit_part, valid = split(train, "user", test_fraction=0.2, seed=1)
    for reg in (0.1, 0.3, 1.0, 3.0):  # a first pass over 0.01-0.3 x 1-40: larger reg, alpha 1
        for alpha in (0.3, 1.0, 3.0):
            params = {"factors": 64, "regularization": reg, "alpha": alpha, "iterations": 15,
                      "num_user_blocks": 2, "num_item_blocks": 2}  # fmt: skip
            model = registry.create("spark_als", **params).fit(fit_part)
            ndcg = evaluate(model, fit_part, valid, k=10).metrics["ndcg@10"]
            out["B"].append({**params, "valid_ndcg@10": round(ndcg, 5)})
            print(f"  B reg={reg} alpha={alpha}: {ndcg:.4f}", file=sys.stderr)
    train, _ = protocol_a(args["movielens"])
    fit_part, valid = split(train, "random", test_fraction=0.1, seed=1)
    for rank in (8, 16, 32, 64):
        for reg in (0.07, 0.1, 0.15):
            params = {"factors": rank, "regularization": reg, "iterations": 15,
                      "num_user_blocks": 2, "num_item_blocks": 2}  # fmt: skip
            model = registry.create("spark_als_explicit", **params).fit(fit_part)
            rmse = evaluate(model, fit_part, valid, k=10, ratings=True).metrics["rmse"]
            out["A"].append({**params, "valid_rmse": round(rmse, 5)})
            print(f"  A rank={rank} reg={reg}: {rmse:.4f}", file=sys.stderr)
    return out


def _spark_version() -> str:
    import pyspark

    return str(pyspark.__version__)


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


WORKERS = {
    name[len("worker_") :]: fn for name, fn in globals().items() if name.startswith("worker_")
}


SPEED_NOTES = (
    "* Spark: `train --engine spark` without a split (read, ID maps, aggregation, ALS, "
    "collect, save); implicit: NextBuy's reader + `als` (implicit's conjugate-gradient "
    "solver), same file, same factors and iterations, regularization 1. s / iteration is "
    "the slope between a 2- and a 10-iteration fit at 1M and 10M; at 50M it is the "
    "10-iteration fit / 10, which includes Spark's block set-up (an upper bound).\n* Peak "
    "JVM = VmHWM of Spark's one local JVM (driver and executor); Python workers = peak "
    "summed RSS of the Python processes under it (sampled)."
)
BATCH_NOTES = (
    "* Both write `user_id, rank, item_id, score` as Parquet for every user of the Spark-"
    "trained artifact; Spark scores blocks of users in its Python workers with the same `U "
    "@ V.T` + top-k as the in-process batch. Not run at 50M (1M users x 100k items would "
    "take over an hour here either way)."
)


# ---------------------------------------------------------------------- orchestration
def spawn(name: str, **args: Any) -> dict[str, Any]:
    """Run one worker in a fresh process; its last stdout line is its JSON result."""
    cmd = [sys.executable, __file__, "--worker", name, "--args", json.dumps(args, default=str)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed ({proc.returncode}); see its stderr above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def heap_for(size: str) -> str:
    return {"1M": "4g", "10M": "8g", "50M": "10g"}[size]


def speed(sizes: list[str], tmp: Path, partial: Path) -> dict[str, Any]:
    """Each size in turn; a size that fails (memory) is recorded, the others still run."""
    out: dict[str, Any] = {}
    for size in sizes:
        try:
            out[size] = speed_one(size, tmp)
        except RuntimeError as exc:
            out[size] = {"failed": str(exc)}
        partial.write_text(json.dumps(out, indent=1, default=str) + "\n")
    return out


def speed_one(size: str, tmp: Path) -> dict[str, Any]:
    """Generate one shop; train with both engines; batch with both (not at 50M)."""
    data = tmp / f"shop-{size}.parquet"
    models = tmp / f"models-{size}"
    print(f"speed {size}: generating", file=sys.stderr)
    gen = spawn("generate", size=size, data=data)
    print(f"speed {size}: Spark", file=sys.stderr)
    sp_train = spawn("spark_train", data=data, models=models, heap=heap_for(size),
                     per_iteration=size != "50M")  # fmt: skip
    print(f"speed {size}: implicit", file=sys.stderr)
    local = spawn("local_train", data=data, models=models)
    row: dict[str, Any] = {"generate": gen, "spark": sp_train, "local": local}
    if size != "50M":
        print(f"speed {size}: batch", file=sys.stderr)
        row["spark_batch"] = spawn("spark_batch", model=models / "spark", out=tmp / "recs",
                                   heap=heap_for(size))  # fmt: skip
        row["local_batch"] = spawn("local_batch", model=models / "spark",
                                   out=tmp / "recs.parquet")  # fmt: skip
    data.unlink(missing_ok=True)
    return row


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else ""


def speed_table(results: dict[str, Any]) -> str:
    lines = ["| interactions | users x items | engine | JVM start s | read + index s | "
             "s / iteration | fit s (10 it.) | end to end s | peak JVM MiB | "
             "peak Python driver MiB | peak Python workers MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for size, row in results.items():
        users, items, _ = SIZES[size]
        if "failed" in row:
            lines.append(f"| {size} | {users:,} x {items:,} | failed: {row['failed']} |")
            continue
        s, loc = row["spark"], row["local"]
        shape = f"{users:,} x {items:,}"
        lines.append(
            f"| {size} | {shape} | Spark local[*] | {s['session_s']:.1f} | "
            f"{s['read_index_s']:.1f} | "
            f"{s['per_iteration_s']:.2f} | {s['fit_s']:.1f} | {s['end_to_end_s']:.1f} | "
            f"{s['jvm_peak_mib']:,} | {s['python_driver_peak_mib']:,} | "
            f"{s['python_workers_peak_mib']:,} |"
        )
        lines.append(
            f"| {size} | {shape} | implicit (in-process) | - | {loc['read_index_s']:.1f} | "
            f"{loc['per_iteration_s']:.2f} | {loc['fit_s']:.1f} | {loc['end_to_end_s']:.1f} | - | "
            f"{loc['python_driver_peak_mib']:,} | - |"
        )
        lines.append(
            f"| {size} | | Spark / implicit | | {_ratio(s['read_index_s'], loc['read_index_s'])} | "
            f"{_ratio(s['per_iteration_s'], loc['per_iteration_s'])} | "
            f"{_ratio(s['fit_s'], loc['fit_s'])} | "
            f"{_ratio(s['end_to_end_s'], loc['end_to_end_s'])} | | | |"
        )
    return "\n".join(lines)


def batch_table(results: dict[str, Any]) -> str:
    lines = ["| interactions | users x items | batch --engine spark s | in-process batch s | "
             "Spark / in-process | peak JVM MiB | peak Python workers MiB |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for size, row in results.items():
        if "spark_batch" not in row:
            continue
        users, items, _ = SIZES[size]
        sb, lb = row["spark_batch"], row["local_batch"]
        lines.append(
            f"| {size} | {users:,} x {items:,} | {sb['batch_s']:.1f} | {lb['batch_s']:.1f} | "
            f"{_ratio(sb['batch_s'], lb['batch_s'])} | {sb['jvm_peak_mib']:,} | "
            f"{sb['python_workers_peak_mib']:,} |"
        )
    return "\n".join(lines)


def quality_table(rows: list[dict[str, Any]], protocol: str) -> str:
    if protocol == "B":
        head = (
            "| model | library | settings | NDCG@10 | P@10 | R@10 | MAP@10 | HR@10 | cov@10 "
            "| fit s |"
        )
        keys = ["ndcg@10", "precision@10", "recall@10", "map@10", "hit_rate@10", "coverage@10"]
    else:
        head = "| model | library | settings | RMSE | MAE | NDCG@10 | fit s |"
        keys = ["rmse", "mae", "ndcg@10"]
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in (r for r in rows if r["protocol"] == protocol):
        cells = " | ".join(f"{r[k]:.4f}" for k in keys)
        lines.append(
            f"| {r['model']} | {r['library']} | {r['settings']} | {cells} | {r['fit_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, default=ROOT.parent / "shared/data/ml-100k")
    parser.add_argument("--sizes", default="1M,10M,50M", help="comma-separated: 1M, 10M, 50M")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--tune", action="store_true", help="grid-search Spark's settings")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    ns = parser.parse_args(argv)
    if ns.worker:
        result = WORKERS[ns.worker](json.loads(ns.args))
        print(json.dumps(result, default=str))
        return 0
    if ns.tune:
        print(json.dumps(spawn("tune", movielens=ns.movielens), indent=1))
        return 0
    before = machine()
    report: dict[str, Any] = {"machine_before": before}
    sections = []
    if not ns.skip_quality:
        print("quality: MovieLens 100K protocols B and A", file=sys.stderr)
        report["quality"] = spawn("quality", movielens=ns.movielens)["rows"]
        sections += ["#### Quality: MovieLens 100K protocol B (top-10 of every unseen item)",
                     quality_table(report["quality"], "B"), "",
                     "#### Quality: protocol A (rating prediction)",
                     quality_table(report["quality"], "A"), ""]  # fmt: skip
    sizes = [s for s in ns.sizes.split(",") if s]
    if sizes:
        with tempfile.TemporaryDirectory(prefix="nextbuy-spark-bench-") as tmp:
            ns.out.mkdir(parents=True, exist_ok=True)
            report["speed"] = speed(sizes, Path(tmp), ns.out / "spark-speed.partial.json")
        sections += ["#### Speed: ALS, 64 factors, 10 iterations, same Parquet file",
                     speed_table(report["speed"]), "", SPEED_NOTES, "",
                     "#### Batch: top-10 for every user, seen items excluded",
                     batch_table(report["speed"]), "", BATCH_NOTES, ""]  # fmt: skip
    after = machine()
    report["machine_after"] = after
    header = (
        f"Measured {before['date']} on {before['cpu']} ({before['cores']} cores, shared); "
        f"load average (`uptime`) {before['load_average']} before and {after['load_average']} "
        f"after; commit {before['commit']}. Spark {_spark_version()} in local mode "
        "(driver = executor, one JVM), Java 17, no native BLAS."
    )
    text = "\n".join([header, "", *sections])
    print(text)
    ns.out.mkdir(parents=True, exist_ok=True)
    (ns.out / "spark.md").write_text(text + "\n")
    (ns.out / "spark.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (ns.out / "spark-speed.partial.json").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
