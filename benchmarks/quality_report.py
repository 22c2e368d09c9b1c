"""Reporting of ``benchmarks/quality.py``'s MovieLens protocols: markdown tables, the machine
the numbers were measured on, and the NDCG / RMSE bar chart. Rows are ``quality.Row``."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

_COLUMNS = [
    ("RMSE", "rmse"),
    ("MAE", "mae"),
    ("NDCG@10", "ndcg@10"),
    ("P@10", "precision@10"),
    ("R@10", "recall@10"),
    ("MAP@10", "map@10"),
    ("HR@10", "hit_rate@10"),
    ("coverage@10", "coverage@10"),
]


def markdown(rows: list[Any], protocol: str) -> str:
    """One protocol's table, sorted by its headline metric (best first)."""
    cols = _COLUMNS if protocol == "A" else _COLUMNS[2:]
    key = "rmse" if protocol == "A" else "ndcg@10"
    ordered = sorted(rows, key=lambda r: r.metrics[key] * (1 if protocol == "A" else -1))
    head = ["model", "library", "settings", *(c for c, _ in cols), "fit s", "recommend all s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in ordered:
        name = f"**{r.model}**" if r.library == "nextbuy" else r.model
        cells = [name, r.library, r.settings or "defaults"]
        cells += [f"{r.metrics[m]:.4f}" if m in r.metrics else "" for _, m in cols]
        cells.append(f"{r.fit_seconds:.2f}")
        cells.append("" if r.recommend_seconds is None else f"{r.recommend_seconds:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"{r.library} {r.model}: {r.note}" for r in ordered if r.note]
    if protocol == "A":
        notes.append("ranking columns count every test rating as relevant (protocol B is the "
                     "ranking benchmark)")  # fmt: skip
    notes.append("NextBuy rows (bold) use the shipped defaults (config/default.yaml); fit and "
                 "recommend times are wall-clock seconds on this machine, recommend = top-10 "
                 "with seen items excluded for every user")  # fmt: skip
    return "\n".join(lines) + "\n\n" + "\n".join(f"* {n}" for n in notes)


def machine() -> dict[str, Any]:
    """What the numbers were measured on (and how busy it was)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": _git_commit(),
    }


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)  # fmt: skip
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def bar_chart(results: dict[str, list[Any]], path: Path) -> None:
    """NDCG@10 (protocol B) and RMSE (protocol A) by model, NextBuy's bars highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(p, k) for p, k in (("B", "ndcg@10"), ("A", "rmse")) if p in results]
    tallest = max(len(results[p]) for p, _ in panels)
    height = max(4.6, 0.42 * tallest + 1.4)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), height), dpi=110)
    axes = np.atleast_1d(axes)
    for ax, (protocol, key) in zip(axes, panels, strict=True):
        rows = sorted(results[protocol], key=lambda r: r.metrics[key], reverse=key != "rmse")
        labels = [f"{r.model}\n({r.library})" for r in rows]
        values = [r.metrics[key] for r in rows]
        colors = ["#dd8452" if r.library == "nextbuy" else "#8c8c8c" for r in rows]
        ax.barh(labels[::-1], values[::-1], color=colors[::-1])
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
        if key == "rmse":
            ax.set_xlim(min(values) - 0.03, max(values) + 0.03)
            ax.set_title("Protocol A: test RMSE (lower is better)")
        else:
            ax.set_xlim(0, max(values) * 1.15)
            ax.set_title("Protocol B: NDCG@10 (higher is better)")
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("MovieLens 100K, DESIGN section 7 protocols (orange: NextBuy)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
