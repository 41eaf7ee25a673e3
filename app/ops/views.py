"""`GET /ops` and `GET /ops/data.json` behind the operator token, and the login form that opens them in a browser."""

import hmac

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from itsdangerous import BadData, URLSafeTimedSerializer

from app.extensions import db
from app.http_problems import problem
from app.models.types import utcnow
from app.ops.snapshot import snapshot

blp = Blueprint("ops", __name__)

REFRESH_SECONDS = 10
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
COOKIE = "mg_ops"
LOGIN_HOURS = 12
OPEN_ENDPOINTS = frozenset({"ops.login_form", "ops.login", "ops.logout"})


@blp.before_request
def require_operator():
    """Refuse every ops route without the token (Bearer header) or a login cookie; browsers go to the form."""
    if request.endpoint in OPEN_ENDPOINTS or _bearer_is_valid() or _cookie_is_valid():
        return None
    if _wants_html():
        return redirect("/ops/login", code=303)
    headers = {"WWW-Authenticate": 'Bearer realm="ops"'}
    return problem(401, "Unauthorized", "a valid operator token is required", "ops-unauthorized", headers)


@blp.after_request
def keep_private(response: Response) -> Response:
    """No caching and no Referer for anything under /ops."""
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


@blp.get("/ops/login")
def login_form():
    """A form asking for the operator token."""
    return render_template("ops/login.html", failed=False)


@blp.post("/ops/login")
def login():
    """Check the token; on success set a signed, expiring cookie (never the token itself) and go to /ops."""
    if not _matches(request.form.get("token", "")):
        return render_template("ops/login.html", failed=True), 401
    response = redirect("/ops", code=303)
    response.set_cookie(COOKIE, _serializer().dumps("operator"), max_age=LOGIN_HOURS * 3600, **_cookie_options())
    return response


@blp.post("/ops/logout")
def logout():
    """Forget the login cookie."""
    response = redirect("/ops/login", code=303)
    response.delete_cookie(COOKIE, **_cookie_options())
    return response


def _current_snapshot() -> dict:
    """Gather the snapshot now; the request ends its (read-mostly) transaction."""
    extensions = current_app.extensions
    data = snapshot(db.session, extensions["redis"], extensions["post_budget"], utcnow())
    db.session.rollback()  # read only: end the transaction
    return data


def _expected_token() -> str:
    """The configured operator token ('' when none: then nothing opens the page)."""
    return current_app.config["SETTINGS"].ops_token or ""


def _matches(presented: str) -> bool:
    """Constant-time comparison of a presented token with the configured one (any bytes, never an error)."""
    expected = _expected_token()
    given = presented.encode("utf-8", "surrogatepass")
    return bool(expected and presented) and hmac.compare_digest(given, expected.encode())


def _bearer_is_valid() -> bool:
    """Whether `Authorization: Bearer ...` carries the operator token."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _matches(value.strip())


def _cookie_is_valid() -> bool:
    """Whether the login cookie was signed with the current token and has not expired."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not _expected_token():
        return False
    try:
        return _serializer().loads(cookie, max_age=LOGIN_HOURS * 3600) == "operator"
    except BadData:  # a bad or expired signature, or a malformed cookie
        return False


def _cookie_options() -> dict:
    """How the login cookie is kept: under /ops only, Secure over https, out of scripts' reach, same-site only."""
    return {"path": "/ops", "secure": _over_https(), "httponly": True, "samesite": "Strict"}


def _serializer() -> URLSafeTimedSerializer:
    """Signs login cookies with the operator token: changing the token ends every login."""
    return URLSafeTimedSerializer(_expected_token(), salt="motion-gateway-ops-login")


def _wants_html() -> bool:
    """A browser navigation (GET preferring HTML) rather than a script or API client."""
    accept = request.accept_mimetypes
    return request.method == "GET" and accept.accept_html and accept["text/html"] > accept["application/json"]


def _over_https() -> bool:
    """Whether the browser talks https to us, directly or through a TLS-terminating proxy (then the cookie is Secure).

    Trusting X-Forwarded-Proto here is harmless: a forged one only makes the sender's own cookie https-only.
    """
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.is_secure or forwarded == "https"
