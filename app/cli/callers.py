"""`flask callers ...`: creating and managing the services allowed to call the API."""

from datetime import UTC
from urllib.parse import urlsplit, urlunsplit

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.output import emit, run_action
from app.database import unit_of_work
from app.domain import callers, credits
from app.domain import notification_history as history
from app.models import CallbackEndpoint, Caller
from app.notifications.url_safety import UnsafeCallbackUrl, check_callback_url

MIN_WEIGHT, MAX_WEIGHT = 1, 100
MAX_QUOTA = 2**31 - 1  # callers.quota_credits is a 32-bit INTEGER column

callers_cli = AppGroup("callers", help="Create and manage the services allowed to call the API.")


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
    creds = run_action(callers.create_caller, name, checked_callback_url(callback_url))
    emit({"caller_id": creds.caller_id, "name": name, "api_key": creds.api_key, "webhook_secret": creds.webhook_secret})


@callers_cli.command("list")
def list_callers() -> None:
    """List callers (never their keys or secrets, nor a password in a callback URL)."""
    with unit_of_work() as session:
        disabled = _disabled_urls(session)
        rows = session.scalars(select(Caller).order_by(Caller.id))
        listed = [_listed(caller, disabled.get(caller.id, [])) for caller in rows]
    emit({"callers": listed})
    for caller_id, urls in disabled.items():
        for entry in urls:
            click.echo(
                f"WARNING: caller {caller_id} callback URL disabled: {entry['url']} ({entry['reason']})", err=True
            )


def _listed(caller: Caller, disabled_urls: list[dict]) -> dict:
    """One caller as listed."""
    return {
        "caller_id": caller.id,
        "name": caller.name,
        "active": caller.active,
        "api_key_prefix": caller.api_key_prefix,
        "default_callback_url": shown_url(caller.default_callback_url),
        "created_at": caller.created_at.isoformat(),
        "weight": caller.weight,
        "quota": _quota(caller.quota_credits, caller.quota_period),
        "disabled_callback_urls": disabled_urls,
    }


def _disabled_urls(session: Session) -> dict[int, list[dict]]:
    """Each caller's disabled callback URLs (as printed), with why and since when."""
    disabled: dict[int, list[dict]] = {}
    for endpoint in session.scalars(select(CallbackEndpoint).where(CallbackEndpoint.disabled_at.is_not(None))):
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
    creds = run_action(callers.rotate_key, name)
    emit({"caller_id": creds.caller_id, "name": name, "api_key": creds.api_key})


@callers_cli.command("rotate-secret")
@click.argument("name")
def rotate_secret(name: str) -> None:
    """Issue a new callback signing secret; the old one stays valid for 24 hours."""
    creds = run_action(callers.rotate_secret, name)
    emit({"caller_id": creds.caller_id, "name": name, "webhook_secret": creds.webhook_secret})


@callers_cli.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Revoke a caller's access."""
    caller = run_action(callers.disable, name)
    emit({"caller_id": caller.id, "name": name, "active": caller.active})


@callers_cli.command("redeliver")
@click.argument("name")
@click.option("--since", required=True, type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="Redeliver what failed since this UTC time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS).")  # fmt: skip
def redeliver(name: str, since) -> None:
    """Send again every callback of this caller that failed or was stopped since a given time."""
    again = run_action(_redeliver, name, since.replace(tzinfo=UTC))
    emit({"caller": name, "redelivered": again})


def _redeliver(session: Session, name: str, since) -> list[str]:
    """Queue again the named caller's failed or stopped deliveries since a time; their new public ids."""
    caller = callers.find_by_name(session, name)
    return [again.public_id for again in history.redeliver_failed(session, caller.id, since)]


@callers_cli.command("set-quota")
@click.argument("name")
@click.option("--credits", "quota", type=click.IntRange(1, MAX_QUOTA),
              help="Credits the caller may spend per period.")  # fmt: skip
@click.option("--per", "period", type=click.Choice(credits.PERIODS), help="The quota period (UTC day or month).")
@click.option("--none", "remove", is_flag=True, help="Remove the caller's quota.")
def set_quota(name: str, quota: int | None, period: str | None, remove: bool) -> None:
    """Cap what a caller may spend per UTC day or month (--none removes the cap)."""
    if remove == (quota is not None) or (quota is None) != (period is None):
        raise click.UsageError("give --credits N --per day|month, or --none")
    caller = run_action(_set_quota, name, quota, period)
    emit({"caller_id": caller.id, "name": name, "quota": _quota(quota, period)})


def _quota(quota: int | None, period: str | None) -> dict | None:
    """A quota as printed, or None when there is none."""
    return None if quota is None else {"credits": quota, "per": period}


def _set_quota(session: Session, name: str, quota: int | None, period: str | None) -> Caller:
    """Store (or clear) the named caller's quota."""
    caller = callers.find_by_name(session, name)
    caller.quota_credits, caller.quota_period = quota, period
    return caller


@callers_cli.command("set-weight")
@click.argument("name")
@click.argument("weight", type=click.IntRange(MIN_WEIGHT, MAX_WEIGHT))
def set_weight(name: str, weight: int) -> None:
    """Set a caller's share of POST slots while several callers wait (1 to 100, default 1)."""
    caller = run_action(_set_weight, name, weight)
    emit({"caller_id": caller.id, "name": name, "weight": weight})


def _set_weight(session: Session, name: str, weight: int) -> Caller:
    """Store the named caller's weight."""
    caller = callers.find_by_name(session, name)
    caller.weight = weight
    return caller
