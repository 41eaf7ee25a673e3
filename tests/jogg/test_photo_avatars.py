"""The client's photo-avatar list: exact names from JoggAI's search, every page, lenient reading, lost POSTs."""

import pytest

from app.jogg import PhotoAvatar, RetryableError, UnknownOutcome
from app.jogg.client import LIST_PAGE_SIZE
from app.jogg.models import avatar_page
from tests.jogg.conftest import MOTION


def test_only_exact_names_are_returned_from_the_search(start_jogg):
    """JoggAI's name filter is a search: 'twin-2' matches 'twin' there, not here."""
    client, _ = start_jogg()
    for name in ("twin", "twin-2", "Twin", "twin"):
        client.add_motion(**{**MOTION, "name": name})
    found = client.photo_avatars("twin")
    assert [avatar.name for avatar in found] == ["twin", "twin"]
    assert len({avatar.avatar_id for avatar in found}) == 2


def test_every_page_is_read(start_jogg):
    """More entries than one page holds: all of them come back."""
    client, run = start_jogg(rate_limit=1000)
    for _ in range(LIST_PAGE_SIZE + 5):
        client.add_motion(**{**MOTION, "name": "crowd"})
    assert len(client.photo_avatars("crowd")) == LIST_PAGE_SIZE + 5
    assert run.state.stats_snapshot()["photo_avatar_lists"] == 2


def test_without_motion_avatars_in_the_list_nothing_is_found(start_jogg):
    """With list_motion_avatars off (JoggAI may not list them), the list is simply empty."""
    client, _ = start_jogg(list_motion_avatars=False)
    client.add_motion(**MOTION)
    assert client.photo_avatars(MOTION["name"]) == []


def test_lenient_reading_of_entries():
    """`id` or `avatar_id`, status as 0/1/2 or words; entries without an id are skipped; odd shapes refused."""
    data = {"avatars": [{"avatar_id": 7, "name": "a", "status": "completed"}, {"id": "8", "status": 2,
            "fail_msg": "bad photo", "name": "a"}, {"name": "no id"}], "total": 2}  # fmt: skip
    entries, total = avatar_page(data)
    assert entries == [PhotoAvatar(7, "a", "completed"), PhotoAvatar(8, "a", "failed", "bad photo")] and total == 2
    assert entries[1].as_status().is_failure() and entries[1].as_status().error_msg == "bad photo"
    assert avatar_page([{"id": 1, "name": "b", "status": 0}])[0][0].status == "processing"
    with pytest.raises(RetryableError):
        avatar_page({"avatars": "nope"})


@pytest.mark.parametrize("knob", ["hang_before_rate", "drop_after_create_rate"])
def test_a_lost_post_is_an_unknown_outcome(start_jogg, knob):
    """Lost before or after creating, the client cannot tell: both are UnknownOutcome (never a plain retry)."""
    client, run = start_jogg(read_timeout=0.5, hang_seconds=1.0, **{knob: 1.0})
    with pytest.raises(UnknownOutcome):
        client.add_motion(**MOTION)
    created = run.state.stats_snapshot()["motions_created_by_name"]
    assert created == ({} if knob == "hang_before_rate" else {MOTION["name"]: 1})
