"""`GET /ops` and `GET /ops/data.json`: the operator page and its numbers, behind the operator token."""

import hmac

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from app.api.problems import problem
from app.extensions import db
from app.models.types import utcnow
from app.ops.snapshot import snapshot

blp = Blueprint("ops", __name__)

REFRESH_SECONDS = 10
# The token may ride in the query string (so a browser can open the page): keep it out of caches and referrers.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@blp.before_request
def require_ops_token():
    """Refuse every ops route without the operator token (header or ?token=)."""
    expected = current_app.config["SETTINGS"].ops_token or ""
    presented = _presented_token()
    if expected and presented and hmac.compare_digest(presented.encode(), expected.encode()):
        return None
    headers = {"WWW-Authenticate": 'Bearer realm="ops"'}
    return problem(401, "Unauthorized", "a valid operator token is required", "ops-unauthorized", headers)


@blp.after_request
def keep_private(response: Response) -> Response:
    """No caching, no Referer carrying the token."""
    response.headers.update(PRIVATE_HEADERS)
    return response


@blp.get("/ops")
def ops_page():
    """The operator page, reloading itself every few seconds."""
    return render_template("ops/index.html", snap=_current_snapshot(), refresh_seconds=REFRESH_SECONDS)


@blp.get("/ops/data.json")
def ops_data():
    """The same numbers as JSON."""
    return jsonify(_current_snapshot())


def _current_snapshot() -> dict:
    """Gather the snapshot now; the request ends its (read-mostly) transaction."""
    extensions = current_app.extensions
    data = snapshot(db.session, extensions["redis"], extensions["post_budget"], utcnow())
    db.session.rollback()  # read only: end the transaction
    return data


def _presented_token() -> str | None:
    """The token from `Authorization: Bearer ...`, else from `?token=`."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("token") or None
