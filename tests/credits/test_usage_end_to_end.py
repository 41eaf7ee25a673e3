"""End to end with the sandbox: motions submitted by the real jobs are charged, the caller's usage shows them,
and the forecast reads the balance the sandbox charged them from."""

from app.extensions import db
from app.jobs import dispatch, read_credits
from tests.jogg_fixtures import SANDBOX_KEY, sandbox_stats, work_off


def test_submitted_motions_show_in_usage_and_the_balance(app, sandbox, settings, make_motions, make_caller, session):
    """Three 2.0 motions submitted to the sandbox: 6 credits in /v1/usage, and 1000 - 6 read as remaining."""
    from app import create_app

    jogg_app = create_app(settings.with_overrides(jogg_base_url=sandbox.base_url, jogg_api_key=SANDBOX_KEY,
                                                  preflight=False, submit_retry_base=0.01))  # fmt: skip
    caller_id, key = make_caller()
    other_id, other_key = make_caller()
    make_motions(3, caller_id)
    make_motions(1, other_id, model="2.0-Pro")
    with jogg_app.app_context():
        dispatch()
        db.session.remove()
    work_off(jogg_app)
    assert sandbox_stats(sandbox)["credits_charged"] == 2 * 3 + 3
    client = jogg_app.test_client()
    body = client.get("/v1/usage", headers={"Authorization": f"Bearer {key}"}).get_json()
    assert (body["total_motions"], body["total_credits"]) == (3, 6)
    assert [item["model"] for item in body["items"]] == ["2.0"]
    other = client.get("/v1/usage", headers={"Authorization": f"Bearer {other_key}"}).get_json()
    assert (other["total_motions"], other["total_credits"]) == (1, 3)
    with jogg_app.app_context():
        forecast = read_credits()
        db.session.remove()
    assert forecast["remaining"] == sandbox_stats(sandbox)["credits_remaining"] == 1000 - 9
    assert client.get("/readyz").get_json()["jogg"]["credits"]["remaining"] == 1000 - 9
