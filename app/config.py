"""Typed settings read from the environment; production refuses to start without required values."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from environs import Env, EnvError

from app.networks import parse_allowlist

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
# What pre-flight does with an image it cannot fetch: fail the motion (image_unreachable) or submit it anyway.
UNREACHABLE_POLICIES = ("fail", "submit")
# Credits per motion by model (JoggAI's prices, 2026-11); every model the API accepts needs one.
DEFAULT_CREDIT_COSTS = "1.0=2,2.0=2,2.0-Pro=3,3.0=2"
CREDIT_COST_MODELS = ("1.0", "2.0", "2.0-Pro", "3.0")

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
        """Prefix the message with the service's name."""
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
    dispatch_interval: float = 0.25
    sweep_stale_after: float = 30.0
    events_feed_lag: float = 2.0
    worker_niceness: int = 0
    uncertain_policy: str = "resubmit"
    uncertain_grace: float = 600.0
    idempotency_ttl: timedelta = timedelta(hours=24)
    preflight: bool = True
    preflight_unreachable: str = "fail"
    voice_cache_seconds: int = 3600
    jogg_credit_costs: dict[str, int] = field(default_factory=lambda: parse_credit_costs(DEFAULT_CREDIT_COSTS))
    credit_low_hours: float = 24.0
    reuse_max_age: int = 30 * 86400

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
    """Turn the environment's strings into a Settings value, one group of settings at a time."""
    return Settings(
        app_env=app_env,
        **_service_settings(env, defaults),
        **_jogg_settings(env, defaults),
        **_schedule_settings(env),
        **_callback_settings(env),
        **_credit_settings(env),
    )


def _text(env: Env, defaults: dict[str, str], name: str, fallback: str = "") -> str:
    """A string setting: the environment's, else the environment's default (.env files), else fallback."""
    return env.str(name, defaults.get(name, fallback))


def _service_settings(env: Env, defaults: dict[str, str]) -> dict:
    """Where the service's stores are, how it is reached and logs, and its limits."""
    return {
        "database_url": normalise_database_url(_text(env, defaults, "DATABASE_URL")),
        "redis_url": _redis_url(_text(env, defaults, "REDIS_URL")),
        "public_base_url": _text(env, defaults, "PUBLIC_BASE_URL").rstrip("/"),
        "log_level": _text(env, defaults, "LOG_LEVEL", "INFO").upper(),
        "ops_token": _text(env, defaults, "OPS_TOKEN"),
        "max_body_bytes": env.int("MAX_BODY_BYTES", 64 * 1024, validate=_positive),
        "worker_niceness": env.int("WORKER_NICENESS", 0, validate=lambda v: 0 <= v <= 19),
    }


def _jogg_settings(env: Env, defaults: dict[str, str]) -> dict:
    """JoggAI: where and how it is called, how submissions retry, what a submission in doubt becomes."""
    return {
        "jogg_base_url": _text(env, defaults, "JOGG_BASE_URL", "https://api.jogg.ai").rstrip("/"),
        "jogg_api_key": _text(env, defaults, "JOGG_API_KEY"),
        "jogg_webhook_secret": _text(env, defaults, "JOGG_WEBHOOK_SECRET"),
        "jogg_webhook_secret_old": _text(env, defaults, "JOGG_WEBHOOK_SECRET_OLD"),
        "jogg_post_rate_limit": _rate(_text(env, defaults, "JOGG_POST_RATE_LIMIT", "20/minute")),
        "jogg_connect_timeout": env.float("JOGG_CONNECT_TIMEOUT", 3.05, validate=_positive),
        "jogg_read_timeout": env.float("JOGG_READ_TIMEOUT", 10.0, validate=_positive),
        "jogg_probe_interval": env.float("JOGG_PROBE_INTERVAL", 60.0, validate=_positive),
        "submit_max_attempts": env.int("SUBMIT_MAX_ATTEMPTS", 5, validate=_positive),
        "submit_retry_base": env.float("SUBMIT_RETRY_BASE", 10.0, validate=_positive),
        "uncertain_policy": env.str(
            "UNCERTAIN_POLICY", "resubmit", validate=_one_of("UNCERTAIN_POLICY", UNCERTAIN_POLICIES)
        ),
        "uncertain_grace": env.float("UNCERTAIN_GRACE", 600.0, validate=_positive),
    }


def _schedule_settings(env: Env) -> dict:
    """How often the clock's work runs: polls, the sweep, dispatch, the events feed, and the maximum age."""
    return {
        "poll_intervals": _positive_ints(env, "POLL_INTERVALS", "120,300,900,1800"),
        "motion_max_age": env.int("MOTION_MAX_AGE", 86400, validate=_positive),
        "sweep_interval": env.int("SWEEP_INTERVAL", 60, validate=_positive),
        "sweep_stale_after": env.float("SWEEP_STALE_AFTER", 30.0, validate=_positive),
        "dispatch_interval": env.float("DISPATCH_INTERVAL", 0.25, validate=_positive),
        "events_feed_lag": env.float("EVENTS_FEED_LAG", 2.0, validate=lambda v: v >= 0),
    }


def _callback_settings(env: Env) -> dict:
    """Callbacks' retry schedule and the private networks callbacks and images may reach."""
    return {
        "callback_retry_schedule": _positive_ints(
            env, "CALLBACK_RETRY_SCHEDULE", "0,5,300,1800,7200,18000,36000,36000", allow_zero=True
        ),
        "callback_allowed_networks": _allowlist(env.list("CALLBACK_ALLOWED_NETWORKS", [])),
        "image_allowed_networks": _allowlist(env.list("IMAGE_ALLOWED_NETWORKS", []), "IMAGE_ALLOWED_NETWORKS"),
    }


def _credit_settings(env: Env) -> dict:
    """Pre-flight, credit costs, the low-credit alert and reuse (docs/credits.md)."""
    return {
        "preflight": env.bool("PREFLIGHT", True),
        "preflight_unreachable": env.str(
            "PREFLIGHT_UNREACHABLE", "fail", validate=_one_of("PREFLIGHT_UNREACHABLE", UNREACHABLE_POLICIES)
        ),
        "voice_cache_seconds": env.int("VOICE_CACHE_SECONDS", 3600, validate=_named_positive("VOICE_CACHE_SECONDS")),
        "jogg_credit_costs": parse_credit_costs(env.str("JOGG_CREDIT_COSTS", DEFAULT_CREDIT_COSTS)),
        "credit_low_hours": env.float("CREDIT_LOW_HOURS", 24.0, validate=_named_positive("CREDIT_LOW_HOURS")),
        "reuse_max_age": env.int("REUSE_MAX_AGE", 30 * 86400, validate=_named_positive("REUSE_MAX_AGE")),
    }


def parse_credit_costs(text: str) -> dict[str, int]:
    """`model=credits,...` into a dict; ValueError naming JOGG_CREDIT_COSTS on a bad entry or a missing model."""
    costs: dict[str, int] = {}
    for entry in (part.strip() for part in text.split(",")):
        model, equals, value = (piece.strip() for piece in entry.partition("="))
        if not equals or not model or not (value.isascii() and value.isdigit()):
            raise ValueError(f"JOGG_CREDIT_COSTS: {entry!r} is not model=whole number of credits")
        if model not in CREDIT_COST_MODELS:
            raise ValueError(f"JOGG_CREDIT_COSTS: unknown model {model!r} (models: {', '.join(CREDIT_COST_MODELS)})")
        if model in costs:
            raise ValueError(f"JOGG_CREDIT_COSTS: model {model} is given twice")
        costs[model] = int(value)
    missing = [model for model in CREDIT_COST_MODELS if model not in costs]
    if missing:
        raise ValueError(f"JOGG_CREDIT_COSTS: no cost for model(s) {', '.join(missing)}")
    return costs


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
    parse_allowlist(entries, name)
    return tuple(entries)


def _one_of(name: str, choices: tuple[str, ...]):
    """environs validator: one of these words."""

    def check(value: str) -> bool:
        """Accept one of the words, else raise naming the setting and the choices."""
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return True

    return check


def _named_positive(name: str):
    """environs validator: strictly positive, naming the setting when not."""

    def check(value: float) -> bool:
        """Accept a positive number, else raise naming the setting."""
        if value <= 0:
            raise ValueError(f"{name} must be a positive number")
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
