"""`flask jogg ...`: the JoggAI account as this service uses it (register-webhook, status)."""

import json
import time

import click
import redis
from flask import current_app
from flask.cli import AppGroup

from app import jogg_connection
from app.cli.output import emit
from app.database import unit_of_work
from app.domain import account as accounts
from app.domain import jogg_webhooks
from app.jogg import BadCredentials, Endpoint, JoggClient, JoggError
from app.models.types import utcnow
from app.notifications.url_safety import UnsafeCallbackUrl, checked_host

jogg_cli = AppGroup("jogg", help="Manage the JoggAI account as this service uses it.")

EVENTS = (
    "generated_motion_success",
    "generated_motion_failed",
    "generated_photo_avatar_success",
    "generated_photo_avatar_failed",
)


@jogg_cli.command("register-webhook")
@click.argument("url", required=False)
@click.option("--wait", default=90.0, show_default=True, help="Seconds to wait for a free JoggAI POST slot.")
def register_webhook(url: str | None, wait: float) -> None:
    """Register URL (default: PUBLIC_BASE_URL/webhooks/jogg) with JoggAI; store and print the secret it returns.

    When JoggAI already has an endpoint for URL, its secret is taken from JoggAI's endpoint list
    instead (no POST spent, no second endpoint). The receiver accepts the stored secret at once,
    so JOGG_WEBHOOK_SECRET need not be set.
    """
    url = _checked(url or f"{current_app.config['SETTINGS'].public_base_url}/webhooks/jogg")
    client = jogg_connection.jogg_client()
    try:
        existing = _listed(client, url)
        endpoint = existing or _create(client, url, wait)
    except JoggError as exc:
        raise click.ClickException(f"JoggAI refused the endpoint: {exc}") from None
    if not endpoint.secret:
        raise click.ClickException(f"JoggAI listed endpoint {endpoint.endpoint_id} for {url} without its secret")
    _store(endpoint)
    _warn_if_deaf(endpoint)
    shown = {"endpoint_id": endpoint.endpoint_id, "url": url, "events": list(endpoint.events or EVENTS)}
    click.echo(json.dumps({**shown, "reused": existing is not None, "secret": endpoint.secret}))


@jogg_cli.command("status")
def jogg_status() -> None:
    """Check the JoggAI key, the credit left and the registered webhook endpoints (exit 1 unless the key works)."""
    client, status = jogg_connection.jogg_client(), {"key_valid": None, "credit_left": None, "webhook_endpoints": None}
    try:
        status["credit_left"] = client.remaining_quota()
        status["key_valid"] = True
        status["webhook_endpoints"] = [_shown(endpoint) for endpoint in client.list_endpoints()]
    except BadCredentials:
        status["key_valid"] = False
    except JoggError as exc:  # scrubbed of the key by the client
        status["error"] = str(exc)
    with unit_of_work() as session:
        account = accounts.peek(session)
        status["registered_endpoint_id"] = account.webhook_endpoint_id
        status["submissions"] = accounts.describe(account, utcnow())
    emit(status)
    if status["key_valid"] is not True or "error" in status:
        raise click.exceptions.Exit(1)


def _shown(endpoint: Endpoint) -> dict:
    """One webhook endpoint as JoggAI lists it, without the secret the list carries."""
    return {
        "endpoint_id": endpoint.endpoint_id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "status": endpoint.status,
    }


def _checked(url: str) -> str:
    """An absolute http(s) URL with a host, as JoggAI needs to call it; else a usage error (exit status 2)."""
    try:
        checked_host(url)
    except UnsafeCallbackUrl as exc:
        example = "https://mg.example.com/webhooks/jogg"
        raise click.BadParameter(f"must be an absolute http(s) URL such as {example}: {exc.reason}") from None
    return url


def _listed(client: JoggClient, url: str) -> Endpoint | None:
    """The endpoint JoggAI already has for this URL (its list shows each secret), if any."""
    return next((endpoint for endpoint in client.list_endpoints() if endpoint.url == url), None)


def _create(client: JoggClient, url: str, wait: float) -> Endpoint:
    """Create the endpoint, spending one slot of the shared POST budget."""
    _take_post_slot(wait)
    return client.create_endpoint(url, EVENTS)


def _store(endpoint: Endpoint) -> None:
    """Keep the endpoint's secret, the one it replaces staying valid as the previous secret."""
    with unit_of_work() as session:
        account = accounts.load(session, lock=True)
        if account.webhook_secret != endpoint.secret:
            account.previous_webhook_secret = account.webhook_secret
        account.webhook_endpoint_id, account.webhook_secret = endpoint.endpoint_id, endpoint.secret
    try:
        jogg_webhooks.mark_secrets_changed(current_app.extensions["redis"])  # the receivers read it at once
    except redis.exceptions.RedisError:
        click.echo("WARNING: Redis is unreachable; the receivers will pick the new secret up within 10 s", err=True)


def _warn_if_deaf(endpoint: Endpoint) -> None:
    """Say so when a reused endpoint is disabled or does not hear the motion events."""
    missing = [event for event in EVENTS[:2] if endpoint.events and event not in endpoint.events]
    if (endpoint.status and endpoint.status != "enabled") or missing:
        detail = f"status {endpoint.status}" + (f", not subscribed to {', '.join(missing)}" if missing else "")
        click.echo(f"WARNING: endpoint {endpoint.endpoint_id} is registered but {detail}", err=True)


def _take_post_slot(wait: float) -> None:
    """Block until the shared limiter grants a POST, or give up."""
    budget, deadline = jogg_connection.post_budget(), time.monotonic() + wait
    while not budget.try_acquire():
        if time.monotonic() > deadline:
            raise click.ClickException("no JoggAI POST slot came free in time; try again later")
        time.sleep(0.5)
