"""Operator commands under `flask`: managing callers."""

import json
from datetime import UTC
from urllib.parse import urlsplit, urlunsplit

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.domain import callers
from app.domain.errors import DomainError
from app.extensions import db
from app.models import CallbackEndpoint, Caller
from app.notifications import history
from app.notifications.url_safety import UnsafeCallbackUrl, check_callback_url

callers_cli = AppGroup("callers", help="Create and manage the services allowed to call the API.")


def _emit(payload: dict) -> None:
    """Print one JSON document."""
    click.echo(json.dumps(payload, indent=2))


def _run(action, *args, **kwargs):
    """Run a domain action in one transaction; rule violations become a clean CLI error."""
    try:
        result = action(db.session, *args, **kwargs)
        db.session.commit()
        return result
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None


def checked_callback_url(url: str | None) -> str | None:
    """The URL if deliveries could POST to it now; else one line on stderr and exit status 2."""
    if url is None:
        return None
    try:
        check_callback_url(url, current_app.config["SETTINGS"].callback_allowed_networks)
    except UnsafeCallbackUrl as exc:
        click.echo(f"Error: callback URL refused: {exc.reason}", err=True)
        raise click.exceptions.Exit(2) from None
    return url


@callers_cli.command("create")
@click.argument("name")
@click.option("--callback-url", default=None, help="Default callback URL for this caller's motions.")
def create(name: str, callback_url: str | None) -> None:
    """Create a caller; prints its id, API key and webhook secret (shown only this once)."""
    creds = _run(callers.create_caller, name, checked_callback_url(callback_url))
    _emit(
        {"caller_id": creds.caller_id, "name": name, "api_key": creds.api_key, "webhook_secret": creds.webhook_secret}
    )


@callers_cli.command("list")
def list_callers() -> None:
    """List callers (never their keys or secrets, nor a password in a callback URL)."""
    rows = db.session.scalars(select(Caller).order_by(Caller.id)).all()
    disabled = _disabled_urls()
    _emit(
        {
            "callers": [
                {
                    "caller_id": c.id,
                    "name": c.name,
                    "active": c.active,
                    "api_key_prefix": c.api_key_prefix,
                    "default_callback_url": shown_url(c.default_callback_url),
                    "created_at": c.created_at.isoformat(),
                    "disabled_callback_urls": disabled.get(c.id, []),
                }
                for c in rows
            ]
        }
    )
    for caller_id, urls in disabled.items():
        for entry in urls:
            click.echo(
                f"WARNING: caller {caller_id} callback URL disabled: {entry['url']} ({entry['reason']})", err=True
            )


def _disabled_urls() -> dict[int, list[dict]]:
    """Each caller's disabled callback URLs (as printed), with why and since when."""
    disabled: dict[int, list[dict]] = {}
    for endpoint in db.session.scalars(select(CallbackEndpoint).where(CallbackEndpoint.disabled_at.is_not(None))):
        entry = {"url": shown_url(endpoint.url), "reason": endpoint.disabled_reason}
        disabled.setdefault(endpoint.caller_id, []).append({**entry, "since": endpoint.disabled_at.isoformat()})
    return disabled


def shown_url(url: str | None) -> str | None:
    """The URL as printed: a password in its userinfo becomes *** (user:***@host), a lone user name too."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a URL that cannot be parsed)"
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, has_password, _ = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}" if has_password else f"***@{host}"))


@callers_cli.command("rotate-key")
@click.argument("name")
def rotate_key(name: str) -> None:
    """Issue a new API key; the old one stops working at once."""
    creds = _run(callers.rotate_key, name)
    _emit({"caller_id": creds.caller_id, "name": name, "api_key": creds.api_key})


@callers_cli.command("rotate-secret")
@click.argument("name")
def rotate_secret(name: str) -> None:
    """Issue a new callback signing secret; the old one stays valid for 24 hours."""
    creds = _run(callers.rotate_secret, name)
    _emit({"caller_id": creds.caller_id, "name": name, "webhook_secret": creds.webhook_secret})


@callers_cli.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Revoke a caller's access."""
    caller = _run(callers.disable, name)
    _emit({"caller_id": caller.id, "name": name, "active": caller.active})


@callers_cli.command("redeliver")
@click.argument("name")
@click.option("--since", required=True, type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="Redeliver what failed since this UTC time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS).")  # fmt: skip
def redeliver(name: str, since) -> None:
    """Send again every callback of this caller that failed or was stopped since a given time."""
    caller = _run(callers.find_by_name, name)
    again = history.redeliver_failed(db.session, caller.id, since.replace(tzinfo=UTC))
    db.session.commit()
    _emit({"caller": name, "redelivered": [d.public_id for d in again]})


@click.command("reconcile")
@with_appcontext
def reconcile() -> None:
    """Run one self-healing sweep now and enqueue every poll that is due."""
    from workers import jobs

    recovered = jobs.sweep()
    polls = jobs.enqueue_due_polls()
    db.session.remove()
    _emit({"recovered": recovered, "polls_enqueued": polls})
