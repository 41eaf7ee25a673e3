"""Periodic work, declared as data: what the clock runs and how often."""

from dataclasses import dataclass

from app.config import Settings


@dataclass(frozen=True)
class Periodic:
    """One periodic task: a function (its dotted path) run every `interval` seconds."""

    name: str
    function: str
    interval: float


def schedule(settings: Settings) -> list[Periodic]:
    """The clock's timetable for these settings."""
    return [
        Periodic("dispatch", "workers.jobs.dispatch", settings.dispatch_interval),
        Periodic("polls", "workers.jobs.enqueue_due_polls", 1.0),
        Periodic("submissions", "workers.doubt.watch_submissions", 1.0),
        Periodic("deliveries", "workers.jobs.enqueue_due_deliveries", 1.0),
        Periodic("probe", "workers.jobs.probe_account", min(settings.jogg_probe_interval, 5.0)),
        Periodic("sweep", "workers.jobs.sweep", settings.sweep_interval),
    ]
