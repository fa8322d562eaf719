"""Prometheus metrics for ``GET /metrics``: requests and latency per operation and status.

A registry per app (not prometheus_client's global one), so several apps in one test process do
not collide. Recording costs a dictionary lookup and two increments per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "care_sandbox_requests_total",
            "HTTP requests served",
            ["operation", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "care_sandbox_request_seconds",
            "Time to serve a request",
            ["operation"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )

    def observe(self, operation: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(operation, method, str(status)).inc()
        self.latency.labels(operation).observe(seconds)

    def count_request_log_losses(self, read: Callable[[], int]) -> None:
        """Publish ``care_sandbox_request_log_not_stored_total``, read at each scrape: requests the log
        did not keep (its hand-off full, or its writer process gone). Zero on a healthy sandbox; the
        read-path benchmark reads it to show the log kept up."""
        self.registry.register(
            _ReadAtScrape(
                "care_sandbox_request_log_not_stored", "Requests the request log did not keep", read
            )
        )

    def render(self) -> str:
        return generate_latest(self.registry).decode()


class _ReadAtScrape(Collector):
    """A counter whose value lives elsewhere (the writer counts on its own threads, without a lock)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self.name, self.documentation, self.read = name, documentation, read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.read())
