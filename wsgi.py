"""The web process's entry point for gunicorn: the app, with production logging configured."""

import gc

from app import create_app
from app.logs import configure_logging

app = create_app()
configure_logging(app.config["SETTINGS"])
gc.freeze()  # start-up objects (the app, models, schemas) stay out of every later garbage collection
