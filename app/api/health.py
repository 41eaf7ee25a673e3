"""Liveness and readiness probes."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.api.problems import problem
from app.domain import account, credit_forecast
from app.extensions import db
from app.models.types import utcnow

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """200 while the process runs."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """200 when the database and Redis answer, else 503 naming what failed."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    failed = sorted(name for name, result in checks.items() if result != "ok")
    if failed:
        return problem(503, "Not ready", f"unavailable: {', '.join(failed)}", "not-ready", checks=checks)
    return jsonify(status="ready", checks=checks, jogg=_jogg_state())


def _jogg_state() -> dict:
    """Whether submissions to JoggAI flow and why not, and the stored credit forecast (shown, never a reason to be
    unready; JoggAI is not asked here)."""
    stored = account.peek(db.session)
    state = account.describe(stored, utcnow())
    state["credits"] = credit_forecast.current(stored, current_app.extensions["redis"]).as_dict()
    db.session.rollback()
    return state


def _check_database() -> str:
    """'ok' or the kind of failure."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except Exception as exc:  # any driver error means not ready
        db.session.rollback()
        return f"error: {exc.__class__.__name__}"


def _check_redis() -> str:
    """'ok' or the kind of failure."""
    try:
        current_app.extensions["redis"].ping()
        return "ok"
    except Exception as exc:  # any client error means not ready
        return f"error: {exc.__class__.__name__}"
