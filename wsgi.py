"""The web process's entry point for gunicorn: the app, with production logging configured."""

from app import create_app
from app.logs import configure_logging

app = create_app()
configure_logging(app.config["SETTINGS"])
