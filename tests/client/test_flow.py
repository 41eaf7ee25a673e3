"""The client over a whole motion's life: paging 250 motions, waiting for JoggAI (the sandbox), retry, the feed."""

import asyncio

from motion_gateway_client import AsyncClient

from tests.client.conftest import MOTION
from tests.jogg_fixtures import sandbox_config


def test_list_motions_iterates_over_all_250(gateway_client, caller, make_motions):
    """250 motions in pages of 100: every one exactly once, newest first; the default page size agrees."""
    _, ids = make_motions(250, caller_id=caller.caller_id)
    listed = [motion.id for motion in gateway_client.list_motions(page_size=100)]
    assert len(listed) == 250 and set(listed) == set(ids)
    created = [m.created_at for m in gateway_client.list_motions(page_size=37)]
    assert created == sorted(created, reverse=True)
    assert [m.id for m in gateway_client.list_motions()] == listed


def test_wait_follows_a_motion_to_completion(gateway_client, sandbox, workers):
    """A motion goes through the workers and the sandbox; wait() returns it completed, with its preview."""
    sandbox_config(sandbox, motion_seconds=0.5)
    workers()
    motion = gateway_client.create_motion(**MOTION, callback_url=None)
    done = gateway_client.wait(motion.id, timeout=90)
    assert done.status == "completed" and done.preview_url and done.jogg_motion_id and done.completed_at
    assert [row.to_status for row in gateway_client.history(motion.id)] == ["queued", "processing", "completed"]


def test_retry_after_failure_then_wait_again(gateway_client, sandbox, workers):
    """JoggAI fails the motion: wait() returns it failed with its error; retry() queues it; it completes."""
    sandbox_config(sandbox, motion_seconds=0.3, failure_rate=1.0)
    workers()
    motion = gateway_client.create_motion(**MOTION, callback_url=None)
    failed = gateway_client.wait(motion.id, timeout=90)
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "jogg_failed"
    sandbox_config(sandbox, failure_rate=0.0)
    assert gateway_client.retry(motion.id).status == "queued"
    assert gateway_client.wait(motion.id, timeout=90).status == "completed"


def test_events_feed_resumes_from_its_cursor(gateway_client):
    """events() yields the feed in order and keeps the cursor; resuming from it yields only what came after."""
    first, second = gateway_client.create_motion(**MOTION), gateway_client.create_motion(**MOTION)
    gateway_client.cancel(first.id)
    gateway_client.cancel(second.id)
    feed = gateway_client.events(page_size=1)
    seen = [(event.type, event.data.id, event.sequence) for event in feed]
    assert seen == [("motion.cancelled", first.id, 1), ("motion.cancelled", second.id, 1)]
    assert feed.cursor
    assert list(gateway_client.events(after=feed.cursor)) == []
    third = gateway_client.create_motion(**MOTION)
    gateway_client.cancel(third.id)
    resumed = gateway_client.events(after=feed.cursor)
    assert [event.data.id for event in resumed] == [third.id] and resumed.cursor != feed.cursor


def test_an_unfinished_page_is_not_skipped_on_resume(gateway_client):
    """Stopping in the middle of a page keeps the cursor before it: resuming repeats, never loses, events."""
    ids = [gateway_client.create_motion(**MOTION).id for _ in range(3)]
    for motion_id in ids:
        gateway_client.cancel(motion_id)
    feed = gateway_client.events(page_size=2)
    assert next(feed).data.id == ids[0]
    assert feed.cursor is None  # the first page is not used up yet: resuming repeats ids[0]
    assert [event.data.id for event in gateway_client.events(after=feed.cursor)] == ids
    assert next(feed).data.id == ids[1]  # the first page is used up: the cursor moved past it
    assert [event.data.id for event in gateway_client.events(after=feed.cursor)] == [ids[2]]


def test_async_client_covers_the_same_ground(gateway, caller, sandbox, workers):
    """AsyncClient: create and cancel, create and wait to completion, list page by page, the feed, the history."""
    sandbox_config(sandbox, motion_seconds=0.3)
    workers()

    async def journey():
        async with AsyncClient(gateway, caller.api_key, timeout=10.0) as client:
            cancelled = [(await client.cancel((await client.create_motion(**MOTION)).id)).id for _ in range(4)]
            motion = await client.create_motion(**MOTION, callback_url=None)
            done = await client.wait(motion.id, timeout=90)
            listed = [m.id async for m in client.list_motions(page_size=2)]
            feed = client.events(page_size=2)
            events = [(event.type, event.data.id) async for event in feed]
            history = await client.history(motion.id)
            return cancelled, motion, done, listed, events, feed.cursor, history

    cancelled, motion, done, listed, events, cursor, history = asyncio.run(journey())
    assert done.status == "completed" and done.id == motion.id
    assert listed == [motion.id, *reversed(cancelled)]
    assert [("motion.cancelled", motion_id) for motion_id in cancelled] == events[:4]
    assert events[4:] == [("motion.processing", motion.id), ("motion.completed", motion.id)] and cursor
    assert [row.to_status for row in history] == ["queued", "processing", "completed"]


def test_a_following_feed_waits_for_new_events(gateway_client):
    """follow=True: once caught up the feed polls, and hands out each new event as it appears."""
    first, second = gateway_client.create_motion(**MOTION), gateway_client.create_motion(**MOTION)
    feed = gateway_client.events(follow=True, poll_interval=0.1)
    gateway_client.cancel(first.id)
    assert next(feed).data.id == first.id
    gateway_client.cancel(second.id)
    assert next(feed).data.id == second.id
    assert list(gateway_client.events(after=feed.cursor)) == []
