"""Create, stop, list and report experiments: what the CLI and the admin API both call."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nextbuy.errors import ConfigError
from nextbuy.experiments.attribution import DEFAULT_WINDOW_S
from nextbuy.experiments.definition import Experiment
from nextbuy.experiments.report import build_report, daily_rates
from nextbuy.store.experiments import ExperimentStore


def create(store: ExperimentStore, experiment: Experiment) -> Experiment:
    """Store a new experiment; one running experiment per data set at a time."""
    live = [e for e in list_all(store) if e.status() in ("running", "scheduled")]
    clash = [e for e in live if _overlaps(e, experiment)]
    if clash:
        names = ", ".join(e.experiment_id for e in clash)
        raise ConfigError(
            f"experiment {names} is already running or scheduled in data set "
            f"{store.dataset!r}; stop it first (one experiment at a time keeps users' "
            "assignments independent of each other)"
        )
    store.create(experiment.model_dump(exclude={"stopped_at", "created_at"}))
    return get(store, experiment.experiment_id)


def _overlaps(a: Experiment, b: Experiment) -> bool:
    a_end = a.ends_at if a.ends_at is not None else 2**62
    b_end = b.ends_at if b.ends_at is not None else 2**62
    return a.starts_at < b_end and b.starts_at < a_end


def get(store: ExperimentStore, experiment_id: str) -> Experiment:
    row = store.get(experiment_id)
    if row is None:
        known = ", ".join(e["experiment_id"] for e in store.all()) or "none"
        raise ConfigError(
            f"no experiment {experiment_id!r} in data set {store.dataset!r} (experiments: {known})"
        )
    return Experiment(**row)


def stop(store: ExperimentStore, experiment_id: str) -> Experiment:
    """Stop an experiment now (users get the default model again); idempotent."""
    get(store, experiment_id)
    store.stop(experiment_id, int(time.time() * 1000))
    return get(store, experiment_id)


def list_all(store: ExperimentStore) -> list[Experiment]:
    return [Experiment(**row) for row in store.all()]


def report(
    store: ExperimentStore,
    experiment_id: str,
    window_s: float = DEFAULT_WINDOW_S,
    prices: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The per-variant report (see :func:`nextbuy.experiments.report.build_report`)."""
    exp = get(store, experiment_id)
    impressions = store.impressions_frame(experiment_id)
    events = store.events_since(exp.starts_at)
    if exp.stopped_at is not None or exp.ends_at is not None:
        end = min(x for x in (exp.stopped_at, exp.ends_at) if x is not None)
        events = events[events["received_at"] < end + window_s * 1000]
    stored = {r["item_id"]: r["price"] for r in store.store.items() if r.get("price") is not None}
    all_prices = {**(prices or {}), **stored}
    return build_report(exp, impressions, events, all_prices or None, window_s)


def daily(
    store: ExperimentStore, experiment_id: str, window_s: float = DEFAULT_WINDOW_S
) -> dict[str, Any]:
    """Click rate per variant and day with intervals (see :func:`.report.daily_rates`)."""
    exp = get(store, experiment_id)
    impressions = store.impressions_frame(experiment_id)
    return daily_rates(exp, impressions, store.events_since(exp.starts_at), window_s)
