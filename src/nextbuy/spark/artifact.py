"""Save a Spark-trained model as the same artifact every NextBuy model writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.models.base import Recommender
from nextbuy.spark.session import SparkOptions, spark_version

if TYPE_CHECKING:
    from nextbuy.config import Config


def engine_record(options: SparkOptions | None = None) -> dict[str, Any]:
    """``manifest["config"]["engine"]``: which engine trained the model, and how."""
    record: dict[str, Any] = {"name": "spark", "spark_version": spark_version()}
    if options is not None:
        record.update(options.describe())
    return record


def save_spark_artifact(
    model: Recommender,
    train: Interactions,
    out: str | Path,
    name: str,
    *,
    options: SparkOptions | None = None,
    config: Config | None = None,
    metrics: dict[str, Any] | None = None,
    items: str | Path | None = None,
    source: str | None = None,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write ``model`` through :func:`nextbuy.artifacts.save_artifact`: factors, ID maps,
    ``seen.npz``, catalog and new-item attributes, and a manifest whose ``config.engine``
    names Spark and its version. The server loads it without pyspark."""
    from nextbuy.coldstart import AttributeRidge, has_attributes
    from nextbuy.data.catalog import align_catalog, read_catalog

    catalog = read_catalog(items) if items is not None else None
    attributes = None
    if has_attributes(catalog):
        assert catalog is not None
        attributes = AttributeRidge.fit(align_catalog(catalog, train.item_map))
    recorded: dict[str, Any] = {} if config is None else config.model_dump(mode="json")
    recorded["engine"] = {**engine_record(options), "timings_s": dict(timings or {})}
    return save_artifact(
        model,
        train,
        Path(out),
        name,
        catalog=catalog,
        metrics=metrics,
        config=recorded,
        data={"source": str(source) if source is not None else None, "engine": "spark"},
        attributes=attributes,
    )
