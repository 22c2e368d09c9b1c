"""Gather a report's data: load the version, get its test set, evaluate it and the baselines."""

from __future__ import annotations

from pathlib import Path

from nextbuy.data.interactions import Interactions
from nextbuy.errors import NextBuyError
from nextbuy.reporting import analysis
from nextbuy.reporting.analysis import ReportData
from nextbuy.reporting.source import SourceError, read_training_data, reproduce_split

#: Baselines every model is compared with (each skipped when it is the model itself).
DEFAULT_BASELINES = ("popularity", "itemknn")


def test_set(manifest: dict, train: Interactions, test: Path | None) -> tuple[Interactions, str]:
    """The held-out set: ``test`` read with the version's config, else the split training made."""
    from nextbuy.config import Config
    from nextbuy.training import load_dataset

    if test is not None:
        config = Config.model_validate(manifest.get("config") or {})
        frame, _, _, label = load_dataset(test, config)
        inter = Interactions.from_frame(frame, explicit=train.explicit, source=label)
        return inter, f"the test file {test}"
    data = read_training_data(manifest)
    _, held_out = reproduce_split(manifest, data)
    if held_out is None or len(held_out) == 0:
        raise SourceError("the version was trained without a held-out split; pass --test FILE")
    method = (manifest.get("data") or {}).get("split") or data.config.split.method
    return (
        held_out,
        f"the held-out part of {data.source} ({method} split, seed {data.config.split.seed})",
    )


def build_report(
    model_dir: str | Path, test: Path | None = None, baselines: tuple[str, ...] = DEFAULT_BASELINES
) -> ReportData:
    """Evaluate the version ``model_dir`` names (and the baselines, fitted on its training data)."""
    from nextbuy.artifacts import load_artifact
    from nextbuy.models import registry

    artifact = load_artifact(model_dir)
    manifest = artifact.manifest
    explicit = bool(manifest.get("explicit", False))
    train = Interactions.from_csr(
        artifact.seen, user_map=artifact.user_map, item_map=artifact.item_map, explicit=explicit
    )
    held_out, described = test_set(manifest, train, test)
    k = int((manifest.get("config") or {}).get("evaluation", {}).get("k", 10))
    truth = analysis.ranking_truth(train, held_out)
    if not len(truth.users):
        raise NextBuyError("no test user has a test item the model could rank; nothing to report")
    model = artifact.model
    evaluations = [analysis.evaluate_model(model, str(manifest.get("model")), truth, train, k)]
    config_models = (manifest.get("config") or {}).get("models") or {}
    notes = [f"Evaluated on {described}: {len(held_out):,} test rows, {len(truth.users):,} users."]
    for name in baselines:
        if name == manifest.get("model"):
            continue
        try:
            baseline = registry.create(name, **config_models.get(name, {})).fit(train)
        except (NextBuyError, TypeError, ValueError) as exc:
            notes.append(f"Baseline {name} skipped: {exc}")
            continue
        evaluations.append(analysis.evaluate_model(baseline, name, truth, train, k, True))
    ratings = None
    if model.predicts_ratings and explicit:
        ratings = analysis.rating_errors(model, train, held_out)
        evaluations[0].rmse = analysis.rmse_of(ratings)
        evaluations[0].mae = analysis.mae_of(ratings)
        mean_rmse, mean_mae = analysis.item_mean_errors(train, held_out)
        for evaluation in evaluations[1:]:
            if evaluation.name == "popularity":
                evaluation.rmse, evaluation.mae = mean_rmse, mean_mae
                evaluation.name = "popularity (item mean rating)"
    if truth.n_test_unknown:
        notes.append(f"{truth.n_test_unknown:,} test rows name users or items the model never saw.")
    return ReportData(
        title=f"{artifact.name} {artifact.version}",
        manifest=manifest,
        k=k,
        n_train=len(train),
        n_test=len(held_out),
        n_users=train.n_users,
        n_items=train.n_items,
        truth=truth,
        evaluations=evaluations,
        user_bucket_sizes=analysis.user_bucket_sizes(train, truth),
        item_bucket_sizes=analysis.item_bucket_sizes(train),
        decile_interactions=analysis.interaction_deciles(train),
        ratings=ratings,
        curves=analysis.curves(manifest),
        notes=notes,
    )
