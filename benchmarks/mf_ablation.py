"""Ablation of the seed design's dropout and batch norm in biased MF, on MovieLens protocol A.

Each variant (plain, dropout, batch norm, both) gets the same tuning budget: an Optuna search
over factors, learning rate, L2s and batch size (``MF.search_space`` with the variant's
dropout and batch norm fixed) on a validation slice of protocol A's *training* split. The
best parameters are then fitted on the whole training split (with the model's own early
stopping and refit) and scored once on the test split. Writes ``mf-ablation.json`` and
``mf-ablation.md`` under ``--out``.

    python benchmarks/mf_ablation.py --movielens ../shared/data/ml-100k --trials 15
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from nextbuy.evaluation import evaluate
from nextbuy.evaluation.protocols import protocol_a
from nextbuy.models import registry
from nextbuy.models.mf import MF
from nextbuy.tuning import tune

RESULTS = Path(__file__).resolve().parent / "results"
#: Each variant's fixed switches; ``dropout: None`` means "searched in [0.05, 0.5]" (its first,
#: baseline trial uses 0.2), so a dropout variant never falls back to no dropout.
VARIANTS: dict[str, dict[str, Any]] = {
    "plain (no dropout, no batch norm)": {"dropout": 0.0, "batch_norm": False},
    "dropout": {"dropout": None, "batch_norm": False},
    "batch norm": {"dropout": 0.0, "batch_norm": True},
    "dropout + batch norm": {"dropout": None, "batch_norm": True},
}
BASELINE_DROPOUT = 0.2


def variant_space(fixed: dict[str, Any]) -> Any:
    """MF's search space with the variant's switches fixed (dropout searched when free)."""

    def space(trial: Any) -> dict[str, Any]:
        params = {k: v for k, v in MF.search_space(trial).items() if k not in fixed}
        params["batch_norm"] = fixed["batch_norm"]
        if fixed["dropout"] is None:
            params["dropout"] = trial.suggest_float("dropout_rate", 0.05, 0.5)
        else:
            params["dropout"] = fixed["dropout"]
        return params

    return space


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import torch  # imported once up front: fit times below exclude torch's import

    torch.set_num_threads(1)
    train, test = protocol_a(args.movielens)
    rows = []
    load = [round(x, 2) for x in os.getloadavg()]
    for label, fixed in VARIANTS.items():
        result = tune(
            train,
            "mf",
            trials=args.trials,
            metric="rmse",
            base_params={
                **registry.get("mf").defaults,
                "batch_norm": fixed["batch_norm"],
                "dropout": BASELINE_DROPOUT if fixed["dropout"] is None else fixed["dropout"],
            },
            space=variant_space(fixed),
        )
        model = registry.create("mf", **result.best_params)
        started = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - started
        test_rmse = evaluate(model, train, test, ratings=True).metrics["rmse"]
        keys = ("factors", "lr", "l2", "bias_l2", "batch_size", "dropout", "batch_norm")
        shown = {k: result.best_params[k] for k in keys}
        rows.append(
            {
                "variant": label,
                "valid_rmse": result.best_value,
                "test_rmse": test_rmse,
                "fit_seconds": fit_s,
                "params": shown,
            }
        )
        print(f"{label}: valid {result.best_value:.4f} test {test_rmse:.4f} {shown}", flush=True)
    lines = [
        "| variant | validation RMSE | test RMSE | fit s | tuned parameters |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in r["params"].items())
        lines.append(f"| {r['variant']} | {r['valid_rmse']:.4f} | {r['test_rmse']:.4f} | "
                     f"{r['fit_seconds']:.2f} | {params} |")  # fmt: skip
    best = min(rows, key=lambda r: r["valid_rmse"])
    lines.append(f"\n{args.trials} trials per variant; load average {load} at the start. "
                 f"Best on validation: {best['variant']}.")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mf-ablation.md").write_text("\n".join(lines) + "\n")
    (args.out / "mf-ablation.json").write_text(json.dumps(rows, indent=2, default=str))
    print("\n".join(lines))
    return 0


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


if __name__ == "__main__":
    sys.exit(main())
