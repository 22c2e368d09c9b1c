"""Which model versions running experiments serve (so the registry does not delete them)."""

from __future__ import annotations

from pathlib import Path


def refs_in_running_experiments(model_dir: Path, database_url: str | None) -> set[str]:
    """``@alias`` and version refs of running experiments' variants in the store (if any)."""
    from nextbuy.experiments.definition import Experiment
    from nextbuy.store import EventStore
    from nextbuy.store.experiments import ExperimentStore

    if database_url is None:
        db = Path(model_dir).parent / "events.db"
        if not db.is_file():
            return set()
        database_url = f"sqlite:///{db.resolve()}"
    store = EventStore(database_url)
    try:
        refs: set[str] = set()
        for dataset in ExperimentStore(store).datasets():
            scoped = EventStore(database_url, migrate=False, dataset=dataset)
            for row in ExperimentStore(scoped).all():
                exp = Experiment(**row)
                if exp.running():
                    refs |= {v.model for v in exp.variants}
            scoped.close()
        return refs
    finally:
        store.close()
