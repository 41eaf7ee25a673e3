"""JoggClient's error mapping: business codes, both error conventions, timeouts and lost answers."""

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from app.jogg import (
    BadCredentials,
    BadRequest,
    JoggClient,
    JoggError,
    NoPermission,
    NoSuchRecord,
    OutOfCredit,
    RateLimited,
    RetryableError,
    UnknownOutcome,
)
from app.jogg.envelope import retry_after
from tests.jogg.conftest import API_KEY, MOTION


def raised(call):
    """Run `call`, which must raise a JoggError, and return the error."""
    with pytest.raises(JoggError) as info:
        call()
    return info.value


def test_a_wrong_key_is_bad_credentials(start_jogg, errors_as_http_200):
    """10105 maps to BadCredentials whichever way the error travels."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200, api_key="not-the-key")
    error = raised(client.remaining_quota)
    assert type(error) is BadCredentials and error.jogg_code == 10105
    assert error.http_status == (200 if errors_as_http_200 else 401) and not error.retryable


def test_no_permission_is_a_kind_of_bad_credentials(start_jogg, errors_as_http_200):
    """18025 maps to NoPermission, a BadCredentials."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200, permission_denied=True)
    error = raised(lambda: client.add_motion(**MOTION))
    assert isinstance(error, NoPermission) and isinstance(error, BadCredentials) and error.jogg_code == 18025


def test_a_parameter_error_is_bad_request_with_joggai_message(start_jogg, errors_as_http_200):
    """40000 maps to BadRequest whose message is JoggAI's msg naming the field."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200)
    error = raised(lambda: client.add_motion(**{**MOTION, "model": "9.0"}))
    assert type(error) is BadRequest and error.jogg_code == 40000
    assert error.message.startswith("model") and not error.retryable


def test_no_credit_is_out_of_credit(start_jogg, errors_as_http_200):
    """18020 maps to OutOfCredit."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200, credits=1)
    error = raised(lambda: client.add_motion(**MOTION))
    assert type(error) is OutOfCredit and error.jogg_code == 18020 and not error.retryable


def test_an_unknown_motion_is_not_found(start_jogg, errors_as_http_200):
    """10104 maps to NoSuchRecord."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200)
    error = raised(lambda: client.motion_status("no-such-motion"))
    assert type(error) is NoSuchRecord and error.jogg_code == 10104


def test_429_is_rate_limited_and_retryable(start_jogg, errors_as_http_200):
    """429 maps to RateLimited, a RetryableError, without retry_after when no header came."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200, rate_limit=1)
    client.add_motion(**MOTION)
    error = raised(lambda: client.add_motion(**MOTION))
    assert isinstance(error, RateLimited) and isinstance(error, RetryableError)
    assert error.jogg_code == 429 and error.retry_after is None


def test_rate_limited_carries_retry_after_when_sent(start_jogg):
    """A Retry-After header becomes retry_after seconds."""
    client, _ = start_jogg(rate_limit=1, rate_window_seconds=30, rate_limit_headers=True)
    client.add_motion(**MOTION)
    error = raised(lambda: client.add_motion(**MOTION))
    assert isinstance(error, RateLimited) and 0 < error.retry_after <= 30


def test_system_error_is_retryable_but_not_an_unknown_outcome(start_jogg, errors_as_http_200):
    """50000 is a RetryableError: JoggAI answered, so nothing was created."""
    client, _ = start_jogg(errors_as_http_200=errors_as_http_200, business_error_rate=1.0)
    error = raised(lambda: client.add_motion(**MOTION))
    assert type(error) is RetryableError and error.jogg_code == 50000


def test_an_html_5xx_is_retryable(start_jogg):
    """A proxy's HTML 502 (not JSON) is a RetryableError with the HTTP status and no code."""
    client, _ = start_jogg(error_rate=1.0)
    error = raised(lambda: client.add_motion(**MOTION))
    assert type(error) is RetryableError and (error.http_status, error.jogg_code) == (502, None)


def test_a_read_timeout_on_add_motion_is_an_unknown_outcome(start_jogg):
    """When the answer hangs past the read timeout the motion may exist: UnknownOutcome."""
    client, run = start_jogg(read_timeout=0.2, hang_rate=1.0, hang_seconds=1.0)
    error = raised(lambda: client.add_motion(**MOTION))
    assert isinstance(error, UnknownOutcome) and error.retryable
    assert run.state.stats_snapshot()["motions_created"] == 1  # it did happen


def test_a_dropped_connection_after_sending_is_an_unknown_outcome(hang_up_server):
    """The server read the POST and hung up: the request may have been acted on."""
    client = JoggClient(hang_up_server, API_KEY, connect_timeout=1, read_timeout=2)
    assert isinstance(raised(lambda: client.add_motion(**MOTION)), UnknownOutcome)


def test_a_dropped_connection_on_a_get_is_plainly_retryable(hang_up_server):
    """A GET creates nothing, so a lost answer is just retryable."""
    client = JoggClient(hang_up_server, API_KEY, connect_timeout=1, read_timeout=2)
    error = raised(lambda: client.motion_status("m1"))
    assert isinstance(error, RetryableError) and not isinstance(error, UnknownOutcome)


def test_a_connect_error_is_retryable_but_surely_not_sent(closed_port):
    """Nothing listening: RetryableError, never UnknownOutcome, even for add_motion."""
    client = JoggClient(f"http://127.0.0.1:{closed_port}", API_KEY, connect_timeout=1)
    error = raised(lambda: client.add_motion(**MOTION))
    assert isinstance(error, RetryableError) and not isinstance(error, UnknownOutcome)


def test_the_key_never_shows_in_errors(start_jogg, closed_port, hang_up_server):
    """str, repr and args of every kind of error are free of the API key."""
    client, _ = start_jogg(permission_denied=True)
    errors = [
        raised(lambda: client.add_motion(**MOTION)),
        raised(JoggClient(f"http://127.0.0.1:{closed_port}", API_KEY).remaining_quota),
        raised(lambda: JoggClient(hang_up_server, API_KEY, read_timeout=1).add_motion(**MOTION)),
    ]
    for error in errors:
        assert API_KEY not in str(error) and API_KEY not in repr(error) and API_KEY not in str(error.args)
        assert error.__cause__ is None and error.__suppress_context__


def test_a_key_echoed_by_joggai_is_redacted(httpserver):
    """If JoggAI's msg repeats the key, the error message blanks it out."""
    body = {"code": 10105, "msg": f"invalid API key {API_KEY}", "data": None, "rid": "r1"}
    httpserver.expect_request("/v2/user/remaining_quota").respond_with_json(body, status=401)
    error = raised(JoggClient(httpserver.url_for(""), API_KEY).remaining_quota)
    assert API_KEY not in str(error) and "[redacted]" in error.message


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (503, {"code": 0, "msg": "ok", "data": None}, RetryableError),  # the HTTP status alone says error
        (401, {"code": 0, "msg": "?", "data": None}, BadCredentials),
        (200, {"code": 12345, "msg": "new code", "data": None}, JoggError),  # unknown codes are not retried
        (500, {"code": 12345, "msg": "new code", "data": None}, RetryableError),
        (404, "<html>not found</html>", JoggError),  # a wrong base URL: retrying will not help
        (200, "<html>portal</html>", RetryableError),  # a GET reached something odd: try again
    ],
)
def test_either_signal_can_carry_the_error(httpserver, status, body, kind):
    """The HTTP status and the envelope code are both checked; the code wins when both speak."""
    answer = json.dumps(body) if isinstance(body, dict) else body
    httpserver.expect_request("/v2/user/remaining_quota").respond_with_data(answer, status=status)
    error = raised(JoggClient(httpserver.url_for(""), API_KEY).remaining_quota)
    assert type(error) is kind and error.http_status == status


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (200, "<html>ok?</html>"),  # something said yes, in a language we cannot read
        (200, json.dumps({"code": 0, "msg": "success", "data": {}, "rid": "r"})),  # yes, but no motion_id
        (504, "<html>Gateway Timeout</html>"),  # the proxy stopped waiting for JoggAI
    ],
)
def test_unreadable_answers_to_add_motion_are_unknown_outcomes(httpserver, status, answer):
    """A POST answered with something we cannot trust may still have created the motion."""
    httpserver.expect_request("/v2/photo_avatar/add_motion").respond_with_data(answer, status=status)
    error = raised(lambda: JoggClient(httpserver.url_for(""), API_KEY).add_motion(**MOTION))
    assert isinstance(error, UnknownOutcome)


def test_a_read_timeout_on_a_get_is_plainly_retryable(httpserver):
    """A slow status check is retryable and not an unknown outcome."""
    httpserver.expect_request("/v2/photo_avatar").respond_with_handler(lambda request: time.sleep(0.5))
    error = raised(lambda: JoggClient(httpserver.url_for(""), API_KEY, read_timeout=0.1).motion_status("m1"))
    assert isinstance(error, RetryableError) and not isinstance(error, UnknownOutcome)


def test_redirects_are_not_followed(httpserver):
    """A redirect on a POST is an error, never a silent switch to GET."""
    httpserver.expect_request("/v2/photo_avatar/add_motion").respond_with_data(
        "", status=301, headers={"Location": "/elsewhere"}
    )
    error = raised(lambda: JoggClient(httpserver.url_for(""), API_KEY).add_motion(**MOTION))
    assert type(error) is JoggError and error.http_status == 301


def test_retry_after_reads_seconds_and_http_dates():
    """Retry-After as delta-seconds or an HTTP date; junk gives None."""
    assert retry_after("7") == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(later) <= 30
    assert retry_after(None) is None and retry_after("soon") is None


def test_errors_say_code_http_status_and_request_id(start_jogg):
    """str(error) carries the code, HTTP status and JoggAI's rid for support."""
    client, _ = start_jogg()
    text = str(raised(lambda: client.motion_status("nope")))
    assert "code 10104" in text and "HTTP 404" in text and "rid " in text
