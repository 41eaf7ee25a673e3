"""`make run`'s banner and `make flask ARGS=...` (flask commands with make run's settings, from any folder)."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.config import load_settings
from app.models import Caller
from devstack import cli
from devstack.run import DEV_ENV, banner

ROOT = Path(__file__).resolve().parent.parent


def test_make_flask_runs_the_devstack_cli():
    """The make target hands ARGS to devstack.cli, word for word."""
    outer_make = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}  # set when the suite runs under make test
    environment = {name: value for name, value in os.environ.items() if name not in outer_make}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "flask", 'ARGS=callers create x --callback-url http://svc/h'],
        cwd=ROOT, capture_output=True, text=True, check=True, env=environment,
    ).stdout  # fmt: skip
    assert dry_run.splitlines()[-1] == ".venv/bin/python -m devstack.cli callers create x --callback-url http://svc/h"


def test_devstack_settings_are_make_runs():
    """The command gets the development settings make run starts its processes with."""
    assert DEV_ENV["APP_ENV"] == "development"
    assert DEV_ENV["DATABASE_URL"] == f"sqlite:///{ROOT / 'instance' / 'motion-gateway.db'}"


def test_a_command_reaches_the_given_stack(database_url, redis_url, app, session, monkeypatch, tmp_path, capsys):
    """`callers create` through devstack.cli writes to the stack's database, whatever folder it starts in."""
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the command's settings stay in this test
    monkeypatch.chdir(tmp_path)
    stack = {**DEV_ENV, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with pytest.raises(SystemExit) as exited:
        cli.main(["callers", "create", "via-make-flask"], environment=stack)
    assert exited.value.code in (0, None)
    created = json.loads(capsys.readouterr().out)
    assert session.scalars(select(Caller.id).where(Caller.name == "via-make-flask")).one() == created["caller_id"]
    assert os.environ["APP_ENV"] == "development" and os.environ["FLASK_SKIP_DOTENV"] == "1"


def test_the_banner_gives_the_ops_url_and_a_token_that_opens_it(settings, monkeypatch):
    """The banner names /ops and its token; that token opens the page on an app with make run's settings."""
    text = banner("mgw_demo")
    url, token = re.search(r"operators\s+(\S+/ops)\s+\(log in with the token (\S+);", text).groups()
    assert url == "http://127.0.0.1:8000/ops" and f"Authorization: Bearer {token}" in text
    for name, value in DEV_ENV.items():
        monkeypatch.setenv(name, value)
    stack = load_settings().with_overrides(database_url=settings.database_url, redis_url=settings.redis_url)
    client = create_app(stack).test_client()
    assert client.get("/ops/data.json", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/ops/login", data={"token": token}).status_code in (302, 303)
