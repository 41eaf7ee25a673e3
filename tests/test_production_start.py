"""`make start`: the release step to completion, then web, two workers and the clock; web binds BIND."""

import os
import runpy
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dry_run(*args: str) -> list[str]:
    """The commands `make start` would run (make -n), outside any outer make."""
    outer_make = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}  # set when the suite runs under make test
    environment = {name: value for name, value in os.environ.items() if name not in outer_make}
    command = ["make", "--no-print-directory", "-n", "start", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, env=environment)
    return done.stdout.splitlines()


def test_release_runs_to_completion_before_the_long_running_processes():
    """The Procfile's release line runs alone first; honcho then starts web, two workers and the clock, not release."""
    release = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("release:"))
    *_, migrate, start = dry_run()
    assert migrate.endswith(f".venv/bin/honcho run {release.split(':', 1)[1].strip()}")
    assert start.endswith(".venv/bin/honcho start --concurrency worker=2 web worker clock")
    assert '.venv/bin:$PATH"' in migrate and '.venv/bin:$PATH" exec' in start  # gunicorn found without an active venv


def test_workers_can_be_scaled():
    """`make start WORKERS=4` runs four workers."""
    assert dry_run("WORKERS=4")[-1].endswith("honcho start --concurrency worker=4 web worker clock")


@pytest.mark.parametrize(
    ("environment", "bind"),
    [
        ({}, ["0.0.0.0:8000"]),
        ({"PORT": "8200"}, ["0.0.0.0:8200"]),
        ({"PORT": "8200", "BIND": "127.0.0.1:9000"}, ["127.0.0.1:9000"]),
        ({"BIND": "127.0.0.1:9000,[::1]:9000, unix:/run/m"}, ["127.0.0.1:9000", "[::1]:9000", "unix:/run/m"]),
    ],
)
def test_web_binds_bind_else_every_interface_on_port(monkeypatch, environment, bind):
    """gunicorn.conf.py listens where BIND says, else on 0.0.0.0:$PORT (8000)."""
    monkeypatch.delenv("BIND", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == bind
