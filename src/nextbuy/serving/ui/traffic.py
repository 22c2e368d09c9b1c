"""Live traffic for the overview, read in-process from the server's own metrics registry.

Each read takes one :class:`Sample` of the counters (requests and latency buckets of the API
routes, fallbacks, answer-cache lookups, stored events) and keeps the last few minutes of
samples; rates are differences between samples, so nothing is scraped over HTTP and the
numbers are the ones ``GET /metrics`` exposes. The dashboard's own requests are left out.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from nextbuy.serving.metrics import LATENCY_BUCKETS, ServingMetrics

#: Routes that are not API traffic: the dashboard itself, probes and the metrics scrape.
IGNORED_PREFIXES = ("/ui",)
IGNORED_ROUTES = frozenset({"/metrics", "/health", "/ready", "unmatched"})
#: Single-user recommendation routes (the denominator of the fallback share).
RECOMMEND_ROUTES = frozenset({"/recommend", "/recommend/", "/recommend/{user_id}"})
#: Rates are taken over about this many seconds; samples older than HISTORY_S are dropped.
WINDOW_S = 60.0
HISTORY_S = 600.0


@dataclass(frozen=True)
class Sample:
    """Counter totals at one moment (everything since the process started)."""

    at: float
    requests: float = 0.0
    recommend: float = 0.0
    buckets: np.ndarray = field(default_factory=lambda: np.zeros(len(LATENCY_BUCKETS) + 1))
    fallbacks: float = 0.0
    cache_hits: float = 0.0
    cache_lookups: float = 0.0
    events: float = 0.0


@dataclass(frozen=True)
class Traffic:
    """Rates between two samples, as the overview shows them (None: nothing to divide)."""

    seconds: float
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    fallback_share: float | None
    cache_hit_ratio: float | None
    events_per_min: float
    series: dict[str, list[float | None]]  # "t", "rps", "p99" over the kept samples


def _api(route: str) -> bool:
    return route not in IGNORED_ROUTES and not route.startswith(IGNORED_PREFIXES)


def _families(metrics: ServingMetrics) -> Any:
    if not metrics.multiprocess:
        return metrics.registry.collect()
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry.collect()


def take_sample(metrics: ServingMetrics, now: float | None = None) -> Sample:
    """The counters now (one pass over the registry's samples)."""
    values: dict[str, float] = dict.fromkeys(
        ("requests", "recommend", "fallbacks", "hit", "lookups", "events"), 0.0
    )
    bounds = {f"{b:g}": i for i, b in enumerate(LATENCY_BUCKETS)} | {"+Inf": len(LATENCY_BUCKETS)}
    cumulative = np.zeros(len(LATENCY_BUCKETS) + 1)
    for family in _families(metrics):
        for s in family.samples:
            labels = s.labels
            if s.name == "nextbuy_requests_total" and _api(labels.get("route", "")):
                values["requests"] += s.value
                if labels.get("route") in RECOMMEND_ROUTES:
                    values["recommend"] += s.value
            elif s.name == "nextbuy_request_duration_seconds_bucket" and _api(
                labels.get("route", "")
            ):
                i = bounds.get(_le(labels.get("le", "")))
                if i is not None:
                    cumulative[i] += s.value
            elif s.name == "nextbuy_fallbacks_total" and labels.get("endpoint") == "recommend":
                values["fallbacks"] += s.value
            elif s.name == "nextbuy_recommend_cache_total":
                values["lookups"] += s.value
                if labels.get("result") == "hit":
                    values["hit"] += s.value
            elif s.name == "nextbuy_events_total" and labels.get("outcome") == "stored":
                values["events"] += s.value
    return Sample(
        at=time.time() if now is None else now,
        requests=values["requests"],
        recommend=values["recommend"],
        buckets=cumulative,
        fallbacks=values["fallbacks"],
        cache_hits=values["hit"],
        cache_lookups=values["lookups"],
        events=values["events"],
    )


def _le(text: str) -> str:
    try:
        return "+Inf" if text == "+Inf" else f"{float(text):g}"
    except ValueError:
        return text


def quantile_ms(cumulative: np.ndarray, q: float) -> float | None:
    """The ``q`` quantile (ms) of a cumulative latency histogram, interpolated in its bucket."""
    total = float(cumulative[-1])
    if total <= 0:
        return None
    rank = q * total
    i = int(np.searchsorted(cumulative, rank, side="left"))
    if i >= len(LATENCY_BUCKETS):  # beyond the last finite bound: report the bound
        return LATENCY_BUCKETS[-1] * 1000
    lo_bound = 0.0 if i == 0 else LATENCY_BUCKETS[i - 1]
    lo_count = 0.0 if i == 0 else float(cumulative[i - 1])
    width = float(cumulative[i]) - lo_count
    share = 0.0 if width <= 0 else (rank - lo_count) / width
    return (lo_bound + share * (LATENCY_BUCKETS[i] - lo_bound)) * 1000


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def rates(old: Sample, new: Sample) -> tuple[float, float | None, float | None]:
    """Requests/s, p50 and p99 (ms) between two samples."""
    seconds = max(new.at - old.at, 1e-9)
    buckets = np.maximum(new.buckets - old.buckets, 0)
    return (
        (new.requests - old.requests) / seconds,
        quantile_ms(buckets, 0.50),
        quantile_ms(buckets, 0.99),
    )


class TrafficWindow:
    """The samples of the last minutes; :meth:`read` adds one and answers the rates."""

    def __init__(self, metrics: ServingMetrics, started: float | None = None) -> None:
        self.metrics = metrics
        # before the first read: everything since the dashboard was mounted (counters at 0)
        self._samples: deque[Sample] = deque(
            [Sample(at=time.time() if started is None else started)]
        )
        self._lock = threading.Lock()

    def read(self, now: float | None = None) -> Traffic:
        sample = take_sample(self.metrics, now)
        with self._lock:
            if len(self._samples) == 1 or sample.at - self._samples[-1].at >= 0.5:
                self._samples.append(sample)  # (fast reloads share one sample)
            else:
                sample = replace(sample, at=self._samples[-1].at)
                self._samples[-1] = sample
            while len(self._samples) > 2 and sample.at - self._samples[1].at > HISTORY_S:
                self._samples.popleft()
            samples = list(self._samples)
        base = next((s for s in samples if sample.at - s.at <= WINDOW_S), samples[0])
        if base is sample and len(samples) > 1:
            base = samples[-2]
        rps, p50, p99 = rates(base, sample)
        seconds = max(sample.at - base.at, 1e-9)
        series: dict[str, list[float | None]] = {"t": [], "rps": [], "p99": []}
        for old, new in zip(samples, samples[1:], strict=False):
            r, _, q99 = rates(old, new)
            series["t"].append(round(new.at, 3))
            series["rps"].append(round(r, 3))
            series["p99"].append(None if q99 is None else round(q99, 3))
        return Traffic(
            seconds=seconds,
            requests_per_s=rps,
            p50_ms=p50,
            p99_ms=p99,
            fallback_share=_ratio(
                sample.fallbacks - base.fallbacks, sample.recommend - base.recommend
            ),
            cache_hit_ratio=_ratio(
                sample.cache_hits - base.cache_hits, sample.cache_lookups - base.cache_lookups
            ),
            events_per_min=(sample.events - base.events) * 60.0 / seconds,
            series=series,
        )
