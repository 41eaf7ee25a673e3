"""The callers CLI: create, list, rotate-key, rotate-secret, disable."""

import json
import socket

import pytest
from sqlalchemy import select

from app import create_app
from app.cli.callers import shown_url
from app.domain.callers import hash_api_key
from app.models import CallbackEndpoint, Caller
from app.models.types import utcnow

REAL_GETADDRINFO = socket.getaddrinfo


def run(app, *args):
    """Invoke `flask callers ...` and return the result."""
    return app.test_cli_runner().invoke(args=["callers", *args])


@pytest.fixture
def public_dns(monkeypatch):
    """*.example.com resolves to a public address (no real DNS needed); other names as usual."""

    def resolve(host, port, *args, **kwargs):
        target = "93.184.216.34" if str(host).endswith(".example.com") else host
        return REAL_GETADDRINFO(target, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


REFUSED_URLS = {
    "file:///etc/passwd": "scheme 'file' is not http or https",
    "gopher://billing.example.com/": "scheme 'gopher' is not http or https",
    "http://127.0.0.1:8080/hooks": "127.0.0.1 is a private address not in CALLBACK_ALLOWED_NETWORKS",
    "http://localhost/hooks": "is a private address not in CALLBACK_ALLOWED_NETWORKS",
    "http://10.1.2.3/hooks": "10.1.2.3 is a private address",
    "http://169.254.169.254/latest/meta-data": "169.254.169.254 is a cloud metadata address",
    "http://[fe80::1]/hooks": "is a link-local address",
    "http://metadata.google.internal/": "metadata.google.internal is a cloud metadata host",
    "not a url": "whitespace",
    "http://no-such-host.invalid/hooks": "cannot be resolved",
}


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_create_refuses_a_callback_url_deliveries_would_refuse(app, session, url):
    """A URL the delivery would refuse: one line on stderr naming why, exit status 2, no caller stored."""
    result = run(app, "create", "refused", "--callback-url", url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: callback URL refused: ") and REFUSED_URLS[url] in result.stderr
    assert session.scalars(select(Caller)).first() is None


def test_create_accepts_a_private_url_the_allowlist_admits(settings, session):
    """With CALLBACK_ALLOWED_NETWORKS covering loopback, a local receiver is accepted, as deliveries would."""
    allowing = create_app(settings.with_overrides(callback_allowed_networks=("127.0.0.0/8", "::1")))
    result = run(allowing, "create", "local", "--callback-url", "http://localhost:8080/hooks")
    assert result.exit_code == 0, result.output
    assert session.scalars(select(Caller.default_callback_url)).one() == "http://localhost:8080/hooks"


def test_create_prints_credentials_once_and_stores_a_hash(app, session, public_dns):
    """create prints caller_id, api_key and webhook_secret; only the key's hash is stored."""
    result = run(app, "create", "billing", "--callback-url", "http://billing.example.com:8080/hooks")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["api_key"].startswith("mgw_") and out["webhook_secret"].startswith("whsec_")
    caller = session.scalars(select(Caller)).one()
    assert caller.id == out["caller_id"]
    assert caller.api_key_hash == hash_api_key(out["api_key"])
    assert out["api_key"] not in {caller.api_key_hash, caller.api_key_prefix}
    assert caller.default_callback_url == "http://billing.example.com:8080/hooks"


def test_created_key_works_against_the_api(app, client):
    """The printed key authenticates."""
    key = json.loads(run(app, "create", "orders").output)["api_key"]
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_duplicate_name_is_a_clean_error(app):
    """A second caller with the same name fails with a message, not a traceback."""
    run(app, "create", "dup")
    result = run(app, "create", "dup")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_list_shows_no_secrets(app):
    """list shows names, state and key prefixes, never keys or secrets."""
    created = json.loads(run(app, "create", "listed").output)
    result = run(app, "list")
    assert result.exit_code == 0
    listed = json.loads(result.output)["callers"]
    assert [c["name"] for c in listed] == ["listed"]
    assert created["api_key"] not in result.output and created["webhook_secret"] not in result.output


def test_list_masks_a_password_in_callback_urls(app, session, public_dns):
    """A password in a default or disabled callback URL is printed as *** on stdout and on the stderr warning."""
    url = "https://hook:s3cret@billing.example.com/hooks?x=1"
    caller_id = json.loads(run(app, "create", "billing", "--callback-url", url).output)["caller_id"]
    session.add(CallbackEndpoint(caller_id=caller_id, url=url, disabled_at=utcnow(), disabled_reason="410 Gone"))
    session.commit()
    result = run(app, "list")
    assert result.exit_code == 0, result.output
    shown = "https://hook:***@billing.example.com/hooks?x=1"
    listed = json.loads(result.stdout)["callers"][0]
    assert listed["default_callback_url"] == shown and listed["disabled_callback_urls"][0]["url"] == shown
    assert result.stderr == f"WARNING: caller {caller_id} callback URL disabled: {shown} (410 Gone)\n"
    assert "s3cret" not in result.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://billing.example.com/hooks", "https://billing.example.com/hooks"),
        ("https://token@billing.example.com/hooks", "https://***@billing.example.com/hooks"),
        ("http://u:p:q@h.example.com:8080/a@b", "http://u:***@h.example.com:8080/a@b"),
        (None, None),
    ],
)
def test_shown_url(url, shown):
    """Userinfo is masked (a lone user name too, it may be a token); the rest of the URL is kept as it was."""
    assert shown_url(url) == shown


def test_rotate_key(app, client):
    """rotate-key prints a new key; the old one stops working."""
    old = json.loads(run(app, "create", "rot").output)["api_key"]
    new = json.loads(run(app, "rotate-key", "rot").output)["api_key"]
    assert new != old
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_rotate_secret_keeps_the_old_one_for_a_day(app, session):
    """rotate-secret issues a new secret and keeps the previous one with an expiry."""
    old = json.loads(run(app, "create", "sec").output)["webhook_secret"]
    new = json.loads(run(app, "rotate-secret", "sec").output)["webhook_secret"]
    caller = session.scalars(select(Caller)).one()
    assert (caller.webhook_secret, caller.previous_webhook_secret) == (new, old)
    assert caller.previous_secret_expires_at is not None


def test_disable(app, client):
    """disable revokes the caller's key."""
    key = json.loads(run(app, "create", "gone").output)["api_key"]
    assert json.loads(run(app, "disable", "gone").output)["active"] is False
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_unknown_caller_is_a_clean_error(app):
    """Commands on a missing caller fail with a message."""
    for command in ("rotate-key", "rotate-secret", "disable"):
        result = run(app, command, "nobody")
        assert result.exit_code != 0 and "no caller named" in result.output


def test_reconcile_runs_one_sweep(app, session, redis_client):
    """`flask reconcile` re-enqueues lost work from SQL and reports what it did."""
    from datetime import timedelta

    from rq import Queue

    from app import jobs, queues
    from app.models import JoggEvent
    from app.models.types import utcnow

    waiting = JoggEvent(event="generated_motion_success", event_id="evt-lost", jogg_motion_id="jm-lost",
                        raw_body=b"{}", received_at=utcnow() - timedelta(minutes=5))  # fmt: skip
    session.add(waiting)  # committed outside the app, so never nudged: what Redis losing the nudge looks like
    session.commit()
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recovered"] == 1
    queued = [job.func_name for job in Queue(queues.DEFAULT, connection=redis_client).jobs]
    assert queued == [queues.path_of(jobs.process_jogg_events)]
