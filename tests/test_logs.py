"""Logs: every line carries its request, motion and job ids, and no secret ever appears."""

import logging

from sqlalchemy import select

from app.domain import callers
from app.logs import READABLE, ContextFilter
from app.models import Motion
from tests.jogg_fixtures import sandbox_stats, wait_until


def formatted(caplog) -> list[str]:
    """The captured records as the service would print them."""
    formatter = logging.Formatter(READABLE)
    return [formatter.format(record) for record in caplog.records]


def test_request_id_is_taken_or_made_and_echoed(client, auth):
    """A sane X-Request-ID is kept and echoed; a missing or odd one is replaced."""
    assert (
        client.get("/v1/motions", headers={**auth, "X-Request-ID": "req-abc.1"}).headers["X-Request-ID"] == "req-abc.1"
    )
    made = client.get("/v1/motions", headers=auth).headers["X-Request-ID"]
    assert len(made) == 16
    odd = client.get("/v1/motions", headers={**auth, "X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert odd != "bad id with spaces" and len(odd) == 16


def test_request_id_follows_the_work_and_no_secret_is_logged(
    caplog, jogg_app, sandbox, session, run_jogg_jobs, in_app, httpserver
):
    """One request's id appears on the lines of the jobs it caused, beside the motion id; no key or secret leaks."""
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.DEBUG)
    creds = callers.create_caller(session, "logged", callback_url=None)
    session.commit()
    httpserver.expect_request("/hooks").respond_with_data("ok")
    callback = httpserver.url_for("/hooks").replace("localhost", "127.0.0.1")
    jogg_app.config["SETTINGS"] = jogg_app.config["SETTINGS"].with_overrides(callback_allowed_networks=("127.0.0.0/8",))
    client = jogg_app.test_client()
    body = {
        "image_url": "https://i.example.com/a.png",
        "name": "n",
        "voice_id": "v",
        "model": "2.0",
        "callback_url": callback,
    }
    headers = {"Authorization": f"Bearer {creds.api_key}", "X-Request-ID": "trace-me-42"}
    motion_id = client.post("/v1/motions", json=body, headers=headers).get_json()["id"]
    run_jogg_jobs()  # the nudged dispatch job dispatches; the submit job posts to the sandbox; the callback goes out
    run_jogg_jobs()
    wait_until(lambda: sandbox_stats(sandbox)["add_motion_calls"] == 1, timeout=5)
    wait_until(lambda: httpserver.log, timeout=5)
    assert httpserver.log[0][0].headers["X-Request-ID"] == "trace-me-42"
    traced = [r for r in caplog.records if getattr(r, "request_id", None) == "trace-me-42"]
    assert any(getattr(r, "motion_id", None) == motion_id and getattr(r, "job_id", "-") != "-" for r in traced)
    assert session.scalar(select(Motion.status).where(Motion.id == motion_id)) == "processing"
    text = "\n".join(formatted(caplog))
    signature = httpserver.log[0][0].headers["webhook-signature"]
    for secret in (creds.api_key, creds.webhook_secret, "sandbox-key", signature, signature.split(",", 1)[1]):
        assert secret not in text


def test_secret_shaped_text_is_masked(caplog):
    """Even a careless log call cannot print an API key, a signing secret or a signature."""
    caplog.handler.addFilter(ContextFilter())
    log = logging.getLogger("app.careless")
    key, secret = callers.new_api_key(), callers.new_webhook_secret()
    log.warning("key %s secret %s", key, secret)
    assert key not in caplog.text and secret not in caplog.text and "[redacted]" in caplog.text


def test_access_log_lines_carry_no_user_no_query_value_and_no_credential_header():
    """gunicorn's access line (our format and logger) drops Basic users, query secrets and credential headers."""
    import base64
    import runpy
    from datetime import timedelta
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import SafeAtoms

    from app.logs import AccessLogger

    conf = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    config = Config()
    config.set("access_log_format", conf["access_log_format"])
    basic = base64.b64encode(b"mgw_userpart:mgw_secretkey").decode()
    query = "wait=5&token=tok-123&api_key=k%2F9"
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": f"/v1/motions?{query}", "PATH_INFO": "/v1/motions",
        "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1",
        "HTTP_AUTHORIZATION": f"Basic {basic}", "HTTP_REFERER": "https://x.example/ops?token=tok-123",
    }  # fmt: skip
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Basic {basic}"), ("COOKIE", "mg_ops=abc")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = AccessLogger(config).atoms(response, request, environ, timedelta(milliseconds=3))
    wider_format = config.access_log_format + " %({authorization}i)s %({cookie}i)s"  # were someone to add them
    line = wider_format % SafeAtoms(atoms)
    assert '"GET /v1/motions?wait=5&token=[redacted]&api_key=[redacted] HTTP/1.1" 200' in line
    for secret in ("tok-123", "k%2F9", "k/9", basic, "mgw_userpart", "mgw_secretkey", "mg_ops=abc", "abc"):
        assert secret not in line, secret
