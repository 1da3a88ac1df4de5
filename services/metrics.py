"""Prometheus metrics of this process: HTTP requests and latency, open streams, upstream errors per
channel, quota charged. Served at /metrics in the text exposition format.

With --workers N each process counts for itself, and the worker that answers a scrape adds the others'
Tollgate series to its own (`merge`), asking each on its private loopback port.
"""
import weakref

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter("tollgate_http_requests", "HTTP requests answered, by handler, method and status.",
                   ["handler", "method", "status"])
LATENCY = Histogram("tollgate_http_request_duration_seconds", "Time to answer an HTTP request, by handler.",
                    ["handler"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
UPSTREAM_ERRORS = Counter("tollgate_upstream_errors", "Failed upstream attempts, by channel and status.",
                          ["channel", "status"])
QUOTA_CHARGED = Counter("tollgate_quota_charged", "Quota charged for relayed calls, by channel.", ["channel"])

_in_flight = weakref.WeakSet()       # every InFlight of this process (tests build several)
ACTIVE_STREAMS = Gauge("tollgate_active_streams", "Streaming answers being sent right now.")
ACTIVE_STREAMS.set_function(lambda: sum(tracker.streaming() for tracker in list(_in_flight)))
CALLS_IN_FLIGHT = Gauge("tollgate_calls_in_flight", "Relay calls between their start and their bill.")
CALLS_IN_FLIGHT.set_function(lambda: sum(len(tracker) for tracker in list(_in_flight)))


def watch(in_flight):
    _in_flight.add(in_flight)


_series = {}    # (metric, labels) → the labelled series, looked up once (labels() costs a lock and more)


def _labelled(metric, *labels):
    series = _series.get((metric, labels))
    if series is None:
        series = _series[(metric, labels)] = metric.labels(*labels)
    return series


def observe_request(handler_name: str, method: str, status: int, seconds: float):
    """`handler_name` is the handler class, not the path: ids in paths would explode the labels."""
    _labelled(REQUESTS, handler_name, method, str(status)).inc()
    _labelled(LATENCY, handler_name).observe(seconds)


def upstream_error(channel_id: int, status: int):
    UPSTREAM_ERRORS.labels(str(channel_id), str(status)).inc()


def quota_charged(channel_id: int, quota: int):
    if quota > 0:
        _labelled(QUOTA_CHARGED, str(channel_id)).inc(quota)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def merge(own: bytes, others: list) -> bytes:
    """This process' exposition with the Tollgate series of the other workers added in: counters and
    histograms sum, and so do the gauges (open streams and calls of all workers). The process' own
    series (memory, CPU, start time) and creation times stay this process' alone."""
    families, values = {}, {}
    for index, text in enumerate([own] + others):
        for family in text_string_to_metric_families(text.decode()):
            if index and not family.name.startswith("tollgate_"):
                continue
            families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            for item in family.samples:
                if index and item.name.endswith("_created"):
                    continue
                key = (family.name, item.name, tuple(sorted(item.labels.items())))
                values[key] = values.get(key, 0.0) + item.value
    for (family, name, labels), value in values.items():
        families[family].add_sample(name, dict(labels), value)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(families.values())))
    return generate_latest(registry)


class _Fixed:
    """A collector that yields metric families built beforehand."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def sample(name: str, **labels) -> float:
    """One current value (tests and the health view read them)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
