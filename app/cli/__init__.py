"""The operator CLI under `flask`: one module per command group, each command one unit of work."""

from flask import Flask

from app.cli.callers import callers_cli
from app.cli.credits import credits_cli
from app.cli.jogg import jogg_cli
from app.cli.motions import motions_cli
from app.cli.reconcile import reconcile
from app.cli.retention import retention_cli

COMMANDS = (callers_cli, motions_cli, retention_cli, reconcile, jogg_cli, credits_cli)


def register(app: Flask) -> None:
    """Add every command group to `flask`."""
    for command in COMMANDS:
        app.cli.add_command(command)
