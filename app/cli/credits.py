"""`flask credits report`: credits and motions per caller, model and UTC day, as a table, JSON or CSV."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import click
from flask.cli import AppGroup

from app.cli.output import emit
from app.database import unit_of_work
from app.domain import usage
from app.models.types import utcnow

credits_cli = AppGroup("credits", help="Report the JoggAI credits callers spent.")

MAX_DAYS = 3660  # ten years back is the furthest a report reaches
RELATIVE = re.compile(r"([0-9]{1,4})d", re.ASCII)
ABSOLUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
COLUMNS = ("caller", "day", "model", "motions", "credits")


class Since(click.ParamType):
    """How far back: Nd (N days, today included) or a UTC day YYYY-MM-DD; the first day of the report."""

    name = "Nd|YYYY-MM-DD"

    def convert(self, value, param, ctx):
        """The first UTC day reported, or a usage error (exit status 2) saying which forms are accepted."""
        if isinstance(value, date):
            return value
        today = utcnow().date()
        text = value if isinstance(value, str) else ""
        if match := RELATIVE.fullmatch(text):
            days = int(match.group(1))
            if 1 <= days <= MAX_DAYS:
                return today - timedelta(days=days - 1)
        elif ABSOLUTE.fullmatch(text):
            try:
                day = date.fromisoformat(text)
            except ValueError:
                self.fail(f"{text} is not a calendar day", param, ctx)
            if today - timedelta(days=MAX_DAYS) <= day <= today:
                return day
        self.fail(f"expected Nd (1 to {MAX_DAYS} days, e.g. 30d) or a past UTC day YYYY-MM-DD", param, ctx)


@credits_cli.command("report")
@click.option("--since", "first", type=Since(), default="30d", show_default=True,
              help="First day reported: Nd (the last N days, today included) or YYYY-MM-DD (UTC).")  # fmt: skip
@click.option("--format", "form", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def report(first: date, form: str) -> None:
    """Credits and motions per caller, model and UTC day (charged motions by charge day, reused ones for 0)."""
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    with unit_of_work() as session:
        found = usage.rows(session, since, usage.day_start(utcnow().date() + timedelta(days=1)))
    lines = [{column: getattr(row, column) for column in COLUMNS} for row in found]
    if form == "json":
        totals = {"credits": sum(r.credits for r in found), "motions": sum(r.motions for r in found)}
        emit({"since": first.isoformat(), "rows": lines, "total": totals})
    elif form == "csv":
        click.echo(as_csv(lines), nl=False)
    else:
        click.echo(as_table(lines, first))


def as_csv(lines: list[dict]) -> str:
    """The rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "caller": _inert_in_a_spreadsheet(row["caller"])} for row in lines)
    return out.getvalue()


def as_table(lines: list[dict], first: date) -> str:
    """The rows as aligned columns, with a total line."""
    if not lines:
        return f"no credits spent since {first.isoformat()}"
    total = {"caller": "total", "day": "", "model": "", "motions": sum(r["motions"] for r in lines),
             "credits": sum(r["credits"] for r in lines)}  # fmt: skip
    cells = [list(COLUMNS)] + [[str(row[c]) for c in COLUMNS] for row in [*lines, total]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join(_line(row, widths) for row in cells)


def _line(cells: list[str], widths: list[int]) -> str:
    """One table line: text left-aligned, the two counts right-aligned."""
    padded = [cell.rjust(w) if i >= 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(cells, widths, strict=True))]
    return "  ".join(padded).rstrip()


def _inert_in_a_spreadsheet(text: str) -> str:
    """A caller name a spreadsheet cannot run as a formula: one starting with = + - @ or a tab gets a leading '."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
