"""Periodic work, declared as data: what the clock enqueues, on which queue, how often."""

from dataclasses import dataclass

from app.config import Settings
from app.queues import DEFAULT


@dataclass(frozen=True)
class Periodic:
    """One periodic job."""

    name: str
    function: str
    queue: str
    interval: int


def schedule(settings: Settings) -> list[Periodic]:
    """The clock's timetable for these settings."""
    return [Periodic("sweep", "workers.jobs.sweep", DEFAULT, settings.sweep_interval)]
