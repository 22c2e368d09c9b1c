"""``nextbuy train``, ``evaluate`` and ``tune``: fit, score and tune models from data files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbuy.cli.options import Columns, K, ModelDir, PositiveThreshold, with_columns
from nextbuy.cli.output import console, err_console
from nextbuy.cli.runs import TrackingUri
from nextbuy.spark.cli import CheckpointDir, Engine, SparkConf, SparkMaster, run_train

app = typer.Typer()
#: ``--split`` values (``auto``: the temporal ``latest`` split when the data has timestamps).
SPLITS = ("auto", "random", "user", "time", "last", "latest", "none")


@app.command()
@with_columns
def train(
    out: Annotated[Path, typer.Option(help="Models folder; the model goes to OUT/NAME/VERSION.")],
    data: Annotated[
        Path | None, typer.Option(help="Interaction file (csv, tsv, parquet, jsonl) or folder.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Also train on the events stored here (sqlite:///f.db, postgresql://)."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Data-set name the model belongs to; with --database-url only its events "
            "are read (default: default)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="auto (the default: search the families on validation), popularity, itemknn, "
            "ease, userease, infae, rp3beta, als, ials, bpr, mf, bpmf, blend."
        ),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            help="--model auto: time for the search and refit, e.g. 90s, 2m (2m); 0 = "
            "each family's defaults only."
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="--model auto: what to optimise: ndcg@10 (default), recall@K, map@K, "
            "rmse (ratings)."
        ),
    ] = None,
    items: Annotated[
        Path | None, typer.Option(help="Catalog file (item_id,name,brand,...).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Hyper-parameter override key=value.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (see config/default.yaml).")
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="Hold-out: auto (latest with timestamps, else random), random, user, "
            "time, last, latest or none."
        ),
    ] = None,
    test_fraction: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    test: Annotated[Path | None, typer.Option(help="Bring-your-own test file.")] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: the model type).")] = None,
    columns: Columns = Columns(),
    positive_threshold: PositiveThreshold = None,
    tracking_uri: TrackingUri = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    engine: Engine = "local",
    spark_master: SparkMaster = "local[*]",
    spark_conf: SparkConf = None,
    checkpoint_dir: CheckpointDir = None,
) -> None:
    """Train a model, evaluate it against popularity on a held-out split, and save it."""
    from nextbuy.config import parse_overrides
    from nextbuy.evaluation.report import results_table
    from nextbuy.training import train_model

    cfg = columns.config(config, positive_threshold)
    if split is not None and split not in SPLITS:
        raise typer.BadParameter(
            f"{split!r}: expected {', '.join(SPLITS[:-1])} or none", param_hint="--split"
        )
    if engine != "local" and model == "auto":  # without --model, Spark picks its ALS
        raise typer.BadParameter(
            "--model auto runs on the local engine; name a model for --engine spark "
            "(e.g. --model spark_als)",
            param_hint="--model",
        )
    if (budget is not None or metric is not None) and (model or cfg.model.name) != "auto":
        raise typer.BadParameter(
            f"--budget and --metric choose how --model auto searches; --model "
            f"{model or cfg.model.name} trains one model as it is",
            param_hint="--budget/--metric",
        )
    if engine != "local":
        return run_train(
            engine, spark_master, spark_conf, checkpoint_dir, data=data, out=out, config=cfg,
            model=model, overrides=set_, name=name, items=items, split=split,
            test_fraction=test_fraction, test=test, database_url=database_url,
        )  # fmt: skip
    from nextbuy.cli.tracked import track_train

    run = track_train.start(cfg, model, set_)
    result = train_model(
        data,
        model=model,
        params=parse_overrides(set_ or []),
        out=out,
        name=name,
        items=items,
        split=split,
        test_fraction=test_fraction,
        test=test,
        config=cfg,
        show_progress=not quiet,
        database_url=database_url,
        budget=budget,
        metric=metric,
        dataset=dataset,
    )
    track_train.finish(run, result, out, tracking_uri)
    if result.selection is not None:
        from nextbuy.selection.leaderboard import leaderboard_table

        console.print(leaderboard_table(result.selection))
    if result.feedback:
        console.print(f"data: {result.feedback}", highlight=False)
    if result.evaluations:
        from nextbuy.demo import COMPACT_METRICS
        from nextbuy.evaluation.baselines import baseline_warnings as rating_warnings
        from nextbuy.evaluation.honesty import baseline_warnings, split_words

        title = f"held-out evaluation, {split_words(result.split)}"
        console.print(results_table(result.evaluations, title=title, metrics=COMPACT_METRICS))
        warnings = baseline_warnings(result.evaluations, metric=f"ndcg@{cfg.evaluation.k}")
        for line in warnings + rating_warnings(result.evaluations):
            err_console.print(f"[bold yellow]{line}[/bold yellow]", highlight=False)
    console.print(
        f"trained {result.model.name} on {result.n_train:,} interactions "
        f"({result.fit_seconds:.2f} s); saved [bold]{result.version_dir}[/bold]"
    )


@app.command()
@with_columns
def evaluate(
    model_dir: ModelDir,
    test: Annotated[Path, typer.Option(help="Held-out interactions to score against.")],
    k: K = 10,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
    baseline: Annotated[
        str, typer.Option(help="Baseline model fitted on the same data.")
    ] = "popularity",
    columns: Columns = Columns(),
) -> None:
    """Evaluate a saved model on a test file, next to a baseline trained on the same data."""
    from nextbuy.artifacts import load_artifact
    from nextbuy.data.interactions import Interactions
    from nextbuy.evaluation import evaluate as run_evaluation
    from nextbuy.evaluation.report import results_json, results_table
    from nextbuy.models import registry

    artifact = load_artifact(model_dir)
    explicit = bool(artifact.manifest.get("explicit", artifact.model.predicts_ratings))
    trained = (artifact.manifest.get("config") or {}).get("data") or {}
    dataset = _read_like_training(test, columns, trained)
    threshold = trained.get("positive_threshold")
    frame = dataset.frame
    if threshold is not None and dataset.explicit and not explicit:
        from nextbuy.data.feedback import positives

        frame = positives(frame, float(threshold))  # as the ranking model was trained
        err_console.print(
            f"note: the model learnt from ratings >= {float(threshold):g} (its "
            f"--positive-threshold); {len(frame):,} of {len(dataset.frame):,} test rows are "
            "such positives and the rest are left out",
            highlight=False,
        )
    train_inter = Interactions.from_csr(
        artifact.seen, user_map=artifact.user_map, item_map=artifact.item_map, explicit=explicit
    )
    # test keeps its own ID maps: the evaluation counts (and reports) what the model never saw
    test_inter = Interactions.from_frame(
        frame, explicit=dataset.explicit and explicit, source=dataset.source
    )
    relevant = float(threshold) if threshold is not None and test_inter.explicit else None
    results = [
        run_evaluation(artifact.model, train_inter, test_inter, k=k, relevance_threshold=relevant)
    ]
    if baseline and baseline != artifact.model.name:
        base = registry.create(baseline).fit(train_inter)
        results.append(
            run_evaluation(base, train_inter, test_inter, k=k, relevance_threshold=relevant)
        )
    from nextbuy.evaluation.baselines import baseline_warnings as rating_warnings
    from nextbuy.evaluation.baselines import rating_baselines
    from nextbuy.evaluation.honesty import baseline_warnings

    if artifact.model.predicts_ratings and test_inter.explicit:
        results += rating_baselines(train_inter, test_inter, k, relevant, (artifact.model.name,))
    if artifact.manifest.get("selection"):
        from nextbuy.selection.leaderboard import leaderboard_table

        console.print(leaderboard_table(artifact.manifest["selection"]))
    console.print(results_table(results, title=f"{artifact.name} {artifact.version} on {test}"))
    warnings = baseline_warnings(results, baseline=baseline, metric=f"ndcg@{k}")
    for line in warnings + rating_warnings(results):
        err_console.print(f"[bold yellow]{line}[/bold yellow]", highlight=False)
    unknown = results[0].n_test_unknown
    if unknown:
        err_console.print(
            f"note: {unknown:,} of {len(test_inter):,} test user-item pairs name users or items "
            "the model never saw (n_test_unknown); they are left out of the metrics"
        )
    if json_out is not None:
        json_out.write_text(json.dumps(results_json(results), indent=2))


def _read_like_training(path: Path, columns: Columns, trained: dict[str, Any]) -> Any:
    """Read ``path`` with the model's recorded column mapping; options given override it."""
    from nextbuy.data.sources import read_interactions
    from nextbuy.retraining import trained_config

    base = trained_config({"config": {"data": trained}}).data if trained else None
    dc = columns.data_config(base)
    return read_interactions(path, dc.column_map(), dc.format, dc.event_weights)


@app.command()
@with_columns
def tune(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Training interactions (the test split stays out; default: --model-dir's)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model whose declared search space to explore (default: --model-dir's)."),
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model-dir",
            help="A trained model: tune on its recorded data file, columns and family.",
        ),
    ] = None,
    trials: Annotated[int, typer.Option(min=1, help="Number of trials.")] = 20,
    metric: Annotated[str, typer.Option(help="ndcg@10, recall@10, map@10 or rmse.")] = "ndcg@10",
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the best config (YAML).")] = Path(
        "config/tuned.yaml"
    ),
    plot: Annotated[Path | None, typer.Option(help="PNG of metric by trial.")] = None,
    config: Annotated[Path | None, typer.Option(help="Base YAML config.")] = None,
    seed: Annotated[int, typer.Option(help="Sampler and validation-split seed.")] = 42,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Fixed hyper-parameter key=value (the search may vary it)."),
    ] = None,
    columns: Columns = Columns(),
    positive_threshold: PositiveThreshold = None,
    models_dir: Annotated[
        Path, typer.Option(help="Where the run is recorded (MODELS_DIR/.runs).")
    ] = Path("models"),
    tracking_uri: TrackingUri = None,
) -> None:
    """Tune hyper-parameters with Optuna on a validation slice of DATA; write the best config."""
    from nextbuy.config import parse_overrides
    from nextbuy.data.interactions import Interactions
    from nextbuy.models import registry
    from nextbuy.training import load_data, ranking_feedback
    from nextbuy.tuning import plot_trials, write_config
    from nextbuy.tuning import tune as run_tune

    cfg = columns.config(config, positive_threshold)
    if model_dir is not None:
        from nextbuy.artifacts import read_manifest, resolve_version_dir
        from nextbuy.retraining import recorded_file, trained_config

        manifest = read_manifest(resolve_version_dir(model_dir))
        if config is None:  # the model's recorded config, with the options given applied
            cfg = trained_config(manifest)
            cfg.data = columns.data_config(cfg.data)
            if positive_threshold is not None:
                cfg.data.positive_threshold = positive_threshold
        model = model or str(manifest.get("model"))
        recorded = recorded_file(manifest, "path")
        data = data or (Path(recorded) if recorded else None)
    if data is None or model is None:
        raise typer.BadParameter(
            "give --data and --model, or --model-dir of a trained model", param_hint="--data"
        )
    model_cls = registry.get(model)
    base = {**cfg.models.get(model, {}), **parse_overrides(set_ or [])}
    model_cls(**base)  # a bad --set or config value: one line, before reading any data
    dataset = load_data(data, cfg)
    frame, explicit, use = ranking_feedback(
        dataset.frame, dataset.explicit, cfg, model, model_cls.predicts_ratings
    )
    feedback = "; ".join(x for x in (dataset.feedback, use) if x)
    console.print(f"data: {feedback}", highlight=False)
    scale = cfg.data.rating_scale if explicit else None
    source = dataset.source
    train_inter = Interactions.from_frame(
        frame, explicit=explicit, source=source, rating_scale=scale
    )
    table = Table(title=f"tuning {model} on {source}: {metric} on validation")
    for col in ("trial", metric, "seconds", "params"):
        table.add_column(col, justify="left" if col == "params" else "right")

    def show(record: dict[str, Any]) -> None:
        changed = {k: v for k, v in record["params"].items() if base.get(k) != v}
        err_console.print(
            f"trial {record['trial']:>3}  {metric}={record['value']:.5f}  "
            f"{record['seconds']:.1f}s  {changed}",
            highlight=False,
        )

    import time

    tune_started = time.time()
    result = run_tune(
        train_inter,
        model,
        trials,
        metric,
        timeout,
        seed,
        base_params=base,
        on_trial=show,
    )
    for rec in result.trials:
        changed = {k: v for k, v in rec["params"].items() if base.get(k) != v}
        table.add_row(
            str(rec["trial"]),
            f"{rec['value']:.5f}",
            f"{rec['seconds']:.1f}",
            json.dumps(changed, default=str),
        )
    console.print(table)
    if result.reference is not None:
        what, value = result.reference
        console.print(
            f"reference: {what} on the same validation slice: {metric} = {value:.5f}",
            highlight=False,
        )
    path = write_config(result, out, cfg)
    png = plot_trials(result, plot or out.with_suffix(".png"))
    from nextbuy.cli.tracked import track_tune

    track_tune(model, base, result, train_inter, [path, png], models_dir, tracking_uri,
               tune_started)  # fmt: skip
    console.print(
        f"best {metric} = {result.best_value:.5f}; config written to [bold]{path}[/bold] "
        f"(use: nextbuy train --config {path}); plot: {png}"
    )
