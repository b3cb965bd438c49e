"""Prometheus metrics, one registry per app: request latency, queue length per urgency (read from
the database at scrape time, so every server process reports the shared queue), predictions per
label."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from triage.labels import URGENCIES

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class QueueCollector:
    def __init__(self, db_getter):
        self._db_getter = db_getter

    def describe(self):
        return []

    def collect(self):
        family = GaugeMetricFamily("triage_queue_length", "Chats waiting in the queue, per urgency",
                                   labels=["urgency"])
        counts = dict.fromkeys(URGENCIES, 0)
        db = self._db_getter()
        if db is not None:
            from api.db.models import Chat

            try:
                with db.read() as session:
                    for urgency, n in session.execute(select(Chat.urgency, func.count()).where(
                            Chat.status == "waiting").group_by(Chat.urgency)):
                        counts[urgency] = counts.get(urgency, 0) + int(n)
            except Exception:  # noqa: BLE001 - a scrape must not fail on a database blip
                return
        for urgency, n in counts.items():
            family.add_metric([urgency], n)
        yield family


class Metrics:
    def __init__(self, db_getter=lambda: None):
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_latency = Histogram(
            "triage_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.predictions = Counter(
            "triage_predictions", "Model predictions per head and label (effective labels after red flags)",
            ["head", "label"], registry=self.registry)
        self.prediction_seconds = Histogram(
            "triage_model_predict_seconds", "Time spent in the model per prediction",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.overrides = Counter("triage_overrides", "Advisor overrides per field", ["field"],
                                 registry=self.registry)
        self.model_info = Gauge("triage_model_info", "The loaded model", ["version", "spacy_pipeline"],
                                registry=self.registry)
        self.registry.register(QueueCollector(db_getter))
        self.audit_pending = Gauge("triage_audit_records_pending",
                                   "Audit records of POST /v1/triage waiting to be written", registry=self.registry)

    def watch_audit_writer(self, writer) -> None:
        self.audit_pending.set_function(lambda: writer.pending)

    def count_prediction(self, prediction: dict) -> None:
        self.predictions.labels("role", prediction["role"]).inc()
        self.predictions.labels("urgency", prediction["urgency"]).inc()
        self.predictions.labels("minor", "true" if prediction["minor"] else "false").inc()
        self.predictions.labels("needs_review", "true" if prediction["needs_review"] else "false").inc()
        for topic in prediction["topics"]:
            self.predictions.labels("topic", topic).inc()
