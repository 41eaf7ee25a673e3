"""create_motions, usage and quotas against the real gateway over HTTP: per-item results, one key, credits."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from motion_gateway_client import (
    AsyncClient,
    BatchResult,
    Client,
    QuotaExceeded,
    RetryPolicy,
    UsageItem,
    ValidationFailed,
)

from app.models import Motion, Status
from tests.client.conftest import MOTION
from tests.client.test_retries import front, front_client, problem  # noqa: F401 - fixtures used by name

NO_RETRIES = RetryPolicy(max_retries=0)


def test_a_batch_answers_each_item_in_order_valid_and_invalid(gateway_client):
    """Two valid items are accepted around an invalid one; the invalid one carries ValidationFailed naming the field."""
    items = [{**MOTION, "external_id": "b-1"}, {**MOTION, "model": "9.9"}, {**MOTION, "external_id": "b-3"}]
    results = gateway_client.create_motions(items)
    assert [(r.index, r.status, r.ok) for r in results] == [(0, 202, True), (1, 422, False), (2, 202, True)]
    assert all(isinstance(r, BatchResult) for r in results)
    accepted = [r.unwrap() for r in results if r.ok]
    assert [(m.external_id, m.status, m.credits, m.reuse, m.reused_from) for m in accepted] == [
        ("b-1", "queued", None, False, None),
        ("b-3", "queued", None, False, None),
    ]
    refused = results[1]
    assert isinstance(refused.error, ValidationFailed) and refused.motion is None
    assert "model" in refused.error.errors
    with pytest.raises(ValidationFailed):
        refused.unwrap()
    assert sorted(m.id for m in gateway_client.list_motions()) == sorted(m.id for m in accepted)


def test_a_batch_with_the_same_key_is_replayed_not_made_again(gateway_client):
    """The caller's own key covers the whole batch: sending it again answers the same motions."""
    items = [MOTION, {**MOTION, "name": "second"}]
    first = gateway_client.create_motions(items, idempotency_key="batch-7")
    again = gateway_client.create_motions(items, idempotency_key="batch-7")
    assert [r.unwrap().id for r in again] == [r.unwrap().id for r in first]
    assert len(list(gateway_client.list_motions())) == 2


def test_a_batch_retried_after_a_503_keeps_its_key_and_creates_once(front, front_client, gateway_client):  # noqa: F811
    """A 503 from the server in front, then a lost answer (502): one key on all three tries, two motions made once."""
    front.script = [lambda _: problem(503, "database-unavailable", "retry shortly"), front.lose_answer(502)]
    results = front_client.create_motions([MOTION, {**MOTION, "name": "other"}])
    assert [s.path for s in front.seen] == ["/v1/motions/batch"] * 3
    keys = {s.idempotency_key for s in front.seen}
    assert len(keys) == 1 and None not in keys
    assert front.upstream_replays == [None, "true"]
    made = sorted(m.id for m in gateway_client.list_motions())
    assert sorted(r.unwrap().id for r in results) == made and len(made) == 2


def test_usage_counts_charged_motions_and_shows_no_quota(gateway_client, caller, session):
    """Charged rows of this caller by day and model; a range without them is empty; no quota set: None."""
    today = datetime.now(UTC).replace(microsecond=0)
    fields = {"caller_id": caller.caller_id, "status": Status.COMPLETED, "image_url": MOTION["image_url"],
              "name": "n", "voice_id": "v"}  # fmt: skip
    session.add_all([
        Motion(**fields, model="2.0", credits=2, charged_at=today),
        Motion(**fields, model="2.0", credits=2, charged_at=today),
        Motion(**fields, model="2.0-Pro", credits=3, charged_at=today),
    ])  # fmt: skip
    session.commit()
    usage = gateway_client.usage()
    assert usage.from_ == today.date().replace(day=1) and usage.to >= today.date()
    assert (usage.total_credits, usage.total_motions, usage.quota) == (7, 3, None)
    assert usage.items == (UsageItem(today.date(), "2.0", 2, 4), UsageItem(today.date(), "2.0-Pro", 1, 3))
    earlier = gateway_client.usage(today - timedelta(days=400), today.date() - timedelta(days=40))
    assert (earlier.items, earlier.total_credits, earlier.from_) == ((), 0, (today - timedelta(days=400)).date())


def test_a_quota_refuses_with_retry_after_and_usage_shows_it(gateway, caller, cli):
    """A 2-credit daily quota: one 2.0 motion reserves it all; the next is QuotaExceeded with retry_after."""
    cli("callers", "set-quota", caller.name, "--credits", "2", "--per", "day")
    with Client(gateway, caller.api_key, timeout=10.0, retry_policy=NO_RETRIES) as client:
        client.create_motion(**MOTION)
        with pytest.raises(QuotaExceeded) as caught:
            client.create_motion(**MOTION)
        quota = client.usage().quota
    assert caught.value.status == 429 and caught.value.type.endswith("quota-exceeded")
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 86400
    assert quota is not None and (quota.credits, quota.period, quota.used, quota.reserved) == (2, "day", 0, 2)
    assert quota.left == 0 and quota.resets_at > datetime.now(UTC)


def test_async_batch_counts_the_quota_in_order(gateway, caller, cli):
    """AsyncClient: the first item takes the quota, the second is refused with QuotaExceeded; usage shows it."""
    cli("callers", "set-quota", caller.name, "--credits", "3", "--per", "month")

    async def run():
        async with AsyncClient(gateway, caller.api_key, timeout=10.0) as client:
            results = await client.create_motions([{**MOTION, "model": "2.0-Pro"}, MOTION])
            return results, await client.usage()

    results, usage = asyncio.run(run())
    assert [(r.status, r.ok) for r in results] == [(202, True), (429, False)]
    refused = results[1].error
    assert isinstance(refused, QuotaExceeded) and refused.retry_after is not None and refused.retry_after > 0
    assert usage.quota is not None and (usage.quota.period, usage.quota.reserved) == ("month", 3)
