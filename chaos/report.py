"""Judge a chaos run, and write its results into docs/RELIABILITY.md between per-mode (or per-run) markers."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELIABILITY = ROOT / "docs" / "RELIABILITY.md"

SKELETON = """# Reliability: chaos runs

Generated sections below are rewritten by `make chaos` / `python -m chaos [--short]`.

<!-- chaos:full:begin -->
<!-- chaos:full:end -->

<!-- chaos:short:begin -->
<!-- chaos:short:end -->
"""


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def section(meta: dict, results: list) -> str:
    plan = meta["plan"]
    lines = [
        f"### Latest {meta['mode']} run: {meta['date']}, commit `{meta['commit']}`, {meta['seconds']} s in all",
        "",
        f"Command: `{meta['command']}`. Plan: {plan.motions} motions per scenario from 3 callers over "
        f"{plan.post_seconds:g} s; drain limit {plan.drain_timeout:g} s.",
        "",
        "| scenario | result | motions | faults injected | time to drain | duplicates | losses | exceptions (reason) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    details = []
    for r in results:
        v = r.verdict
        if v is None:
            lines.append(
                f"| {r.key}: {_cell(r.title)} | **ERROR** | {r.motions} | {_cell('; '.join(r.faults))} "
                f"| - | - | - | {_cell(r.error)} |"
            )
            continue
        m = v.metrics
        drain = f"{r.drain_seconds:.1f} s" if r.drain_seconds is not None else "did not drain"
        created = m.get("jogg_created_per_request", {})
        dups = (f"{m['double_submissions']} double submissions (JoggAI created once: {created.get('once')}, never: "
                f"{created.get('never')}); {m['callback_duplicates']} callback re-sends "
                f"(de-duplicated by webhook-id)")  # fmt: skip
        losses = f"{m['events_lost']} of {m['events']} callback events never received"
        reasons: dict[str, int] = {}
        for reason in v.exceptions.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        exc = "; ".join(f"{n} × {reason}" for reason, n in reasons.items()) or "none"
        result = "PASS" if r.passed else "**FAIL**"
        lines.append(f"| {r.key}: {_cell(r.title)} | {result} | {r.motions} ({_cell(m['statuses'])}) | "
                     f"{_cell('; '.join(r.faults))} | {drain} | {_cell(dups)} | {_cell(losses)} "
                     f"| {_cell(exc)} |")  # fmt: skip
        details.append(
            f"- **{r.key}**: API answers {m['api_statuses']}; sandbox add_motion calls {m['add_motion_calls']}, "
            f"created {m['jogg_created']}, 5xx {m['sandbox_5xx']}, hangs {m['sandbox_hangs']}, webhooks dropped "
            f"{m['webhooks_dropped']} / duplicated {m['webhooks_duplicated']}; JoggAI events {m['jogg_events']}; "
            f"deliveries {m['deliveries']}; submissions in doubt: {m.get('doubt_actions')}, "
            f"left in doubt or interrupted {m.get('in_doubt_or_interrupted')}; "
            f"orphaned RQ started-registry entries {m['orphan_started_entries']}; "
            f"wall time {r.wall_seconds:.0f} s" + (f"; failures: {_cell(' / '.join(v.failures))}" if v.failures else "")
        )
    return "\n".join(lines + ["", *details, ""])


def write_report(path: Path, meta: dict, results: list) -> None:
    write_section(path, meta["mode"], section(meta, results))


def write_section(path: Path, marker: str, body: str) -> None:
    """Put body between `<!-- chaos:{marker}:begin -->` and its end marker (added at the end if missing)."""
    text = path.read_text() if path.exists() else SKELETON
    begin, end = f"<!-- chaos:{marker}:begin -->", f"<!-- chaos:{marker}:end -->"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: f"{begin}\n{body}\n{end}", text)
    path.write_text(text)


@contextmanager
def judged_run(result, stack, *others, started: float | None = None) -> Iterator[None]:
    """One chaos run: a crash is a failure, the logs are kept when it failed, and every process set is stopped.

    `result` has `failures`, `passed`, `logs` and `wall_seconds`; `others` (stopped first) and `stack` have
    `stop()`; the stack's `keep_logs` and `run_dir` say whether and where its logs stay.
    """
    started = time.monotonic() if started is None else started
    try:
        yield
    except Exception as exc:  # noqa: BLE001  (a crashed run is a failed run, reported)
        result.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        result.passed = not result.failures
        if not result.passed:
            stack.keep_logs = True
            result.logs = str(stack.run_dir)
        for part in (*others, stack):
            part.stop()
        result.wall_seconds = round(time.monotonic() - started, 1)


def run_meta(command: str) -> dict:
    """When, at which commit and by which command a run was made (the code under test is the checkout)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit.stdout.strip(),
            "command": command}  # fmt: skip


def write_run_row(marker: str, meta: dict, header: list[str], cells: list, path: Path = RELIABILITY) -> None:
    """A full run's results as a one-row table under its own heading, between its markers."""
    body = [f"#### `{meta['command']}`: {meta['date']}, commit `{meta['commit']}`", "",
            "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            "| " + " | ".join(_cell(c) for c in cells) + " |"]  # fmt: skip
    write_section(path, marker, "\n".join(body))
