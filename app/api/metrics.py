"""GET /metrics, and the per-request HTTP metrics."""

import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client.core import GaugeMetricFamily
from rq import Queue
from sqlalchemy import func, select

from app import metrics, queues
from app.domain import account
from app.extensions import db
from app.models import Motion, Status
from app.models.types import utcnow
from app.ops.snapshot import oldest_queued

blp = Blueprint("metrics", __name__)


@blp.get("/metrics")
def scrape():
    """Prometheus text format: counters from every process, live state from SQL and Redis."""
    body, content_type = metrics.exposition([StateCollector(current_app._get_current_object())])
    return Response(body, content_type=content_type)


def instrument(app: Flask) -> None:
    """Count and time every request by route template, method and status."""

    @app.before_request
    def _start_timer():
        """Note when the request began."""
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        """Count the request and record how long it took, by route template."""
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            metrics.HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


class StateCollector:
    """Gauges read at scrape time: motions by status, queue depths, the POST budget, pauses, the oldest wait,
    JoggAI's remaining credits (as stored by the last read)."""

    def __init__(self, app: Flask):
        """Keep the app, whose context each scrape runs in."""
        self.app = app

    def collect(self):
        """Yield the live gauges; a source that is down is skipped rather than failing the scrape."""
        with self.app.app_context():
            try:
                yield from self._from_sql()
            finally:
                db.session.remove()
            yield from self._from_redis()

    def _from_sql(self):
        """The gauges read from the database: motions by status, the oldest wait, pauses, credits."""
        by_status = GaugeMetricFamily("mg_motions", "Motions by status", labels=["status"])
        counts = dict(db.session.execute(select(Motion.status, func.count()).group_by(Motion.status)).all())
        for status in Status:
            by_status.add_metric([status.value], counts.get(status.value, 0))
        yield by_status
        oldest = oldest_queued(db.session, utcnow())
        age = oldest["age_seconds"] if oldest else 0
        yield GaugeMetricFamily("mg_oldest_queued_motion_age_seconds", "Age of the oldest queued motion", value=age)
        state = account.peek(db.session)
        paused = GaugeMetricFamily("mg_submissions_paused", "1 while JoggAI submissions are paused", labels=["reason"])
        paused.add_metric([state.paused_reason or ""], 1 if state.paused_reason else 0)
        db.session.rollback()
        yield paused
        if state.credits_remaining is not None:
            yield GaugeMetricFamily(
                "motion_gateway_jogg_credits_remaining",
                "JoggAI credits left when last read",
                value=state.credits_remaining,
            )

    def _from_redis(self):
        """The gauges read from Redis: queue depths and the POST budget (none while Redis is down)."""
        try:
            connection = self.app.extensions["redis"]
            depths = GaugeMetricFamily("mg_queue_depth", "Jobs waiting per RQ queue", labels=["queue"])
            for name in queues.ALL_QUEUES:
                depths.add_metric([name], Queue(name, connection=connection).count)
            budget = self.app.extensions["post_budget"]
            used = budget.size - budget.free_slots()
        except Exception:  # Redis down: scrape what we can
            return
        yield depths
        yield GaugeMetricFamily("mg_jogg_post_budget_used", "JoggAI POSTs used in the current window", value=used)
        yield GaugeMetricFamily("mg_jogg_post_budget_size", "JoggAI POSTs allowed per window", value=budget.size)
