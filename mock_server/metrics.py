"""Prometheus metrics for ``GET /metrics``: requests and latency per operation and status.

A registry per app (not prometheus_client's global one), so several apps in one test process do
not collide. Recording costs a dictionary lookup and two increments per request.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


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

    def render(self) -> str:
        return generate_latest(self.registry).decode()
