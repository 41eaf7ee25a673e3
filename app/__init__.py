"""motion-gateway: the app factory, which reads like a table of contents."""

import os

from flask import Flask

from app import jobs, jogg_connection, logs, nudges, queues
from app.config import Settings, load_settings
from app.database import configure_engine
from app.extensions import db, migrate, rest_api


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app from settings (read from the environment when not given); no I/O, no migrations."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(flask_config(settings))
    register_extensions(app)
    register_connections(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    warm_up()
    return app


def warm_up() -> None:
    """Compile the request schemas' URL patterns now (about 0.3 s), not in the first requests' threads."""
    from app.api.schemas import MotionCreateSchema

    MotionCreateSchema().validate({"image_url": "https://example.com/a.png", "callback_url": "http://svc/hook"})


def flask_config(settings: Settings) -> dict:
    """The Flask and extension configuration derived from settings."""
    from app.api.openapi import OPENAPI_CONFIG

    return {
        "SETTINGS": settings,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings),
        "MAX_CONTENT_LENGTH": settings.max_body_bytes,
        "TESTING": settings.app_env == "test",
        **OPENAPI_CONFIG,
    }


def engine_options(settings: Settings) -> dict:
    """Connection pool: one connection per web thread kept open (opening one costs PostgreSQL a process)."""
    if settings.database_url.startswith("sqlite"):
        return {"pool_pre_ping": True}
    threads = int(os.environ.get("WEB_THREADS", "16"))
    return {"pool_pre_ping": True, "pool_size": threads + 4, "max_overflow": 10}


def register_extensions(app: Flask) -> None:
    """Bind the shared extensions to this app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR", "migrations"))
    from app.api.problems import ProblemSchema

    rest_api.ERROR_SCHEMA = ProblemSchema
    rest_api.init_app(app)
    with app.app_context():
        configure_engine(db.engine)


def register_connections(app: Flask) -> None:
    """Build the shared clients once (connected on first use): Redis, JoggAI, and the sender of nudges.

    `app.database.commit_step` hands what a committed transaction asked for (app.nudges) to `jobs.send_nudges`.
    """
    queues.init_app(app)
    app.extensions[nudges.SENDER] = jobs.send_nudges
    jogg_connection.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the HTTP routes and their per-request hooks (request id, metrics, counted ops refusals)."""
    from app.api import auth, health, metrics, motions, notifications, usage, webhooks
    from app.ops import views as ops_views

    logs.init_app(app)
    metrics.instrument(app)
    app.after_request(auth.count_ops_refusal)
    app.register_blueprint(health.blp)
    app.register_blueprint(metrics.blp)
    app.register_blueprint(ops_views.blp)
    app.register_blueprint(webhooks.blp)
    rest_api.register_blueprint(motions.blp)
    rest_api.register_blueprint(notifications.blp)
    rest_api.register_blueprint(usage.blp)


def register_error_handlers(app: Flask) -> None:
    """Render every error as problem+json."""
    from app.api import problems

    problems.register(app)


def register_commands(app: Flask) -> None:
    """Add the operator CLI to `flask`."""
    from app import cli

    cli.register(app)
