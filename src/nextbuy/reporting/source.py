"""The training data of a saved version, read back the way training read it.

A manifest records the data's source file, the config (columns, filters, split and its
seed) and a fingerprint of the training part. Reading the file with that config and
splitting it again gives the same train part (checked against the fingerprint) and so the
same held-out test part, which the report and the dashboard evaluate against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from nextbuy.config import Config
from nextbuy.data.interactions import Interactions
from nextbuy.errors import NextBuyError


class SourceError(NextBuyError):
    """The training data cannot be read back (moved, changed, or not a file)."""


@dataclass(frozen=True)
class TrainingData:
    """The frame training read, the explicit flag and the config it used."""

    source: Path
    label: str  # how training named the source (part of the fingerprint)
    frame: pd.DataFrame  # canonical: user_id, item_id, value[, timestamp, event]
    explicit: bool
    config: Config


def source_path(manifest: dict[str, Any]) -> Path | None:
    """The data file a version was trained on, when the manifest names a plain one."""
    data = manifest.get("data") or {}
    source = data.get("source") if isinstance(data, dict) else None
    if not source or "event store" in str(source):
        return None
    return Path(str(source))


def read_training_data(manifest: dict[str, Any], max_bytes: int | None = None) -> TrainingData:
    """Read the version's source with its own config; ``SourceError`` when that cannot work."""
    path = source_path(manifest)
    if path is None:
        raise SourceError("the manifest names no data file (trained from the event store?)")
    if not path.exists():
        raise SourceError(f"{path}: the training data is not there any more")
    if max_bytes is not None and path.is_file() and path.stat().st_size > max_bytes:
        raise SourceError(f"{path}: larger than {max_bytes:,} bytes; not read here")
    from nextbuy.training import load_dataset

    try:
        config = Config.model_validate(manifest.get("config") or {})
    except ValueError as exc:
        raise SourceError(f"the manifest's config is not readable: {exc}") from None
    frame, explicit, _, label = load_dataset(path, config)
    return TrainingData(path, str(label), frame, bool(manifest.get("explicit", explicit)), config)


def reproduce_split(
    manifest: dict[str, Any], data: TrainingData
) -> tuple[Interactions, Interactions | None]:
    """Train and test parts as training made them; ``SourceError`` if the train part differs.

    A version trained with its own test file (``data.test``) gets that file back as test.
    """
    from nextbuy.manifest import data_fingerprint
    from nextbuy.training import load_dataset, split_frame

    test_file = (manifest.get("data") or {}).get("test")
    if test_file:
        train = Interactions.from_frame(data.frame, explicit=data.explicit, source=data.label)
        test_frame, _, _, test_label = load_dataset(test_file, data.config)
        test: Interactions | None = Interactions.from_frame(
            test_frame, explicit=data.explicit, source=test_label
        )
    else:
        train, test = split_frame(data.frame, data.explicit, data.config, data.label)
    recorded = (manifest.get("data") or {}).get("fingerprint")
    if recorded is not None and data_fingerprint(train, data.label) != recorded:
        raise SourceError(
            f"{data.source}: the data changed since training (fingerprint differs); "
            "pass the held-out set with --test"
        )
    return train, test
