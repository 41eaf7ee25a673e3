"""The control API under /_sandbox: counters, knob changes and reset, for tests and benchmarks."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox import images
from sandbox.api import sandbox_state
from sandbox.config import ConfigError

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


@bp.errorhandler(ConfigError)
def bad_knob(error: ConfigError) -> tuple[Response, int]:
    """Unknown knobs and bad values: 400 with the reason."""
    return jsonify(error=str(error)), 400


@bp.get("/stats")
def stats() -> Response:
    """Every counter, per-name and per-motion breakdowns, credits left."""
    return jsonify(sandbox_state().stats_snapshot())


@bp.get("/config")
def show_config() -> Response:
    """The knobs now in force."""
    return jsonify(sandbox_state().config.as_dict())


@bp.post("/config")
def change_config() -> Response:
    """Partial update of any knobs; answers with all of them."""
    changes = request.get_json(silent=True, force=True)
    if not isinstance(changes, dict):
        raise ConfigError("send a JSON object of knob names to values")
    return jsonify(sandbox_state().update_config(changes).as_dict())


@bp.post("/reset")
def reset() -> Response:
    """Forget motions, endpoints and counts; restore the start-up knobs."""
    state = sandbox_state()
    state.reset()
    return jsonify(reset=True, config=state.config.as_dict())


@bp.errorhandler(images.ImageNameError)
def bad_image_name(error: images.ImageNameError) -> tuple[Response, int]:
    """An image name that is not {W}x{H}.{png|jpg|webp} (404) or a size out of bounds (400)."""
    return jsonify(error=str(error)), error.status


@bp.get("/images/<name>")
def image(name: str) -> Response:
    """A test image of the requested size and format (for the demo and pre-flight tests)."""
    width, height, extension = images.parse_name(name)
    sandbox_state().stats.bump("images_served")
    response = Response(images.image_bytes(width, height, extension), mimetype=images.content_type(extension))
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
