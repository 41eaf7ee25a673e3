"""Logging set-up for every process."""

import logging

from app.config import Settings


def configure_logging(settings: Settings) -> None:
    """Plain readable logs at the configured level."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
