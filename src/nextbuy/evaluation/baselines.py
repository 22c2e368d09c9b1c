"""Rating baselines next to a rating model: the global mean and damped user + item biases.

A rating model earns its place only by predicting better than ``mu + b_u + b_i``; these rows
go into every evaluation table of a rating model, and :func:`baseline_warnings` says so
visibly when it does not. Models come from the registry by name (a leaf module), so the
evaluation package still imports no model.
"""

from __future__ import annotations

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.evaluate import EvaluationResult, evaluate

#: Registry names of the rating baselines, weakest first, and how tables describe them.
RATING_BASELINES: dict[str, str] = {
    "globalmean": "the global mean",
    "bias": "the damped user + item bias baseline",
}


def rating_baselines(
    train: Interactions,
    test: Interactions,
    k: int = 10,
    relevance_threshold: float | None = None,
    skip: tuple[str, ...] = (),
) -> list[EvaluationResult]:
    """Fit each rating baseline on ``train`` and evaluate it like the model (ratings too).

    ``skip`` leaves out baselines by name (the model itself, when it is one of them). Fitting
    both takes milliseconds: a mean and a few vectorized damped-mean sweeps.
    """
    from nextbuy.models import registry

    out = []
    for name in RATING_BASELINES:
        if name in skip:
            continue
        model = registry.create(name).fit(train)
        out.append(
            evaluate(model, train, test, k=k, relevance_threshold=relevance_threshold, ratings=True)
        )
    return out


def baseline_warnings(results: list[EvaluationResult]) -> list[str]:
    """One line per rating model in ``results`` whose RMSE does not beat a baseline row's.

    Rows named like :data:`RATING_BASELINES` are the bars; every other row with an RMSE is
    compared with each of them (equal counts as not beating). Empty when all is well.
    """
    bars = {r.model: r.metrics["rmse"] for r in results if r.model in RATING_BASELINES}
    lines = []
    for r in results:
        rmse = r.metrics.get("rmse")
        if r.model in RATING_BASELINES or rmse is None or rmse != rmse:
            continue
        lost = [(name, bar) for name, bar in bars.items() if bar == bar and rmse >= bar]
        if lost:
            worst = min(lost, key=lambda x: x[1])
            lines.append(
                f"warning: {r.model} (RMSE {rmse:.4f}) does not beat "
                f"{RATING_BASELINES[worst[0]]} ({worst[0]}, RMSE {worst[1]:.4f}); "
                "prefer the baseline, or tune the model (nextbuy tune)"
            )
    return lines
