"""The credit commands: callers set-quota and set-weight, callers list, and credits report."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from app.models import Caller, Motion, Status


def _motion(caller_id, model="2.0", **fields):
    return Motion(caller_id=caller_id, status=Status.COMPLETED, image_url="https://example.com/a.png", name="n",
                  voice_id="v", model=model, **fields)  # fmt: skip


def test_set_quota_then_remove_it(cli, session, make_caller):
    """--credits N --per day stores the quota, callers list shows it, --none removes it."""
    caller_id, _ = make_caller("billing")
    result = cli("callers", "set-quota", "billing", "--credits", "500", "--per", "month")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["quota"] == {"credits": 500, "per": "month"}
    listed = json.loads(cli("callers", "list").stdout)["callers"][0]
    assert (listed["quota"], listed["weight"]) == ({"credits": 500, "per": "month"}, 1)
    assert cli("callers", "set-quota", "billing", "--none").exit_code == 0
    session.expire_all()
    caller = session.get(Caller, caller_id)
    assert (caller.quota_credits, caller.quota_period) == (None, None)


def test_set_quota_refuses_bad_arguments(cli, session, make_caller):
    """Zero, negative, non-integer, unknown period, missing --per, --none with --credits: exit 2, nothing stored."""
    caller_id, _ = make_caller("billing")
    for args in (["--credits", "0", "--per", "day"], ["--credits", "-5", "--per", "day"],
                 ["--credits", "2.5", "--per", "day"], ["--credits", "5", "--per", "week"], ["--credits", "5"],
                 ["--none", "--credits", "5", "--per", "day"], []):  # fmt: skip
        result = cli("callers", "set-quota", "billing", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert session.get(Caller, caller_id).quota_credits is None


def test_set_quota_for_nobody_exits_1(cli):
    """An unknown caller: exit 1 naming it, like the other callers commands."""
    result = cli("callers", "set-quota", "nobody", "--credits", "5", "--per", "day")
    assert result.exit_code == 1 and "no caller named 'nobody'" in result.output


def test_set_weight_within_1_to_100(cli, session, make_caller):
    """A weight from 1 to 100 is stored; 0, 101 and text are refused with exit 2."""
    caller_id, _ = make_caller("render")
    assert cli("callers", "set-weight", "render", "5").exit_code == 0
    for weight in ("0", "101", "-1", "five", "2.0"):
        assert cli("callers", "set-weight", "render", weight).exit_code == 2, weight
    assert cli("callers", "set-weight", "nobody", "5").exit_code == 1
    session.expire_all()
    assert session.get(Caller, caller_id).weight == 5


def _charged(session, make_caller):
    """Two callers' charged and reused motions over the last days."""
    alpha, _ = make_caller("alpha")
    beta, _ = make_caller("beta")
    now = datetime.now(UTC)
    session.add_all([
        _motion(alpha, credits=2, charged_at=now),
        _motion(alpha, credits=2, charged_at=now),
        _motion(alpha, credits=0, created_at=now),  # reused
        _motion(beta, model="2.0-Pro", credits=3, charged_at=now - timedelta(days=2)),
        _motion(beta, credits=2, charged_at=now - timedelta(days=40)),  # before the default 30 days
    ])  # fmt: skip
    session.commit()
    return now.date()


def test_report_per_caller_model_and_day_in_three_formats(cli, session, make_caller):
    """The same numbers as JSON, CSV and a table; --since moves the first day."""
    today = _charged(session, make_caller)
    two_days_ago = (today - timedelta(days=2)).isoformat()
    expected = [
        {"caller": "beta", "day": two_days_ago, "model": "2.0-Pro", "motions": 1, "credits": 3},
        {"caller": "alpha", "day": today.isoformat(), "model": "2.0", "motions": 3, "credits": 4},
    ]
    body = json.loads(cli("credits", "report", "--format", "json").stdout)
    assert body["rows"] == expected and body["total"] == {"credits": 7, "motions": 4}
    rows = list(csv.DictReader(io.StringIO(cli("credits", "report", "--format", "csv").stdout)))
    assert [(r["caller"], int(r["credits"])) for r in rows] == [("beta", 3), ("alpha", 4)]
    table = cli("credits", "report").stdout.splitlines()
    assert table[0].split() == ["caller", "day", "model", "motions", "credits"]
    assert table[-1].split() == ["total", "4", "7"]
    since_yesterday = json.loads(cli("credits", "report", "--since", "2d", "--format", "json").stdout)["rows"]
    assert [row["caller"] for row in since_yesterday] == ["alpha"]
    long_ago = (today - timedelta(days=60)).isoformat()
    assert len(json.loads(cli("credits", "report", "--since", long_ago, "--format", "json").stdout)["rows"]) == 3


def test_report_with_nothing_spent(cli):
    """An empty report says so."""
    result = cli("credits", "report", "--since", "7d")
    assert result.exit_code == 0 and result.stdout.startswith("no credits spent since")


def test_report_refuses_bad_since(cli):
    """Forms other than Nd and a past YYYY-MM-DD: exit 2 with a message naming the accepted forms."""
    for since in ("0d", "30", "30days", "-1d", "99999d", "2026-02-30", "3000-01-01", "yesterday", ""):
        result = cli("credits", "report", "--since", since)
        assert result.exit_code == 2, since
        assert "Nd" in result.output or "calendar day" in result.output, (since, result.output)


def test_report_csv_names_cannot_run_as_formulas(cli, session, make_caller):
    """A caller name starting with = + - or @ gets a leading ' in CSV (shown as text); JSON keeps it."""
    names = ['=HYPERLINK("http://x")', "+1", "-svc", "@sum", "plain"]
    for name in names:
        caller_id, _ = make_caller(name)
        session.add(_motion(caller_id, credits=2, charged_at=datetime.now(UTC)))
    session.commit()
    rows = list(csv.DictReader(io.StringIO(cli("credits", "report", "--format", "csv").stdout)))
    assert sorted(r["caller"] for r in rows) == sorted(["'" + n for n in names[:4]] + ["plain"])
    body = json.loads(cli("credits", "report", "--format", "json").stdout)
    assert sorted(row["caller"] for row in body["rows"]) == sorted(names)
