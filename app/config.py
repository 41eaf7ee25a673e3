"""Typed settings read from the environment; production refuses to start without required values."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from environs import Env, EnvError

# JOGG_WEBHOOK_SECRET is not among them: `flask jogg register-webhook` stores the secret JoggAI
# returns, and the receiver accepts stored secrets as well as configured ones.
REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "REDIS_URL",
    "JOGG_API_KEY",
    "PUBLIC_BASE_URL",
    "OPS_TOKEN",
)

# Absolute, so that `flask` finds the same file from any folder (Flask-SQLAlchemy would put a
# relative SQLite path under instance/ a second time).
DEVELOPMENT_DATABASE = Path(__file__).resolve().parent.parent / "instance" / "motion-gateway.db"
# What to do with a submission still in doubt after the grace (app/domain/doubt.py acts on them).
UNCERTAIN_POLICIES = RESUBMIT, FAIL, WAIT = ("resubmit", "fail", "wait")

DEVELOPMENT_DEFAULTS = {
    "DATABASE_URL": f"sqlite:///{DEVELOPMENT_DATABASE}",
    "REDIS_URL": "redis://127.0.0.1:6389/0",
    "JOGG_BASE_URL": "http://127.0.0.1:8100",
    "JOGG_API_KEY": "sandbox-key",
    "JOGG_WEBHOOK_SECRET": "sandbox-webhook-secret",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    "OPS_TOKEN": "dev-ops-token",
}


class SettingsError(SystemExit):
    """A missing or malformed setting: exits start-up with a one-line message."""

    def __init__(self, message: str):
        super().__init__(f"motion-gateway: {message}")


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads, typed."""

    app_env: str
    database_url: str
    redis_url: str
    jogg_base_url: str
    jogg_api_key: str = field(repr=False)
    jogg_webhook_secret: str = field(repr=False)
    jogg_webhook_secret_old: str = field(repr=False)
    jogg_post_rate_limit: str
    public_base_url: str
    log_level: str
    poll_intervals: tuple[int, ...]
    motion_max_age: int
    sweep_interval: int
    callback_retry_schedule: tuple[int, ...]
    callback_allowed_networks: tuple[str, ...]
    image_allowed_networks: tuple[str, ...]
    ops_token: str = field(repr=False)
    max_body_bytes: int = 64 * 1024
    jogg_connect_timeout: float = 3.05
    jogg_read_timeout: float = 10.0
    submit_max_attempts: int = 5
    submit_retry_base: float = 10.0
    jogg_probe_interval: float = 60.0
    dispatch_interval: float = 0.05
    sweep_stale_after: float = 30.0
    events_feed_lag: float = 2.0
    worker_niceness: int = 5
    uncertain_policy: str = "resubmit"
    uncertain_grace: float = 600.0
    idempotency_ttl: timedelta = timedelta(hours=24)

    @property
    def is_production(self) -> bool:
        """True unless running under development or test."""
        return self.app_env == "production"

    def with_overrides(self, **changes) -> Settings:
        """A copy with some values replaced (tests use this)."""
        return replace(self, **changes)


def load_settings() -> Settings:
    """Read settings from the environment, failing fast on a missing required value."""
    app_env = os.environ.get("APP_ENV", "production")
    if app_env not in ("production", "development", "test"):
        raise SettingsError(f"APP_ENV must be production, development or test, not {app_env!r}")
    defaults = {} if app_env == "production" else DEVELOPMENT_DEFAULTS
    for name in REQUIRED_IN_PRODUCTION:
        if not (os.environ.get(name) or defaults.get(name)):
            raise SettingsError(f"missing required setting {name}")
    try:
        return _parse(Env(expand_vars=False), defaults, app_env)
    except (EnvError, ValueError) as exc:
        raise SettingsError(f"bad setting: {exc}") from None


def _parse(env: Env, defaults: dict[str, str], app_env: str) -> Settings:
    """Turn the environment's strings into a Settings value."""

    def text(name: str, fallback: str = "") -> str:
        return env.str(name, defaults.get(name, fallback))

    return Settings(
        app_env=app_env,
        database_url=normalise_database_url(text("DATABASE_URL")),
        redis_url=_redis_url(text("REDIS_URL")),
        jogg_base_url=text("JOGG_BASE_URL", "https://api.jogg.ai").rstrip("/"),
        jogg_api_key=text("JOGG_API_KEY"),
        jogg_webhook_secret=text("JOGG_WEBHOOK_SECRET"),
        jogg_webhook_secret_old=text("JOGG_WEBHOOK_SECRET_OLD"),
        jogg_post_rate_limit=_rate(text("JOGG_POST_RATE_LIMIT", "20/minute")),
        public_base_url=text("PUBLIC_BASE_URL").rstrip("/"),
        log_level=text("LOG_LEVEL", "INFO").upper(),
        poll_intervals=_positive_ints(env, "POLL_INTERVALS", "120,300,900,1800"),
        motion_max_age=env.int("MOTION_MAX_AGE", 86400, validate=_positive),
        sweep_interval=env.int("SWEEP_INTERVAL", 60, validate=_positive),
        callback_retry_schedule=_positive_ints(
            env, "CALLBACK_RETRY_SCHEDULE", "0,5,300,1800,7200,18000,36000,36000", allow_zero=True
        ),
        callback_allowed_networks=_allowlist(env.list("CALLBACK_ALLOWED_NETWORKS", [])),
        image_allowed_networks=_allowlist(env.list("IMAGE_ALLOWED_NETWORKS", []), "IMAGE_ALLOWED_NETWORKS"),
        ops_token=text("OPS_TOKEN"),
        max_body_bytes=env.int("MAX_BODY_BYTES", 64 * 1024, validate=_positive),
        jogg_connect_timeout=env.float("JOGG_CONNECT_TIMEOUT", 3.05, validate=_positive),
        jogg_read_timeout=env.float("JOGG_READ_TIMEOUT", 10.0, validate=_positive),
        submit_max_attempts=env.int("SUBMIT_MAX_ATTEMPTS", 5, validate=_positive),
        submit_retry_base=env.float("SUBMIT_RETRY_BASE", 10.0, validate=_positive),
        jogg_probe_interval=env.float("JOGG_PROBE_INTERVAL", 60.0, validate=_positive),
        dispatch_interval=env.float("DISPATCH_INTERVAL", 0.05, validate=_positive),
        sweep_stale_after=env.float("SWEEP_STALE_AFTER", 30.0, validate=_positive),
        events_feed_lag=env.float("EVENTS_FEED_LAG", 2.0, validate=lambda v: v >= 0),
        worker_niceness=env.int("WORKER_NICENESS", 5, validate=lambda v: 0 <= v <= 19),
        uncertain_policy=env.str(
            "UNCERTAIN_POLICY", "resubmit", validate=_one_of("UNCERTAIN_POLICY", UNCERTAIN_POLICIES)
        ),
        uncertain_grace=env.float("UNCERTAIN_GRACE", 600.0, validate=_positive),
    )


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _redis_url(value: str) -> str:
    """A Redis URL: redis://, rediss://, unix:// or redis+sentinel:// (checked now, not at first use)."""
    from app.redis_connection import check_url

    return check_url(value)


def _rate(value: str) -> str:
    """A rate the limits library understands, such as 20/minute or 5 per 3 seconds."""
    from limits import parse

    parse(value)
    return value


def _allowlist(entries: list[str], name: str = "CALLBACK_ALLOWED_NETWORKS") -> tuple[str, ...]:
    """An allowlist of networks and hosts, checked now so a typo stops start-up instead of every request."""
    from app.notifications.url_safety import parse_allowlist

    parse_allowlist(entries, name)
    return tuple(entries)


def _one_of(name: str, choices: tuple[str, ...]):
    """environs validator: one of these words."""

    def check(value: str) -> bool:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return True

    return check


def _positive(value: int) -> bool:
    """environs validator: strictly positive."""
    if value <= 0:
        raise ValueError("must be a positive number")
    return True


def _positive_ints(env: Env, name: str, default: str, allow_zero: bool = False) -> tuple[int, ...]:
    """A non-empty comma-separated list of whole seconds."""
    values = tuple(int(v) for v in env.list(name, default.split(",")))
    floor = 0 if allow_zero else 1
    if not values or any(v < floor for v in values):
        raise ValueError(f"{name} must be a comma-separated list of whole seconds >= {floor}")
    return values
