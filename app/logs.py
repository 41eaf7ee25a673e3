"""Logging for every process: JSON in production, readable lines locally, each line carrying its context."""

import contextvars
import logging
import re
import secrets
import sys
from urllib.parse import parse_qsl, quote

from gunicorn.glogging import Logger as GunicornLogger
from pythonjsonlogger.json import JsonFormatter

from app.config import Settings

CONTEXT_FIELDS = ("request_id", "motion_id", "caller", "job_id")
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("log_context", default={})  # noqa: B039
READABLE = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(motion_id)s %(job_id)s] %(message)s"
# Defence in depth: whatever a message contains, these shapes of secret never reach a log line.
SECRET_SHAPES = re.compile(
    r"(mgw_[A-Za-z0-9_-]{20,}|whsec_[A-Za-z0-9+/=]{20,}|v1,[A-Za-z0-9+/=]{40,}|\b[0-9a-f]{64}\b)"
)


def bind(**values) -> contextvars.Token:
    """Add fields (request_id, motion_id, caller, job_id) to every log line of the current context."""
    return _context.set({**_context.get(), **{k: v for k, v in values.items() if v is not None}})


def reset(token: contextvars.Token) -> None:
    """Undo a bind()."""
    _context.reset(token)


def current(field: str) -> str | None:
    """A field of the current log context."""
    return _context.get().get(field)


def new_request_id() -> str:
    """A fresh request id."""
    return secrets.token_hex(8)


class ContextFilter(logging.Filter):
    """Stamps the context fields on each record and masks anything shaped like a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the context fields, mask anything shaped like a secret and urllib3's quoted URLs."""
        context = _context.get()
        for field in CONTEXT_FIELDS:
            setattr(record, field, getattr(record, field, None) or context.get(field, "-"))
        if isinstance(record.msg, str) and SECRET_SHAPES.search(record.getMessage()):
            record.msg, record.args = SECRET_SHAPES.sub("[redacted]", record.getMessage()), ()
        if record.name.startswith("urllib3."):  # its DEBUG lines quote outgoing URLs: a caller's callback query
            record.msg, record.args = redact_request_text(record.getMessage()), ()
        return True


def configure_logging(settings: Settings) -> None:
    """One handler on the root logger: JSON in production, plain text in development and tests."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.is_production:
        fields = "%(asctime)s %(levelname)s %(name)s %(message)s"
        handler.setFormatter(JsonFormatter(fields, rename_fields={"levelname": "level"}))
    else:
        handler.setFormatter(logging.Formatter(READABLE))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def init_app(app) -> None:
    """Give every request a request id (X-Request-ID if sane, else a new one), in logs and in the answer."""
    from flask import g, request

    @app.before_request
    def _bind_request_id():
        """Take the caller's X-Request-ID if well formed, else a new one, into the log context."""
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else new_request_id()
        g.log_token = bind(request_id=g.request_id)

    @app.after_request
    def _echo_request_id(response):
        """Send the request id back in X-Request-ID."""
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _unbind(_exc):
        """Drop the request's log context."""
        token = g.pop("log_token", None)
        if token is not None:
            reset(token)


# Query parameters of our own routes whose values are never secret; any other value is masked.
PUBLIC_QUERY = frozenset("wait limit cursor status created_after created_before after from to".split())
# Request headers gunicorn would offer as %({name}i)s atoms that carry credentials.
CREDENTIAL_HEADERS = ("{authorization}i", "{cookie}i", "{x-api-key}i", "{x-webhook-signature}i", "{webhook-signature}i")


def redact_query(query: str) -> str:
    """A query string with every value outside PUBLIC_QUERY replaced by `[redacted]`."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k)}={quote(v) if k in PUBLIC_QUERY else '[redacted]'}" for k, v in pairs)


# In gunicorn's own error lines (a malformed request line quoted back, "Error handling request <uri>").
QUERY_VALUE = re.compile(r"([?&][^=\s&?'\"#]*=)[^&\s'\"#]*")
CREDENTIALS = re.compile(r"\b(Bearer|Basic)\s+[^\s'\"]+", re.IGNORECASE)


def redact_request_text(text: str) -> str:
    """Text that may quote a request, with query values, credentials and secret shapes masked."""
    text = QUERY_VALUE.sub(r"\1[redacted]", text)
    return SECRET_SHAPES.sub("[redacted]", CREDENTIALS.sub(r"\1 [redacted]", text))


class RedactRequestText(logging.Filter):
    """Masks what a quoted request could carry in gunicorn's error lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the message's request text (formatted once, so its arguments go)."""
        record.msg, record.args = redact_request_text(record.getMessage()), ()
        return True


class AccessLogger(GunicornLogger):
    """gunicorn's logger: access lines without user name, query secret or credential header; error lines masked."""

    def setup(self, cfg) -> None:
        """gunicorn's set-up, plus the mask on its error log (once, also across configuration reloads)."""
        super().setup(cfg)
        if not any(isinstance(f, RedactRequestText) for f in self.error_log.filters):
            self.error_log.addFilter(RedactRequestText())

    def atoms(self, resp, req, environ, request_time) -> dict:
        """The usual atoms, with `u` always `-` and the query's values masked in `r`, `q` and `f`."""
        atoms = super().atoms(resp, req, environ, request_time)
        path, _, query = environ.get("RAW_URI", "").partition("?")
        query = redact_query(query)
        target = SECRET_SHAPES.sub("[redacted]", f"{path}?{query}" if query else path)
        atoms.update(u="-", q=query, r=f"{atoms['m']} {target} {atoms['H']}")
        atoms["f"] = atoms["f"].partition("?")[0]
        for name in CREDENTIAL_HEADERS:
            atoms.pop(name, None)
        return atoms
