"""Evaluation reports people would rather look at than read: one self-contained HTML file.

``write_report(model_dir, out, test=None)`` evaluates a saved version on its held-out data
against the baselines (:mod:`.build`, :mod:`.analysis`), draws the charts as inline SVG
(:mod:`.charts`) and writes one HTML file (:mod:`.render`); ``nextbuy report`` calls it.
Importing this package is cheap: matplotlib loads only when a report is drawn.
"""

from __future__ import annotations

from pathlib import Path


def write_report(model_dir: str | Path, out: str | Path, test: str | Path | None = None) -> Path:
    """Build and write the report of the version ``model_dir`` names; returns ``out``."""
    from nextbuy.reporting.render import write_report as write

    return write(model_dir, out, test)


__all__ = ["write_report"]
