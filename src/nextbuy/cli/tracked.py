"""What ``train`` and ``tune`` record in the tracking store (see :mod:`nextbuy.tracking`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class track_train:  # noqa: N801 (a namespace of two steps)
    """Start a run record before training; finish it with the saved version's facts."""

    @staticmethod
    def start(cfg: Any, model: str | None, overrides: list[str] | None) -> dict[str, Any]:
        from nextbuy.config import parse_overrides
        from nextbuy.tracking import new_run

        name = model or cfg.model.name
        params = {**cfg.model.params, **parse_overrides(overrides or [])}
        return new_run("train", name, params)

    @staticmethod
    def finish(run: dict[str, Any], result: Any, out: Path, tracking_uri: str | None) -> Path:
        from nextbuy.artifacts import MANIFEST, read_manifest
        from nextbuy.tracking import finish_run

        manifest = read_manifest(result.version_dir)
        run["name"] = manifest["name"]
        run["params"] = {**manifest.get("params", {}), **run["params"]}
        history = manifest.get("history") or {}
        return finish_run(
            run, out, metrics={**result.metrics, "fit_seconds": result.fit_seconds},
            history={k: v for k, v in history.items() if isinstance(v, list)},
            data={k: manifest["data"].get(k) for k in ("source", "fingerprint", "dataset",
                                                        "n_rows")},
            artifacts=[str(result.version_dir / MANIFEST)], tracking_uri=tracking_uri,
            version=manifest["version"],
        )  # fmt: skip


def track_tune(
    model: str, base: dict[str, Any], result: Any, train: Any, files: list[Path],
    models_dir: Path, tracking_uri: str | None, started_at: float | None = None,
) -> Path:  # fmt: skip
    """One run for a whole tuning study: best parameters, best value, every trial's value."""
    from nextbuy.manifest import data_fingerprint
    from nextbuy.tracking import finish_run, new_run

    run = new_run("tune", model, {**base, **result.best_params})
    if started_at is not None:
        run["started_at"] = started_at
    return finish_run(
        run, models_dir, metrics={result.metric: result.best_value, "trials": len(result.trials)},
        history={result.metric: [t["value"] for t in result.trials]},
        data={"fingerprint": data_fingerprint(train), "n_rows": len(train)},
        artifacts=[str(f) for f in files], tracking_uri=tracking_uri,
    )  # fmt: skip
