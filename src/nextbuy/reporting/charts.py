"""The report's charts as inline SVG strings (matplotlib, no pyplot state, text kept as text)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from nextbuy.reporting.analysis import (
    COUNT_BUCKETS,
    ITEM_BUCKETS,
    USER_BUCKETS,
    Estimate,
    ModelEvaluation,
    RatingErrors,
)

#: One colour per model (the evaluated model first), colour-blind friendly (Okabe-Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
LABELS = {"precision": "P", "recall": "R", "ndcg": "NDCG", "map": "MAP", "hit_rate": "HR"}


def _svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, stable ids, no date)."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "nextbuy"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :] if "<svg" in text else text


def _figure(width: float = 7.0, height: float = 3.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_alpha(0)
    return fig


def _grouped(
    ax: object,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[Estimate]]],
    ylabel: str,
) -> None:
    """Grouped bars with 95 % interval whiskers: one group per x label, one bar per series."""
    x = np.arange(len(groups))
    width = 0.8 / max(len(series), 1)
    for j, (name, estimates) in enumerate(series):
        means = np.array([e.mean for e in estimates])
        err = np.array([[e.mean - e.low for e in estimates], [e.high - e.mean for e in estimates]])
        ax.bar(  # type: ignore[attr-defined]
            x + (j - (len(series) - 1) / 2) * width, np.nan_to_num(means), width,
            yerr=np.nan_to_num(err), capsize=3, label=name, color=COLOURS[j % len(COLOURS)],
        )  # fmt: skip
    ax.set_xticks(x, groups)  # type: ignore[attr-defined]
    ax.set_ylabel(ylabel)  # type: ignore[attr-defined]
    ax.spines[["top", "right"]].set_visible(False)  # type: ignore[attr-defined]
    ax.legend(frameon=False, fontsize=8)  # type: ignore[attr-defined]


def metric_bars(evaluations: Sequence[ModelEvaluation], k: int) -> str:
    """Each ranking metric per model, with its 95 % interval over users."""
    names = list(evaluations[0].metrics)
    fig = _figure(7.5, 3.0)
    ax = fig.add_subplot()
    series = [(e.name, [e.metrics[m] for m in names]) for e in evaluations]
    _grouped(ax, [f"{LABELS.get(m, m)}@{k}" for m in names], series, "mean over users")
    return _svg(fig)


def user_buckets(evaluations: Sequence[ModelEvaluation], sizes: Sequence[int], k: int) -> str:
    """NDCG@k of each model for cold, light and heavy users."""
    fig = _figure()
    ax = fig.add_subplot()
    groups = [f"{label}\n{n:,} users" for (label, _, _), n in zip(USER_BUCKETS, sizes, strict=True)]
    _grouped(ax, groups, [(e.name, e.user_buckets) for e in evaluations], f"NDCG@{k}")
    return _svg(fig)


def item_buckets(evaluations: Sequence[ModelEvaluation], sizes: Sequence[int], k: int) -> str:
    """NDCG@k counting only test items of head, mid or tail popularity."""
    fig = _figure()
    ax = fig.add_subplot()
    groups = [f"{label}\n{n:,} items" for (label, _, _), n in zip(ITEM_BUCKETS, sizes, strict=True)]
    _grouped(ax, groups, [(e.name, e.item_buckets) for e in evaluations], f"NDCG@{k}")
    return _svg(fig)


def popularity_bias(evaluations: Sequence[ModelEvaluation], interactions: np.ndarray) -> str:
    """Share of recommendations per catalog popularity decile, against the data's own share."""
    fig = _figure(7.5, 3.0)
    ax = fig.add_subplot()
    x = np.arange(1, 11)
    ax.plot(
        x, interactions, color="#444", linestyle="--", marker="o", label="training interactions"
    )
    for j, e in enumerate(evaluations):
        ax.plot(x, e.decile_share, marker="o", color=COLOURS[j % len(COLOURS)], label=e.name)
    ax.set_xticks(x, [f"{10 * i}%" for i in x])
    ax.set_xlabel("item popularity decile (left: the 10% most popular items)")
    ax.set_ylabel("share of slots")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def predicted_vs_actual(errors: RatingErrors) -> str:
    """Predicted ratings grouped by the true rating (box plots), the diagonal for reference."""
    fig = _figure(4.2, 3.2)
    ax = fig.add_subplot()
    values = np.unique(errors.actual)
    if len(values) <= 12:
        data = [errors.predicted[errors.actual == v] for v in values]
        ax.boxplot(data, positions=values, widths=0.5, showfliers=False)
        ax.set_xticks(values, [f"{v:g}" for v in values])
    else:
        ax.hexbin(errors.actual, errors.predicted, gridsize=30, cmap="Blues", mincnt=1)
    lo, hi = float(errors.actual.min()), float(errors.actual.max())
    ax.plot([lo, hi], [lo, hi], color="#D55E00", linewidth=1, label="perfect")
    ax.set_xlabel("actual rating")
    ax.set_ylabel("predicted rating")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def rmse_by_count(errors: RatingErrors) -> str:
    """RMSE by how many training ratings the user (and the item) had."""
    fig = _figure(5.2, 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(COUNT_BUCKETS))
    for j, (label, rows) in enumerate((("by user", errors.by_user), ("by item", errors.by_item))):
        ax.bar(x + (j - 0.5) * 0.4, [np.nan_to_num(r[1]) for r in rows], 0.4, label=label,
               color=COLOURS[j])  # fmt: skip
    ax.set_xticks(x, [b[0] for b in COUNT_BUCKETS])
    ax.set_xlabel("training ratings of the user / the item")
    ax.set_ylabel("RMSE")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def training_curves(curves: dict[str, list[float]]) -> str:
    """One small panel per recorded series (loss, validation RMSE, learning rate) by epoch."""
    fig = _figure(2.6 * len(curves) + 0.6, 2.6)
    for j, (name, values) in enumerate(curves.items()):
        ax = fig.add_subplot(1, len(curves), j + 1)
        ax.plot(np.arange(1, len(values) + 1), values, color=COLOURS[j % len(COLOURS)])
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _svg(fig)
