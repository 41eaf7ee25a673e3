"""Hostile bytes: random bodies and corrupted images always get a verdict, never an exception."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.preflight import IMAGE_REJECTED, IMAGE_UNREACHABLE, ImageVerdict, check_image
from app.preflight.image import judge_bytes, judge_header
from tests.preflight.conftest import ALLOWED, image_bytes

SEEDS = settings(derandomize=True, deadline=None, max_examples=300)
GOOD = {fmt: image_bytes(640, 800, fmt) for fmt in ("PNG", "JPEG", "WEBP")}


def corrupt(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """Overwrite bytes at the given positions (modulo the length), then optionally truncate."""
    body = bytearray(data)
    for position, value in edits:
        body[position % len(body)] = value
    return bytes(body[:cut] if cut is not None else body)


@SEEDS
@given(st.binary(max_size=4096))
def test_random_bytes_get_a_verdict(data):
    """Any body: a verdict, and one that is never a pass for noise."""
    verdict = judge_bytes(data)
    assert isinstance(verdict, ImageVerdict) and verdict.message
    assert verdict.code in (None, IMAGE_REJECTED)


@SEEDS
@given(
    st.sampled_from(sorted(GOOD)),
    st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8),
    st.none() | st.integers(0, 4096),
)
def test_corrupted_images_get_a_verdict(fmt, edits, cut):
    """Good images with bytes flipped (mostly in the header) and cut anywhere: a verdict, never an exception."""
    verdict = judge_bytes(corrupt(GOOD[fmt], [(p % 256, v) for p, v in edits], cut))
    assert verdict.code in (None, IMAGE_REJECTED) and verdict.message


@SEEDS
@given(st.sampled_from(sorted(GOOD)), st.integers(0, 5000))
def test_every_prefix_of_a_good_image_is_judged_calmly(fmt, length):
    """While a body arrives, the header probe says pass, wait (None) or reject; never raises."""
    verdict = judge_header(GOOD[fmt][:length], complete=False)
    assert verdict is None or verdict.code in (None, IMAGE_REJECTED)


@settings(derandomize=True, deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048) | st.sampled_from(sorted(GOOD)).map(GOOD.get).map(lambda b: b[: len(b) // 2]))
def test_hostile_bodies_over_http_get_a_verdict(httpserver, body):
    """The same through the whole fetch, served by a real local host."""
    httpserver.clear()
    httpserver.expect_request("/hostile").respond_with_data(body, content_type="image/png")
    verdict = check_image(httpserver.url_for("/hostile"), ALLOWED, total_seconds=5.0)
    assert verdict.code in (IMAGE_REJECTED, IMAGE_UNREACHABLE, None) and verdict.message


HOSTILE_LOCATIONS = ["http://[::1", "http://localhost:99999/x", "javascript:alert(1)", "//", "\\\\evil"]


@pytest.mark.parametrize("location", HOSTILE_LOCATIONS)
def test_hostile_redirects_get_a_verdict(httpserver, location, caplog):
    """A Location that is malformed, out of range or not http: unreachable, never followed, no unexpected error."""
    httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": location})
    verdict = check_image(httpserver.url_for("/moved"), ALLOWED, total_seconds=5.0)
    assert verdict.code == IMAGE_UNREACHABLE and "the check itself failed" not in verdict.message
    assert "unexpectedly" not in caplog.text


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.text(max_size=60) | st.builds("http://localhost:1/{}".format, st.text(max_size=40)))
def test_hostile_urls_get_a_verdict(url):
    """Any text as image_url: refused or unreachable, without an unexpected error."""
    verdict = check_image(url, ALLOWED, total_seconds=2.0)
    assert verdict.code == IMAGE_UNREACHABLE and "the check itself failed" not in verdict.message
