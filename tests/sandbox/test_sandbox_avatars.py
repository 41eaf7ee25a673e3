"""The sandbox's photo-avatar list and the two ways it loses an add_motion: before and after creating."""

import pytest
import requests


def listing(sandbox, **params) -> dict:
    """GET /v2/avatars/photo_avatars and return the envelope."""
    return sandbox.call("GET", "/v2/avatars/photo_avatars", params=params).json()


def test_the_list_pages_filters_by_name_and_status(sandbox):
    """Newest first, a case-insensitive name search, status 0/1/2, JoggAI's fields, total and paging."""
    made = [sandbox.new_motion_id(name=name) for name in ("Ada", "ada-2", "bob")]
    for motion_id in made:  # all three, so the status filter below sees every one finished
        sandbox.wait_for_status(motion_id, {"completed"}, timeout=15)
    page = listing(sandbox, name="ada", page_size=1)["data"]
    assert (page["total"], page["page"], page["page_size"], len(page["avatars"])) == (2, 1, 1, 1)
    assert set(page["avatars"][0]) == {"id", "name", "cover_url", "status", "fail_msg"}
    names = [a["name"] for a in listing(sandbox, name="ADA")["data"]["avatars"]]
    assert names == ["ada-2", "Ada"]
    completed = listing(sandbox, status="completed")["data"]["avatars"]
    assert {a["status"] for a in completed} == {1} and len(completed) == 3


@pytest.mark.parametrize("params", [{"page": "0"}, {"page_size": "101"}, {"page_size": "x"}, {"status": "done"}])
def test_bad_list_parameters_are_40000(sandbox, params):
    """A page below 1, a page size over 100 or not a number, an unknown status: parameter error naming it."""
    body = listing(sandbox, **params)
    assert body["code"] == 40000 and body["msg"].startswith(next(iter(params)))


def test_motion_avatars_can_be_left_out_of_the_list(start_sandbox):
    """list_motion_avatars off: add_motion's avatars do not show (JoggAI may behave either way)."""
    sandbox = start_sandbox(list_motion_avatars=False)
    sandbox.new_motion_id()
    assert listing(sandbox)["data"]["avatars"] == []


def test_hang_before_create_creates_nothing_and_drops_the_connection(start_sandbox):
    """hang_before_rate 1: the request is held hang_seconds, then the connection closes; no motion, no charge."""
    sandbox = start_sandbox(hang_before_rate=1.0, hang_seconds=0.2)
    with pytest.raises(requests.ConnectionError):
        sandbox.add_motion(name="never-arrived")
    stats = sandbox.stats()
    assert stats["motions_created_by_name"] == {} and stats["hangs_before_create"] == 1
    assert stats["add_motion_calls_by_name"] == {"never-arrived": 1} and stats["credits_remaining"] == 1000


def test_drop_after_create_charges_and_loses_the_answer(start_sandbox):
    """drop_after_create_rate 1: the motion exists and is charged, the connection closes without an answer."""
    sandbox = start_sandbox(drop_after_create_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        sandbox.add_motion(name="answer-lost")
    stats = sandbox.stats()
    assert stats["motions_created_by_name"] == {"answer-lost": 1} and stats["drops_after_create"] == 1
    assert stats["credits_remaining"] == 998
    assert [a["name"] for a in listing(sandbox)["data"]["avatars"]] == ["answer-lost"]
