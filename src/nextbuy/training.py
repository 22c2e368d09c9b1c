"""The training pipeline: read, filter, split, fit, evaluate against a baseline, save."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nextbuy.config import Config
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError, DataError
from nextbuy.models.base import Recommender

#: Called with (stage, fraction done 0..1) so a job runner can report progress.
ProgressCallback = Callable[[str, float], None]


@dataclass
class TrainResult:
    """What a training run produced: the saved version and its evaluation."""

    version_dir: Path
    model: Recommender
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0
    n_train: int = 0
    n_test: int = 0
    evaluations: list[Any] = field(default_factory=list)


def load_dataset(
    data: Path | str, config: Config, items: Path | str | None = None
) -> tuple[pd.DataFrame, bool, pd.DataFrame | None, str]:
    """Read interactions (+ catalog) with the config's column mapping and filters."""
    from nextbuy.data.catalog import read_catalog
    from nextbuy.data.filters import filter_min_counts
    from nextbuy.data.sources import ColumnMap, read_interactions

    dc = config.data
    columns = ColumnMap(
        user=dc.user_col,
        item=dc.item_col,
        value=dc.value_col,
        time=dc.time_col,
        event=dc.event_col,
    )
    dataset = read_interactions(
        data, columns=columns, format=dc.format, event_weights=dc.event_weights
    )
    frame = dataset.frame
    if dc.min_user_interactions > 1 or dc.min_item_interactions > 1 or dc.kcore:
        frame = filter_min_counts(
            frame, dc.min_user_interactions, dc.min_item_interactions, kcore=dc.kcore
        )
        if frame.empty:
            raise DataError(
                f"{data}: no interactions left after filtering (min per user "
                f"{dc.min_user_interactions}, per item {dc.min_item_interactions})"
            )
    catalog = read_catalog(items) if items is not None else dataset.catalog
    return frame, dataset.explicit, catalog, dataset.source


def load_store_frame(
    database_url: str, explicit: bool, event_weights: dict[str, float] | None = None
) -> pd.DataFrame:
    """Stored events as a canonical frame: ratings for explicit models, else weighted events.

    Implicit value = stored value x the event type's weight (view 1, cart 3, purchase 5 by
    default), so a purchase of two units counts 10; ``rating`` events feed explicit models only.
    """
    from nextbuy.data.sources import event_values
    from nextbuy.store import EventStore

    store = EventStore(database_url)
    try:
        events = store.events_frame()
    finally:
        store.close()
    last_id = int(events["id"].max()) if len(events) else 0  # of everything read, any type
    is_rating = events["event"].eq("rating")
    events = events[is_rating] if explicit else events[~is_rating]
    if events.empty:
        kind = "rating events" if explicit else "interaction events"
        raise DataError(f"{store.safe_url}: the event store holds no {kind} to train on")
    frame = events[["user_id", "item_id", "value", "timestamp", "event"]].reset_index(drop=True)
    frame.attrs["event_store_last_id"] = last_id
    if not explicit:
        weights = event_values(frame["event"], "event store", "event", event_weights)
        frame["value"] = frame["value"].to_numpy() * weights
    return frame


def split_frame(
    frame: pd.DataFrame, explicit: bool, config: Config, source: str
) -> tuple[Interactions, Interactions | None]:
    """Index the frame and hold out a test set as ``config.split`` says (None for "none")."""
    from nextbuy.data.split import split

    inter = Interactions.from_frame(frame, explicit=explicit, source=source)
    sc = config.split
    if sc.method == "none":
        return inter, None
    return split(inter, sc.method, test_fraction=sc.test_fraction, seed=sc.seed)


def train_model(
    data: Path | str | None,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    out: Path | str = "models",
    name: str | None = None,
    items: Path | str | None = None,
    split: str | None = None,
    test_fraction: float | None = None,
    test: Path | str | None = None,
    config: Config | None = None,
    progress_callback: ProgressCallback | None = None,
    show_progress: bool = False,
    database_url: str | None = None,
) -> TrainResult:
    """Train one model end to end and save it as a new version of ``out/name``.

    Explicit arguments override ``config``. With ``test`` the held-out set is read from that
    file (bring-your-own split); otherwise ``split`` carves one from ``data``. The saved model is
    the one fitted on the training part, so its stored metrics describe exactly what is served.
    With ``database_url`` the stored events are used too (alone, or appended to ``data``).
    """
    from nextbuy.artifacts import save_artifact
    from nextbuy.coldstart import AttributeRidge, has_attributes
    from nextbuy.data.catalog import align_catalog
    from nextbuy.evaluation import evaluate
    from nextbuy.models import registry

    cfg = (config or Config()).model_copy(deep=True)
    if model is not None:
        cfg.model.name = model
    if params:
        cfg.model.params = {**cfg.model.params, **params}
    if split is not None:
        cfg.split.method = split  # type: ignore[assignment]
    if test_fraction is not None:
        cfg.split.test_fraction = test_fraction
    report = progress_callback or (lambda stage, frac: None)

    report("reading data", 0.0)
    if data is None and database_url is None:
        raise ConfigError("nothing to train on: pass --data FILE and/or --database-url URL")
    if data is not None:
        frame, explicit, catalog, source = load_dataset(data, cfg, items)
    else:
        explicit = registry.get(cfg.model.name).predicts_ratings
        frame, source = pd.DataFrame(), "event store"
        catalog = None
        if items is not None:
            from nextbuy.data.catalog import read_catalog

            catalog = read_catalog(items)
    last_event_id = None
    if database_url is not None:
        stored = load_store_frame(database_url, explicit, cfg.data.event_weights)
        last_event_id = stored.attrs.get("event_store_last_id")
        frame = pd.concat([frame, stored], ignore_index=True) if len(frame) else stored
        source = f"{source} + event store" if data is not None else source
    if test is not None:
        train_inter = Interactions.from_frame(frame, explicit=explicit, source=source)
        test_frame, _, _, test_source = load_dataset(test, cfg)
        test_inter: Interactions | None = Interactions.from_frame(
            test_frame, explicit=explicit, source=test_source
        )
    else:
        train_inter, test_inter = split_frame(frame, explicit, cfg, source)

    model_cls = registry.get(cfg.model.name)
    if model_cls.predicts_ratings and not explicit:
        raise ConfigError(
            f"model {cfg.model.name!r} predicts ratings but {source} holds implicit events; "
            "pass --value-col rating (or a file with a 'rating' column), or use als/bpr/ease"
        )
    estimator = model_cls(**cfg.model_params())
    report("fitting", 0.1)
    started = time.perf_counter()
    valid = None
    estimator.fit(train_inter, valid, show_progress=show_progress)
    fit_seconds = time.perf_counter() - started
    report("evaluating", 0.8)

    metrics: dict[str, float] = {}
    baseline_metrics: dict[str, float] = {}
    evaluations: list[Any] = []
    if test_inter is not None and len(test_inter) > 0:
        result = evaluate(estimator, train_inter, test_inter, k=cfg.evaluation.k)
        result.fit_seconds = fit_seconds
        metrics = dict(result.metrics)
        evaluations.append(result)
        baseline_name = cfg.evaluation.baseline
        if baseline_name and baseline_name != cfg.model.name:
            baseline = registry.create(baseline_name).fit(train_inter)
            base_result = evaluate(baseline, train_inter, test_inter, k=cfg.evaluation.k)
            baseline_metrics = dict(base_result.metrics)
            evaluations.append(base_result)

    report("saving", 0.95)
    attributes = None
    if has_attributes(catalog):
        # fitted on the trained items' attributes, so items added later can be scored
        attributes = AttributeRidge.fit(align_catalog(catalog, train_inter.item_map))
    version_dir = save_artifact(
        estimator,
        train_inter,
        Path(out),
        name or cfg.model.name,
        catalog=catalog,
        metrics={**metrics, "fit_seconds": fit_seconds},
        config=cfg.model_dump(mode="json"),
        data={
            "source": str(source),
            "test": None if test is None else str(test),
            # the server replays stored events after this id as "new since training"
            **({"event_store_last_id": last_event_id} if last_event_id is not None else {}),
        },
        attributes=attributes,
    )
    report("done", 1.0)
    return TrainResult(
        version_dir=version_dir,
        model=estimator,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        fit_seconds=fit_seconds,
        n_train=len(train_inter),
        n_test=0 if test_inter is None else len(test_inter),
        evaluations=evaluations,
    )
