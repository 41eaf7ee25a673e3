"""What every operator command shares: one JSON document on stdout, and rule violations as a clean error."""

import json

import click

from app.database import unit_of_work
from app.domain.errors import DomainError


def emit(payload: dict) -> None:
    """Print one JSON document."""
    click.echo(json.dumps(payload, indent=2))


def run_action(action, *args, **kwargs):
    """Run a domain action in one unit of work; a rule violation rolls it back and exits 1 with its detail."""
    try:
        with unit_of_work() as session:
            return action(session, *args, **kwargs)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
