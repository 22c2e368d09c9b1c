"""``--model auto``: search families and settings on validation, refit the winner on all data."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.defaults import DataShape
from nextbuy.selection import space
from nextbuy.selection.budget import DataStats, parse_budget
from nextbuy.selection.leaderboard import Leaderboard
from nextbuy.selection.search import run_search
from nextbuy.selection.transfer import moved_words, transfer_winner
from nextbuy.selection.validation import Validator, parse_metric, validation_kind

#: The default ``--budget`` and ``--metric``.
DEFAULT_BUDGET, DEFAULT_METRIC = "2m", "ndcg@10"

_KIND_WORDS = {
    "user": "per-user random 20% of the training data",
    "random": "random 20% of the training rows",
    "time": "latest 20% of the training data (global time cutoff)",
    "latest": "each user's latest 20% of the training data (and of each half of the users)",
}
#: Validation kinds with several slices (the blend may use them): re-seeded random carves,
#: and ``latest`` slices of each user group in turn.
MULTI_SLICE = frozenset({"user", "random", "latest"})


@dataclass
class Selection:
    """The winner (refit on all the data given), its leaderboard, and what it cost."""

    model: Recommender
    family: str
    params: dict[str, Any]
    leaderboard: Leaderboard
    budget_seconds: float
    search_seconds: float
    refit_seconds: float

    def manifest(self) -> dict[str, Any]:
        """The ``selection`` entry of the saved model's manifest."""
        return {
            **self.leaderboard.to_json(),
            "budget_seconds": self.budget_seconds,
            "search_seconds": round(self.search_seconds, 3),
            "refit_seconds": round(self.refit_seconds, 3),
        }


def check_request(
    params: Mapping[str, Any], budget: str | float | None, metric: str | None
) -> type[Recommender]:
    """Check ``--model auto``'s options before any data is read; the class standing in for
    the winner until it is known (a rating model for rmse, else popularity)."""
    if params:
        raise ConfigError(
            f"--set {', '.join(sorted(params))}: --model auto searches every family; set a "
            "family's parameters in the config's models: section, or name a model with --model"
        )
    parse_budget(DEFAULT_BUDGET if budget is None else budget)
    name, _ = parse_metric(metric or DEFAULT_METRIC)
    return registry.get("mf" if name == "rmse" else "popularity")


def candidate_families(inter: Interactions, metric: str) -> tuple[list[str], dict[str, str]]:
    """(families that compete, {family: why not} for those that cannot on this data/metric)."""
    ratings = space.rating_families()
    if metric == "rmse":
        if not inter.explicit:
            raise ConfigError(
                "--metric rmse compares rating predictions, but the data holds implicit "
                "feedback; name the rating column with --rating-col COLUMN, or use a ranking "
                "metric such as ndcg@10"
            )
        return list(ratings), {}
    reason = (
        "predicts ratings: competes only with --metric rmse on explicit ratings"
        if inter.explicit
        else "predicts ratings: the data holds implicit feedback"
    )
    skipped = {name: reason for name in ratings}
    families = list(space.RANKING_FAMILIES)
    if DataStats.of(inter).timed:  # recency: trending right after popularity
        families[1:1] = list(space.TIMED_FAMILIES)
        no_torch = importlib.util.find_spec("torch") is None
        for name in space.SEQUENCE_FAMILIES:  # last: the costliest fits
            if no_torch:
                skipped[name] = "needs PyTorch: pip install 'nextbuy[train]'"
            else:
                families.append(name)
    else:
        skipped |= {name: "needs timestamps (--time-col)" for name in space.TIMED_FAMILIES}
        skipped |= {
            name: "needs timestamps (--time-col): it learns the order of each user's items"
            for name in space.SEQUENCE_FAMILIES
        }
    return families, skipped


def select(
    dataset: Interactions,
    budget: str | float = DEFAULT_BUDGET,
    metric: str = DEFAULT_METRIC,
    seed: int = 42,
    split: str = "random",
    params: Mapping[str, Mapping[str, Any]] | None = None,
    show_progress: bool = False,
) -> Selection:
    """Pick a model for ``dataset`` on a validation slice carved from it; refit on all of it.

    ``budget`` (``"2m"``, ``"90s"``, seconds; 0 = each family's defaults only) bounds the
    search and the refit; ``metric`` is what is optimised; ``split`` is the user's split
    method, which the validation slice mirrors; ``params`` maps a family to parameters over
    its defaults (the config's ``models:`` section). With ``budget=0`` deterministic for a
    seed; with a budget, which trials fit also depends on the speed measured on this machine
    at the time (a busy machine tries fewer), and a search cut short by the clock stops earlier.
    """
    seconds = parse_budget(budget)
    name, _ = parse_metric(metric)
    metric = metric.strip().lower()
    families, skipped = candidate_families(dataset, name)
    kind = validation_kind(split, dataset, name)
    validator = Validator.build(dataset, metric, kind, seed=seed)

    def refold(fold: int) -> Validator:  # latest: one seed, so its user groups are disjoint
        again = seed if kind == "latest" else seed + fold
        return Validator.build(dataset, metric, kind, seed=again, fold=fold)

    start = time.perf_counter()
    board, winner, winner_params = run_search(
        validator,
        DataStats.of(dataset),
        families,
        seconds,
        overrides=params,
        skipped=skipped,
        show_progress=show_progress,
        refold=refold if kind in MULTI_SLICE else None,
    )
    board.validation = _KIND_WORDS[kind]
    search_seconds = time.perf_counter() - start
    defaults = {f: space.family_defaults(f, (params or {}).get(f)) for f in families}
    searched = winner_params
    winner_params = transfer_winner(  # searched values kept relative to their density rules
        winner, searched, defaults, DataShape.of(validator.fit_part), DataShape.of(dataset)
    )
    if moved := moved_words(searched, winner_params):
        board.notes.append(
            f"refit on all the data, searched values kept relative to their density rules: {moved}"
        )
    start = time.perf_counter()
    model = registry.create(winner, **winner_params).fit(dataset, show_progress=show_progress)
    return Selection(
        model=model,
        family=winner,
        params=winner_params,
        leaderboard=board,
        budget_seconds=seconds,
        search_seconds=search_seconds,
        refit_seconds=time.perf_counter() - start,
    )
