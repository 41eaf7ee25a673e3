"""Generated hostile batches: never a 5xx, one result per item in order, and an item's problem never spills over."""

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import VALID, assert_answered
from tests.hostile.strategies import HOSTILE, deep_value, dumps, hostile_text, json_value, non_finite, unstorable

FIELDS = [
    *VALID,
    "photo_id",
    "description",
    "welcome_msg",
    "callback_url",
    "metadata",
    "external_id",
    "priority",
    "reuse",
]
hostile_item = st.one_of(
    st.builds(lambda field, value: {**VALID, field: value}, st.sampled_from(FIELDS), st.one_of(json_value, deep_value)),
    st.dictionaries(hostile_text, json_value, max_size=3),
    json_value,
)
item = st.one_of(st.just(VALID), hostile_item)


@settings(HOSTILE, max_examples=30)
@given(items=st.lists(item, min_size=1, max_size=6), keyed=st.booleans())
def test_a_hostile_batch_is_answered_item_by_item(client, auth, items, keyed):
    """200 with one result per item in order (202 only for what a single POST accepts too), or a whole-batch 4xx.

    Half the batches carry an Idempotency-Key, so the whole body (refused items too) is fingerprinted.
    """
    raw = dumps({"items": items})
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex} if keyed else auth
    resp = client.post("/v1/motions/batch", data=raw, content_type="application/json", headers=headers)
    assert_answered(resp)
    if non_finite(items):
        assert resp.status_code in (400, 413)
        return
    if resp.status_code != 200:
        assert resp.status_code in (400, 413, 422), resp.get_json()
        return
    results = resp.get_json()["items"]
    assert len(results) == len(items)
    for sent, result in zip(items, results, strict=True):
        assert result["status"] in (202, 409, 422, 429), result
        if result["status"] == 202:
            assert not unstorable(sent) and result["motion"]["status"] in ("queued", "completed")
        else:
            problem = result["problem"]
            assert problem["status"] == result["status"] and {"type", "title", "detail"} <= set(problem)
        single = client.post("/v1/motions", data=dumps(sent), content_type="application/json", headers=auth)
        assert_answered(single)
        if 409 not in (single.status_code, result["status"]):  # an external_id the batch itself took
            assert (single.status_code == 202) == (result["status"] == 202), (sent, result, single.get_json())
