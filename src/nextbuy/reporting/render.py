"""Lay a report out as one self-contained HTML file: inline CSS and SVG, nothing to fetch."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

import nextbuy
from nextbuy.fsio import atomic_write_text
from nextbuy.reporting import charts
from nextbuy.reporting.analysis import ITEM_BUCKETS, USER_BUCKETS, Estimate, ReportData

_ENV = Environment(
    loader=PackageLoader("nextbuy.reporting", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _ci(e: Estimate) -> Markup:
    if e.n == 0 or math.isnan(e.mean):
        return Markup("-")
    return Markup(f"{e.mean:.4f} <small>± {e.half_width:.4f}</small>")


_ENV.filters["num"] = _num
_ENV.filters["ci"] = _ci


def render_report(data: ReportData) -> str:
    """The report's HTML text."""
    evaluations = data.evaluations
    svg = {
        "metrics": charts.metric_bars(evaluations, data.k),
        "user_buckets": charts.user_buckets(evaluations, data.user_bucket_sizes, data.k),
        "item_buckets": charts.item_buckets(evaluations, data.item_bucket_sizes, data.k),
        "bias": charts.popularity_bias(evaluations, data.decile_interactions),
    }
    if data.ratings is not None and len(data.ratings.actual):
        svg["predicted"] = charts.predicted_vs_actual(data.ratings)
        svg["rmse_count"] = charts.rmse_by_count(data.ratings)
    if data.curves:
        svg["curves"] = charts.training_curves(data.curves)
    top_share = [float(e.decile_share[0]) for e in evaluations]
    return _ENV.get_template("report.html.j2").render(
        data=data,
        m=data.manifest,
        svg={k: Markup(v) for k, v in svg.items()},
        user_labels=[b[0] for b in USER_BUCKETS],
        item_labels=[b[0] for b in ITEM_BUCKETS],
        top_share=top_share,
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        version=nextbuy.__version__,
    )


def write_report(model_dir: str | Path, out: str | Path, test: str | Path | None = None) -> Path:
    """Build and write the report of the version ``model_dir`` names; returns ``out``."""
    from nextbuy.reporting.build import build_report

    data = build_report(model_dir, None if test is None else Path(test))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, render_report(data))
    return out
