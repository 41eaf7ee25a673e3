"""The operator page lists submissions in doubt (and interrupted ones not yet flagged) with their age."""

from datetime import timedelta

from app.models import Status
from app.models.types import utcnow


def test_in_doubt_and_submitting_motions_are_listed_with_their_age(ops_client, ops_token, session, make_motion):
    """One in doubt for 5 minutes, one whose POST began 3 s ago; queued and processing ones are not listed."""
    doubtful, submitting = make_motion(name="doubtful"), make_motion(name="submitting")
    make_motion(name="waiting"), make_motion(Status.PROCESSING, name="accepted")
    now = utcnow()
    doubtful.submit_started_at = now - timedelta(minutes=6)
    doubtful.submission_uncertain_at = now - timedelta(minutes=5)
    submitting.submit_started_at = now - timedelta(seconds=3)
    session.commit()
    headers = {"Authorization": f"Bearer {ops_token}"}
    listed = ops_client.get("/ops/data.json", headers=headers).json["in_doubt"]
    assert [(m["id"], m["name"], m["state"]) for m in listed] == [
        (doubtful.id, "doubtful", "in doubt"),
        (submitting.id, "submitting", "submitting"),
    ]
    assert 300 <= listed[0]["age_seconds"] < 400 and 3 <= listed[1]["age_seconds"] < 100
    page = ops_client.get("/ops", headers=headers).get_data(as_text=True)
    assert 'id="in-doubt"' in page and doubtful.id in page and "5 min" in page


def test_nothing_in_doubt_reads_none(ops_client, ops_token, make_motion):
    """With no submission in doubt the card says none."""
    make_motion()
    headers = {"Authorization": f"Bearer {ops_token}"}
    assert ops_client.get("/ops/data.json", headers=headers).json["in_doubt"] == []
    page = ops_client.get("/ops", headers=headers).get_data(as_text=True)
    assert "Submissions in doubt (0)" in page
