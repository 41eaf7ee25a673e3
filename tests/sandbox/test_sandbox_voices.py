"""Voice lists: the fixed library and the custom voices set through the control API, paged like JoggAI."""

import pytest

from sandbox.voices import LIBRARY


def all_pages(sandbox, path: str, page_size: int) -> list[dict]:
    """Every voice of a list, following has_more."""
    voices, page = [], 1
    while True:
        data = sandbox.call("GET", path, params={"page": page, "page_size": page_size}).json()["data"]
        voices.extend(data["voices"])
        if not data["has_more"]:
            return voices
        page += 1


def test_the_library_pages_through_every_voice(sandbox):
    """page_size 5 over the fixed list: every voice once, with JoggAI's fields."""
    voices = all_pages(sandbox, "/v2/voices", 5)
    assert [v["voice_id"] for v in voices] == [entry[0] for entry in LIBRARY]
    assert set(voices[0]) >= {"voice_id", "name", "language", "gender", "audio_url"}
    assert sandbox.stats()["voice_lists"] == -(-len(LIBRARY) // 5)


def test_the_first_page_says_there_is_more(sandbox):
    """Default page size 10; has_more and total."""
    data = sandbox.call("GET", "/v2/voices").json()["data"]
    assert len(data["voices"]) == 10 and data["has_more"] is True and data["total"] == len(LIBRARY)


def test_custom_voices_come_from_the_config(sandbox):
    """Voices added through POST /_sandbox/config appear in /v2/voices/custom; ids or objects."""
    assert sandbox.call("GET", "/v2/voices/custom").json()["data"]["voices"] == []
    added = ["clone-1", {"voice_id": "clone-2", "name": "My voice", "language": "english"}, "clone-3"]
    assert sandbox.configure(voices=added).status_code == 200
    voices = all_pages(sandbox, "/v2/voices/custom", 2)
    assert [v["voice_id"] for v in voices] == ["clone-1", "clone-2", "clone-3"]
    assert voices[1]["name"] == "My voice" and voices[0]["name"] == "clone-1"


def test_reset_forgets_added_voices(sandbox):
    """A reset restores the start-up custom voices (none)."""
    sandbox.configure(voices=["clone-1"])
    sandbox.http.post(sandbox.base_url + "/_sandbox/reset", timeout=10)
    assert sandbox.call("GET", "/v2/voices/custom").json()["data"]["total"] == 0


@pytest.mark.parametrize(
    "voices",
    ["clone-1", [""], [{"voice_id": "a", "colour": "red"}], [{"name": "no id"}], ["a", "a"], [7]],
    ids=["not-a-list", "empty-id", "unknown-field", "no-id", "duplicate", "number"],
)
def test_bad_voice_lists_are_refused(sandbox, voices):
    """A malformed voices knob is a 400 naming it, and changes nothing."""
    response = sandbox.configure(voices=voices)
    assert response.status_code == 400 and "voices" in response.json()["error"]
    assert sandbox.call("GET", "/v2/voices/custom").json()["data"]["total"] == 0


@pytest.mark.parametrize("params", [{"page": "0"}, {"page_size": "101"}, {"page": "x"}])
def test_bad_paging_is_a_parameter_error(sandbox, params):
    """page from 1, page_size 1..100, else 40000."""
    assert sandbox.call("GET", "/v2/voices", params=params).json()["code"] == 40000


def test_voice_lists_need_the_api_key(sandbox):
    """Like every /v2 route: a wrong key is 10105."""
    assert sandbox.call("GET", "/v2/voices/custom", api_key="wrong").json()["code"] == 10105


def test_voices_from_the_environment(monkeypatch):
    """SANDBOX_VOICES is a comma-separated list of custom voice ids."""
    from sandbox import SandboxConfig

    monkeypatch.setenv("SANDBOX_VOICES", "clone-a, clone-b")
    assert [v["voice_id"] for v in SandboxConfig.from_env().voices] == ["clone-a", "clone-b"]
