"""Prometheus metrics: requests and latency per route, fallbacks, reloads, the served version,
and the online layer's events, catalog changes and answer cache."""

from __future__ import annotations

import os
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# The *_created series double the exposition size and no dashboard uses them.
disable_created_metrics()

#: Latency buckets (seconds): fine below 25 ms, where the targets are.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
)  # fmt: skip


class ServingMetrics:
    """The server's metrics in a registry of their own (one per app, so tests can build many).

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``--workers N``), values live in files shared by
    the worker processes and ``render`` aggregates them.
    """

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        self._target = None if self.multiprocess else self.registry
        self.requests = self.counter(
            "nextbuy_requests", "HTTP requests by method, route template and status code.",
            "method", "route", "status",
        )  # fmt: skip
        self.latency = Histogram(
            "nextbuy_request_duration_seconds",
            "Time from receiving a request to sending the last byte of its answer.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self._target,
        )
        self.fallbacks = self.counter(
            "nextbuy_fallbacks",
            "Answers given without personalisation (unknown users get popular items).",
            "endpoint",
        )
        self.reloads = self.counter(
            "nextbuy_model_reloads", "Model loads by outcome (loaded, unchanged, failed).", "result"
        )
        self.model_info = self.gauge(
            "nextbuy_model_info",
            "1 for the model version being served.",
            "name",
            "model",
            "version",
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._served: tuple[str, str, str] | None = None
        self._lock = threading.Lock()

    def counter(self, name: str, documentation: str, *labels: str) -> Counter:
        """A counter in this app's registry (or the multiprocess files)."""
        return Counter(name, documentation, labels, registry=self._target)

    def gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        """A gauge in this app's registry; across workers, the live processes' values."""
        return Gauge(
            name, documentation, labels, registry=self._target, multiprocess_mode="liveall"
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency (label children are cached: this is per request)."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def fallback(self, endpoint: str, n: int = 1) -> None:
        """Count ``n`` non-personalised answers of ``endpoint``."""
        self.fallbacks.labels(endpoint).inc(n)

    def reloaded(self, outcome: str) -> None:
        """Count one reload by outcome (loaded, unchanged, failed)."""
        self.reloads.labels(outcome).inc()

    def served(self, name: str, model: str, version: str) -> None:
        """Mark ``version`` as the one being served (and the previous one as not)."""
        with self._lock:
            if self._served is not None and self._served != (name, model, version):
                if self.multiprocess:  # files of other workers keep the labels: zero it
                    self.model_info.labels(*self._served).set(0)
                else:
                    self.model_info.remove(*self._served)
            self._served = (name, model, version)
            self.model_info.labels(name, model, version).set(1)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class OnlineMetrics:
    """Events and catalog changes, and what they add to the served model."""

    def __init__(self, metrics: ServingMetrics) -> None:
        self.events = metrics.counter(
            "nextbuy_events",
            "Events received by POST /events, by outcome (stored, duplicate, rejected).",
            "outcome",
        )
        self.catalog = metrics.counter(
            "nextbuy_catalog_items",
            "Catalog items written by PUT/POST /items, by kind (changed, new).",
            "kind",
        )
        self.online_users = metrics.gauge(
            "nextbuy_online_users",
            "Users with events since the served model was trained (personalised from them).",
        )
        self.new_items = metrics.gauge(
            "nextbuy_new_items", "Items added after the served model was trained."
        )


class CacheMetrics:
    """Lookups of the per-user answer cache and its hit ratio since the process started."""

    def __init__(self, metrics: ServingMetrics) -> None:
        lookups = metrics.counter(
            "nextbuy_recommend_cache",
            "Per-user answer cache lookups by result (hit, miss).",
            "result",
        )
        self.hit_ratio = metrics.gauge(
            "nextbuy_recommend_cache_hit_ratio",
            "Share of answer cache lookups served from the cache since the process started.",
        )
        self._hit = lookups.labels("hit")
        self._miss = lookups.labels("miss")
        self._hits = 0
        self._lookups = 0

    def lookup(self, hit: bool) -> None:
        """Count one lookup (called per request: cached label children, no locks)."""
        self._lookups += 1
        if hit:
            self._hits += 1
            self._hit.inc()
        else:
            self._miss.inc()
        self.hit_ratio.set(self._hits / self._lookups)
