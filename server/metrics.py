"""Prometheus metrics of one node, on a registry of its own (several apps may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "kefu_connections", "Open WebSocket connections", ["kind"], registry=r
        )
        self.frames_in = Counter(
            "kefu_frames_in_total", "Client frames received, by type", ["type"], registry=r
        )
        self.frames_out = Counter("kefu_frames_out_total", "Frames sent to clients", registry=r)
        self.errors = Counter(
            "kefu_error_frames_total", "Error frames sent, by code", ["code"], registry=r
        )
        self.acks = Counter("kefu_acks_total", "Messages acked", ["duplicate"], registry=r)
        self.replayed = Counter(
            "kefu_replayed_events_total", "Events sent from the store (resume or gap)", registry=r
        )
        self.slow_consumers = Counter(
            "kefu_send_queue_drops_total",
            "Connections closed because their send queue was full (4008)",
            registry=r,
        )
        self.bus_lag = Histogram(
            "kefu_bus_lag_seconds",
            "Time from publish to arrival at this node's hub",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.translation_queue = Gauge(
            "kefu_translation_queue", "Translation jobs waiting", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
