"""The job registry: every job is a real function RQ can import by its path, on a named queue."""

import ast
import importlib
from pathlib import Path

from app import jobs, queues

ROOT = Path(__file__).resolve().parent.parent


def test_every_registered_job_resolves_by_its_import_path():
    """The path RQ stores for each job imports back to that very job, with its queue and timeout."""
    assert {queues.path_of(spec.function) for spec in queues.REGISTRY.values()} >= {
        "app.jobs.submit_motion", "app.jobs.dispatch_now", "app.jobs.process_jogg_events",
        "app.jobs.poll_motion", "app.jobs.deliver", "app.jobs.resolve_doubts",
    }  # fmt: skip
    for path, spec in queues.REGISTRY.items():
        module_name, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module_name), name) is spec.function
        assert spec.queue in queues.ALL_QUEUES and spec.timeout > 0


def test_every_periodic_task_and_nudge_names_a_real_function(settings):
    """The clock's timetable and the nudges point at module-level functions of app.jobs."""
    for task in jobs.schedule(settings):
        assert getattr(jobs, task.function.__name__) is task.function and task.interval > 0
    for function in jobs.NUDGED.values():
        assert queues.spec_of(function).queue in queues.ALL_QUEUES


def test_queue_names_in_the_code_are_the_constants():
    """No job is enqueued by a dotted string, and every queue is named by its constant in app.queues."""
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("workers/*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.startswith(("workers.jobs.", "app.jobs.")), f"{path}: job named by a string"
            if isinstance(node, ast.keyword) and node.arg == "queue" and path.name != "queues.py":
                assert isinstance(node.value, ast.Name) and node.value.id in ("DEFAULT", "JOGG", "CALLBACKS"), path
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Queue":
                first = node.args[0] if node.args else None
                assert not isinstance(first, ast.Constant), f"{path}: a queue named by a literal"


def test_an_unknown_queue_is_refused():
    """Registering a job on a queue that is not a constant fails at import time, not in production."""
    import pytest

    with pytest.raises(ValueError):
        queues.job(queue="emails")
