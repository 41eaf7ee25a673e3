"""This process's connection to JoggAI, built once per app: the metered client, the POST budget, the submit policy."""

import time

from flask import Flask, current_app

from app import metrics
from app.budget import PostBudget
from app.config import Settings
from app.domain.submission import Policy
from app.jogg import JoggClient, JoggError


def init_app(app: Flask) -> None:
    """Build them once per app; requests and jobs share them."""
    settings: Settings = app.config["SETTINGS"]
    app.extensions["jogg_client"] = InstrumentedJoggClient(
        settings.jogg_base_url,
        settings.jogg_api_key,
        connect_timeout=settings.jogg_connect_timeout,
        read_timeout=settings.jogg_read_timeout,
    )
    post_timeout = settings.jogg_connect_timeout + settings.jogg_read_timeout  # a slot's date while unanswered
    app.extensions["post_budget"] = PostBudget(
        settings.redis_url, settings.jogg_post_rate_limit, settings.jogg_api_key, post_timeout
    )


class InstrumentedJoggClient(JoggClient):
    """The JoggAI client, counting and timing every call by endpoint and business code."""

    def _call(self, method: str, path: str, **kwargs):
        """Call JoggAI through the plain client, counting and timing the call."""
        started, code = time.perf_counter(), "0"
        try:
            return super()._call(method, path, **kwargs)
        except JoggError as exc:
            code = str(exc.jogg_code or exc.http_status or exc.__class__.__name__)
            raise
        finally:
            endpoint = f"{method} {path}"
            metrics.JOGG_CALLS.labels(endpoint, code).inc()
            metrics.JOGG_LATENCY.labels(endpoint).observe(time.perf_counter() - started)


def jogg_client() -> JoggClient:
    """The current app's JoggAI client."""
    return current_app.extensions["jogg_client"]


def post_budget() -> PostBudget:
    """The current app's view of the shared POST budget."""
    return current_app.extensions["post_budget"]


def submit_policy() -> Policy:
    """Submission numbers from the current app's settings."""
    settings: Settings = current_app.config["SETTINGS"]
    return Policy(
        max_attempts=settings.submit_max_attempts,
        retry_base=settings.submit_retry_base,
        first_poll=settings.poll_intervals[0],
        probe_interval=settings.jogg_probe_interval,
        window_seconds=post_budget().window_seconds,
    )
