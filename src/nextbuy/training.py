"""The training pipeline: read, filter, split, fit, evaluate against a baseline, save."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nextbuy.config import Config
from nextbuy.data.dataset import Dataset
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError, DataError
from nextbuy.models.base import Recommender

#: Called with (stage, fraction done 0..1) so a job runner can report progress.
ProgressCallback = Callable[[str, float], None]


class EmptyStoreError(DataError):
    """The event store holds no events of the kind the model trains on."""


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
    feedback: str = ""  # how the data was read (explicit ratings / implicit feedback) and used
    split: str = ""  # the split the evaluation used: latest, random, ..., "test file" or "none"
    selection: dict[str, Any] | None = None  # --model auto: leaderboard and why the winner won


def load_dataset(
    data: Path | str, config: Config, items: Path | str | None = None
) -> tuple[pd.DataFrame, bool, pd.DataFrame | None, str]:
    """Read interactions (+ catalog) with the config's column mapping and filters."""
    dataset = load_data(data, config, items)
    return dataset.frame, dataset.explicit, dataset.catalog, dataset.source


def load_data(data: Path | str, config: Config, items: Path | str | None = None) -> Dataset:
    """:func:`load_dataset` as a :class:`Dataset` (which also says how the values were read)."""
    from dataclasses import replace

    from nextbuy.data.catalog import read_catalog
    from nextbuy.data.filters import filter_min_counts
    from nextbuy.data.sources import read_interactions

    dc = config.data
    dataset = read_interactions(
        data, columns=dc.column_map(), format=dc.format, event_weights=dc.event_weights
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
    return replace(dataset, frame=frame, catalog=catalog)


def ranking_feedback(
    frame: pd.DataFrame, explicit: bool, config: Config, model: str, predicts_ratings: bool
) -> tuple[pd.DataFrame, bool, str]:
    """Ratings as a ranking model should see them: (frame, explicit, a line saying what).

    With ``data.positive_threshold`` a ranking model learns from the ratings at or above it,
    each a positive of value 1 (a 1-star review is no vote for the item); a rating model keeps
    every rating and is evaluated with those at or above it as the relevant items.
    """
    threshold = config.data.positive_threshold
    if threshold is None:
        note = ""
        if explicit and not predicts_ratings:
            note = (
                f"{model} ranks items: every rating counts as a positive weighted by its value "
                "(--positive-threshold 4 keeps only ratings >= 4)"
            )
        return frame, explicit, note
    if not explicit:
        raise ConfigError(
            f"--positive-threshold {threshold:g} turns ratings into positives, but the data "
            "holds implicit feedback; name the rating column with --rating-col COLUMN"
        )
    if predicts_ratings:
        return frame, explicit, f"ratings >= {threshold:g} are the relevant items in evaluation"
    from nextbuy.data.feedback import positives

    kept = positives(frame, threshold)
    if kept.empty:
        raise DataError(f"no rating is >= {threshold:g} (--positive-threshold)")
    note = f"{model} learns from ratings >= {threshold:g} as positives"
    return kept, False, f"{note} ({len(kept):,} of {len(frame):,} rows)"


def load_store_frame(
    database_url: str,
    explicit: bool,
    event_weights: dict[str, float] | None = None,
    scale: tuple[float, float] | None = None,
    dataset: str | None = None,
) -> pd.DataFrame:
    """Stored events as a canonical frame: ratings for explicit models, else weighted events.

    Implicit value = stored value x the event type's weight (view 1, cart 3, purchase 5 by
    default), so a purchase of two units counts 10; ``rating`` events feed explicit models only.
    Values that would break training are refused or clipped (see ``data.outliers``).
    """
    from nextbuy.data.datasets import DEFAULT_DATASET
    from nextbuy.data.outliers import bound_values
    from nextbuy.data.sources import event_values
    from nextbuy.store import EventStore

    store = EventStore(database_url, dataset=dataset or DEFAULT_DATASET)
    try:
        events = store.events_frame()
        others = {} if len(events) else store.datasets()
    finally:
        store.close()
    last_id = int(events["id"].max()) if len(events) else 0  # of everything read, any type
    is_rating = events["event"].eq("rating")
    events = events[is_rating] if explicit else events[~is_rating]
    if events.empty:
        kind = "rating events" if explicit else "interaction events"
        held = ", ".join(f"{name!r} ({n:,} events)" for name, n in others.items())
        hint = f"; it holds data sets {held} (pick one with --dataset NAME)" if held else ""
        raise EmptyStoreError(
            f"{store.safe_url}: data set {store.dataset!r} holds no {kind} to train on{hint}"
        )
    frame = events[["user_id", "item_id", "value", "timestamp", "event"]].reset_index(drop=True)
    frame, note = bound_values(
        frame, events["id"].to_numpy(), explicit=explicit, source=store.safe_url, scale=scale
    )
    frame.attrs["event_store_last_id"] = last_id
    frame.attrs["event_store_note"] = note
    if not explicit:
        weights = event_values(frame["event"], "event store", "event", event_weights)
        frame["value"] = frame["value"].to_numpy() * weights
    return frame


def split_frame(
    frame: pd.DataFrame, explicit: bool, config: Config, source: str
) -> tuple[Interactions, Interactions | None]:
    """Index the frame and hold out a test set as ``config.split`` says (None for "none")."""
    from nextbuy.data.split import split

    scale = config.data.rating_scale if explicit else None
    inter = Interactions.from_frame(frame, explicit=explicit, source=source, rating_scale=scale)
    sc = config.split
    if sc.method == "none":
        return inter, None
    return split(inter, sc.method, test_fraction=sc.test_fraction, seed=sc.seed)


def split_method_used(train: Interactions, config: Config, has_test_file: bool) -> str:
    """The split ``config`` asks for, with ``auto`` resolved (``"test file"`` for --test)."""
    from nextbuy.data.split import resolve_method

    if has_test_file:
        return "test file"
    if config.split.method == "none":
        return "none"
    return resolve_method(train, config.split.method)


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
    budget: str | float | None = None,
    metric: str | None = None,
    dataset: str | None = None,
) -> TrainResult:
    """Train one model end to end and save it as a new version of ``out/name``.

    Explicit arguments override ``config``. With ``test`` the held-out set is read from that
    file (bring-your-own split); otherwise ``split`` carves one from ``data``. The saved model is
    the one fitted on the training part, so its stored metrics describe exactly what is served.
    With ``database_url`` the stored events are used too (alone, or appended to ``data``), those
    of ``dataset`` only; the model records its data set and is served with that one's events.
    Model ``auto`` searches families on a validation slice of the training part within
    ``budget`` (optimising ``metric``) and saves the winner, refitted on all of it.
    """
    from nextbuy.artifacts import save_artifact
    from nextbuy.coldstart import AttributeRidge, has_attributes
    from nextbuy.data.catalog import align_catalog
    from nextbuy.data.datasets import DEFAULT_DATASET, check_dataset_name
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
    check_dataset_name(dataset or DEFAULT_DATASET)  # a bad name fails before any reading
    if data is None and database_url is None:
        raise ConfigError("nothing to train on: pass --data FILE and/or --database-url URL")
    auto = cfg.model.name == "auto"
    if auto:
        from nextbuy.selection.auto import check_request

        model_cls = check_request(cfg.model.params, budget, metric)
    else:
        model_cls = registry.get(cfg.model.name)
    estimator = model_cls(**({} if auto else cfg.model_params()))  # bad values fail here
    feedback = ""
    if data is not None:
        loaded = load_data(data, cfg, items)
        frame, explicit, catalog, source = (
            loaded.frame, loaded.explicit, loaded.catalog, loaded.source
        )  # fmt: skip
        feedback = loaded.feedback
    else:
        explicit = model_cls.predicts_ratings
        frame, source = pd.DataFrame(), "event store"
        catalog = None
        if items is not None:
            from nextbuy.data.catalog import read_catalog

            catalog = read_catalog(items)
    last_event_id = None
    if database_url is not None:
        try:
            stored = load_store_frame(
                database_url,
                explicit,
                cfg.data.event_weights,
                cfg.data.rating_scale,
                dataset=dataset,
            )
        except EmptyStoreError:
            if data is None:
                raise
            stored = None  # retraining before any event was posted: the file alone
        if stored is not None:
            last_event_id = stored.attrs.get("event_store_last_id")
            feedback = "; ".join(x for x in (feedback, stored.attrs.get("event_store_note")) if x)
            frame = pd.concat([frame, stored], ignore_index=True) if len(frame) else stored
            source = f"{source} + event store" if data is not None else source
    if model_cls.predicts_ratings and not explicit:
        raise ConfigError(
            f"model {cfg.model.name!r} predicts ratings but {source} holds implicit feedback; "
            "name the rating column with --rating-col COLUMN (or --explicit --value-col "
            "COLUMN), or use a ranking model such as als, ials or ease"
        )
    was_explicit = explicit
    frame, explicit, use = ranking_feedback(
        frame, explicit, cfg, cfg.model.name, model_cls.predicts_ratings
    )
    feedback = "; ".join(x for x in (feedback, use) if x)
    scale = cfg.data.rating_scale if explicit else None
    if test is not None:
        train_inter = Interactions.from_frame(
            frame, explicit=explicit, source=source, rating_scale=scale
        )
        test_frame, _, _, test_source = load_dataset(test, cfg)
        if was_explicit and not explicit:  # the test file's ratings become positives too
            test_frame, _, _ = ranking_feedback(
                test_frame, True, cfg, cfg.model.name, model_cls.predicts_ratings
            )
        test_inter: Interactions | None = Interactions.from_frame(
            test_frame, explicit=explicit, source=test_source
        )
    else:
        train_inter, test_inter = split_frame(frame, explicit, cfg, source)
    split_used = split_method_used(train_inter, cfg, test is not None)
    relevant = cfg.data.positive_threshold if explicit else None
    report("fitting", 0.1)
    started = time.perf_counter()
    valid = None
    selection = None
    if auto:
        from nextbuy.selection.auto import DEFAULT_BUDGET, DEFAULT_METRIC, select

        chosen = select(
            train_inter,
            budget=DEFAULT_BUDGET if budget is None else budget,
            metric=metric or DEFAULT_METRIC,
            seed=cfg.split.seed,
            split="none" if test is not None else cfg.split.method,
            params=cfg.models,
            show_progress=show_progress,
        )
        estimator, selection = chosen.model, chosen.manifest()
    else:
        try:
            estimator.fit(train_inter, valid, show_progress=show_progress)
        except ModuleNotFoundError as exc:  # a serving-only install: name the train extra
            raise registry.missing_extra(cfg.model.name, exc) from None
    fit_seconds = time.perf_counter() - started
    report("evaluating", 0.8)

    metrics: dict[str, float] = {}
    baseline_metrics: dict[str, float] = {}
    evaluations: list[Any] = []
    if test_inter is not None and len(test_inter) > 0:
        result = evaluate(
            estimator, train_inter, test_inter, k=cfg.evaluation.k, relevance_threshold=relevant
        )
        result.fit_seconds = fit_seconds
        metrics = dict(result.metrics)
        evaluations.append(result)
        baseline_name = cfg.evaluation.baseline
        if baseline_name and baseline_name != cfg.model.name:
            baseline = registry.create(baseline_name).fit(train_inter)
            base_result = evaluate(
                baseline, train_inter, test_inter, k=cfg.evaluation.k, relevance_threshold=relevant
            )
            baseline_metrics = dict(base_result.metrics)
            evaluations.append(base_result)
        if estimator.predicts_ratings and test_inter.explicit:
            from nextbuy.evaluation.baselines import rating_baselines

            evaluations += rating_baselines(
                train_inter, test_inter, cfg.evaluation.k, relevant, skip=(cfg.model.name,)
            )

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
            "split": split_used,  # "auto" resolved: latest (temporal) with timestamps, else random
            # what retraining reuses (nextbuy.retraining): the files and whether events fed it
            "path": None if data is None else str(Path(data).resolve()),
            "items": None if items is None else str(Path(items).resolve()),
            "event_store": last_event_id is not None,
            "dataset": check_dataset_name(dataset or DEFAULT_DATASET),
            # the server replays stored events after this id as "new since training"
            **({"event_store_last_id": last_event_id} if last_event_id is not None else {}),
        },
        attributes=attributes,
        selection=selection,
        # fallback "auto": on timed data unknown users get what trends (half-life chosen on
        # validation by --model auto's trending trials)
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
        feedback=feedback,
        split=split_used,
        selection=selection,
    )
