"""JoggClient's voice lists against the sandbox: every page of the library and of the custom voices."""

import pytest

from app.jogg import BadCredentials, RetryableError
from app.jogg.client import LIST_PAGE_SIZE, last_page
from app.jogg.models import voice_page
from sandbox.voices import LIBRARY


def test_the_library_comes_whole(start_jogg):
    """Every library voice, marked as not custom, in one page of 100."""
    client, run = start_jogg()
    voices = client.voices()
    assert [v.voice_id for v in voices] == [entry[0] for entry in LIBRARY]
    assert voices[0].name == LIBRARY[0][1] and not voices[0].custom
    assert run.state.stats.snapshot()["voice_lists"] == 1


def test_custom_voices_follow_every_page(start_jogg):
    """250 custom voices take three pages of 100, each read once."""
    client, run = start_jogg(voices=[f"clone-{n}" for n in range(250)])
    voices = client.custom_voices()
    assert [v.voice_id for v in voices] == [f"clone-{n}" for n in range(250)]
    assert all(v.custom for v in voices)
    assert run.state.stats.snapshot()["voice_lists"] == 3


def test_no_custom_voices_is_an_empty_list(start_jogg):
    """An account without clones."""
    client, _ = start_jogg()
    assert client.custom_voices() == []


def test_a_wrong_key_raises_the_usual_error(start_jogg):
    """Voice lists go through the same envelope checks as every call."""
    client, _ = start_jogg(api_key="not-the-key")
    with pytest.raises(BadCredentials):
        client.voices()


def test_an_unreachable_host_is_retryable(closed_port):
    """No answer at all: a RetryableError, not a half list."""
    from app.jogg import JoggClient

    client = JoggClient(f"http://127.0.0.1:{closed_port}", "k", connect_timeout=0.5, read_timeout=0.5)
    with pytest.raises(RetryableError):
        client.custom_voices()


@pytest.mark.parametrize(
    ("data", "ids"),
    [
        ({"voices": [{"voice_id": "a"}, {"id": "b"}, {"name": "no id"}, "junk", {"voice_id": ""}]}, ["a", "b"]),
        ([{"voice_id": "x", "name": "X"}], ["x"]),
        ({"list": [{"voice_id": 7}]}, ["7"]),
    ],
    ids=["lenient-entries", "bare-list", "list-key"],
)
def test_pages_are_read_leniently(data, ids):
    """Either id key, a bare list or a `list` key; entries without an id are dropped."""
    assert [v.voice_id for v in voice_page(data, custom=False).voices] == ids


@pytest.mark.parametrize("data", [None, {"voices": "nope"}, 5, {}])
def test_a_page_without_a_list_is_retryable(data):
    """An answer holding no list is no evidence of an empty one."""
    with pytest.raises(RetryableError):
        voice_page(data, custom=True)


@pytest.mark.parametrize(
    ("has_more", "count", "total", "seen", "last"),
    [
        (True, 100, None, 100, False),
        (False, 100, None, 100, True),
        (None, LIST_PAGE_SIZE, None, 100, False),
        (None, 3, None, 100, True),
        (None, 100, 100, 100, True),
        (True, 0, None, 100, True),
    ],
)
def test_when_a_page_is_the_last(has_more, count, total, seen, last):
    """has_more decides when present; else a short page or the total reached; an empty page always ends."""
    assert last_page(has_more, count, total, seen) is last
