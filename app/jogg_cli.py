"""Operator commands for the JoggAI side: `flask jogg register-webhook URL`."""

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup

from app import services
from app.domain import account as accounts
from app.extensions import db
from app.jogg import JoggError

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
    """Register URL (default: PUBLIC_BASE_URL/webhooks/jogg) with JoggAI and store the secret it returns."""
    url = url or f"{current_app.config['SETTINGS'].public_base_url}/webhooks/jogg"
    _take_post_slot(wait)
    try:
        endpoint = services.jogg_client().create_endpoint(url, EVENTS)
    except JoggError as exc:
        raise click.ClickException(f"JoggAI refused the endpoint: {exc}") from None
    account = accounts.load(db.session, lock=True)
    account.previous_webhook_secret = account.webhook_secret
    account.webhook_endpoint_id, account.webhook_secret = endpoint.endpoint_id, endpoint.secret
    db.session.commit()
    stored = {"endpoint_id": endpoint.endpoint_id, "url": url, "events": list(EVENTS), "secret": "stored"}
    click.echo(json.dumps(stored))


def _take_post_slot(wait: float) -> None:
    """Block until the shared limiter grants a POST, or give up."""
    budget, deadline = services.post_budget(), time.monotonic() + wait
    while not budget.try_acquire():
        if time.monotonic() > deadline:
            raise click.ClickException("no JoggAI POST slot came free in time; try again later")
        time.sleep(0.5)


def _add_status_command() -> None:
    """`flask jogg status` lives with the other operator commands."""
    from app.admin_cli import jogg_status

    jogg_cli.add_command(jogg_status)


_add_status_command()
