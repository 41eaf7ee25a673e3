"""The sandbox's Flask app factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from sandbox import api, control
from sandbox.config import SandboxConfig
from sandbox.state import SandboxState


def create_app(config: SandboxConfig | Mapping[str, Any] | None = None) -> Flask:
    """Build the sandbox: a SandboxConfig as is, or knob overrides on top of SANDBOX_* vars."""
    app = Flask("sandbox")
    app.extensions["sandbox"] = SandboxState(resolve_config(config))
    register_blueprints(app)
    register_error_handlers(app)
    return app


def resolve_config(config: SandboxConfig | Mapping[str, Any] | None) -> SandboxConfig:
    """The start-up knobs: the environment's, with any overrides validated on top."""
    if isinstance(config, SandboxConfig):
        return config
    return SandboxConfig.from_env().with_changes(config or {})


def register_blueprints(app: Flask) -> None:
    """JoggAI's /v2 API and the /_sandbox control API."""
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)


def register_error_handlers(app: Flask) -> None:
    """JSON for unknown routes and wrong methods, never an HTML page."""
    app.register_error_handler(HTTPException, api.http_error)


def sandbox_state(app: Flask) -> SandboxState:
    """The state behind an app built by create_app."""
    return app.extensions["sandbox"]
