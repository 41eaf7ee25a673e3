"""Generated hostile arguments to the operator CLI: a clean error or an intact result, never a traceback."""

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.strategies import HOSTILE, hostile_text

# What a shell can pass: text without NUL (argv cannot hold it), though Python may see lone surrogates.
argument = hostile_text.map(lambda text: text.replace("\x00", ""))
odd_url = st.one_of(
    argument,
    st.sampled_from(["file:///etc/passwd", "gopher://x", "http://127.0.0.1/x", "http://[::1]/", "http://a\x01b/"]),
)


def run(app, *args: str):
    """Invoke `flask <args>` in-process; the result must not be an unhandled exception."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


@HOSTILE
@given(name=hostile_text)
def test_callers_create_any_name(app, name):
    """Any name (NUL, control characters, surrogates, very long): refused cleanly, or created and listed intact."""
    result = run(app, "callers", "create", name)
    if result.exit_code == 0:
        listed = json.loads(run(app, "callers", "list").output)["callers"]
        assert name in [caller["name"] for caller in listed]


@HOSTILE
@given(command=st.sampled_from(["rotate-key", "rotate-secret", "disable"]), name=hostile_text)
def test_caller_commands_with_any_name(app, command, name):
    """rotate-key, rotate-secret and disable with any name: 'no caller' or done, never a traceback."""
    run(app, "callers", command, name)


@HOSTILE
@given(name=argument, url=odd_url)
def test_callers_create_with_any_callback_url(app, name, url):
    """An odd --callback-url is refused with a message, or stored as given."""
    run(app, "callers", "create", name or "x", "--callback-url", url)


@HOSTILE
@given(command=st.sampled_from(["show", "requeue", "fail"]), motion_id=hostile_text, reason=hostile_text)
def test_motion_commands_with_any_id_and_reason(app, command, motion_id, reason):
    """motions show, requeue and fail with an odd id and reason: 'no motion' or done, never a traceback."""
    run(app, "motions", command, motion_id, *(["--reason", reason] if command != "show" else []))


@HOSTILE
@given(since=st.one_of(argument, st.integers(-(10**6), 10**6).map(lambda n: f"{n}d")),
       form=st.one_of(st.sampled_from(["table", "json", "csv"]), argument))  # fmt: skip
def test_credits_report_with_any_since_and_format(app, since, form):
    """credits report with any --since and --format: a report, or exit 2 naming what is accepted."""
    result = run(app, "credits", "report", "--since", since, "--format", form)
    assert result.exit_code in (0, 2), (since, form, result.output)


number = st.one_of(argument, st.integers(-(10**40), 10**40).map(str), st.integers(2**31 - 2, 2**31 + 1).map(str))


@HOSTILE
@given(name=st.one_of(st.just("quota-target"), argument), credits=number,
       period=st.one_of(st.sampled_from(["day", "month"]), argument), weight=number)  # fmt: skip
def test_quota_and_weight_with_any_arguments(app, name, credits, period, weight):
    """set-quota and set-weight with any name and number (past 2**31 too): done (0), no caller (1) or refused (2)."""
    run(app, "callers", "create", "quota-target")
    for args in (["set-quota", name or "quota-target", "--credits", credits, "--per", period],
                 ["set-weight", name or "quota-target", weight]):  # fmt: skip
        result = run(app, "callers", *args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
