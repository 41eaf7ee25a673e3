"""The one state machine: every motion status change goes through transition()."""

from app import nudges
from app.domain import notification_events, reuse
from app.domain.errors import IllegalTransition
from app.models import Motion, MotionEvent, Source, Status
from app.models.types import utcnow

FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

ALLOWED: dict[Status | None, frozenset[Status]] = {
    None: frozenset({Status.QUEUED}),
    Status.QUEUED: frozenset({Status.PROCESSING, Status.CANCELLED, Status.FAILED}),
    Status.PROCESSING: frozenset({Status.COMPLETED, Status.FAILED}),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# failed -> queued is a retry, which only a person may ask for.
EXPLICIT_ONLY = {(Status.FAILED, Status.QUEUED): frozenset({Source.API, Source.OPERATOR})}


def can_move(current: Status | None, target: Status, source: Source) -> bool:
    """Whether the state machine allows this move from this source."""
    if target not in ALLOWED[current]:
        return False
    allowed_sources = EXPLICIT_ONLY.get((current, target))
    return allowed_sources is None or source in allowed_sources


def transition(session, motion: Motion, target: Status, source: Source, detail: dict | None = None) -> MotionEvent:
    """Move a motion to a new status, writing its event row and follow-up work in the same transaction."""
    source = _known(source)
    current = Status(motion.status) if motion.status else None
    if not can_move(current, target, source):
        raise IllegalTransition(
            f"motion {motion.id} cannot go from {current or 'nothing'} to {target} (source {source})",
            from_status=current and str(current),
            to_status=str(target),
        )
    now = utcnow()
    motion.status = target
    motion.updated_at = now
    _stamp(motion, target, now, current)
    event = MotionEvent(
        motion_id=motion.id, at=now, from_status=current, to_status=target, source=source, detail=detail
    )
    session.add(event)
    notification_events.record(session, motion, target)
    if target is Status.QUEUED and motion.reused_from is None:
        nudges.ask_dispatch(session)
    if target in FINAL and motion.reused_from is None:
        _settle_followers(session, motion, target)
    return event


def complete_from(session, motion: Motion, root: Motion) -> None:
    """Complete a queued motion with an identical root's result: through processing, as usual, source reuse."""
    reuse.take_result(motion, root)
    transition(session, motion, Status.PROCESSING, Source.REUSE, {"reused_from": root.id})
    transition(session, motion, Status.COMPLETED, Source.REUSE, {"reused_from": root.id})


def _settle_followers(session, leader: Motion, target: Status) -> None:
    """Followers end as their leader ends; a cancelled leader lets them be submitted themselves."""
    for follower in reuse.followers(session, leader):
        if target is Status.COMPLETED:
            complete_from(session, follower, leader)
        elif target is Status.FAILED:
            follower.error, follower.credits = leader.error, 0
            detail = {"reused_from": leader.id, "error": leader.error}
            transition(session, follower, Status.FAILED, Source.REUSE, detail)
        else:
            follower.reused_from = None
            nudges.ask_dispatch(session)


def _known(source: Source | str) -> Source:
    """The Source a value names; ValueError for anything else (a typo must not reach the history)."""
    try:
        return Source(source)
    except ValueError:
        raise ValueError(f"unknown source {source!r}") from None


def _stamp(motion: Motion, target: Status, now, current: Status | None) -> None:
    """Set the timestamps and fields that belong to reaching a status."""
    if target is Status.PROCESSING:
        motion.submitted_at = now
    elif target in (Status.COMPLETED, Status.FAILED, Status.CANCELLED):
        motion.completed_at = now
    elif target is Status.QUEUED and current is not None:  # a new motion has no submission to forget
        _reset_submission(motion)


def _reset_submission(motion: Motion) -> None:
    """Reaching queued means a fresh submission: forget the previous one, its pre-flight and its charge day.

    The credits stay: the fresh POST is charged again when accepted, adding the model's cost (app.domain.charges).
    """
    motion.completed_at = motion.error = motion.jogg_motion_id = motion.avatar_id = motion.preview_url = None
    motion.dispatched_at = motion.submit_started_at = motion.submission_uncertain_at = None
    motion.submission_evidence = motion.preflight_at = motion.charged_at = None
    motion.next_submit_at = motion.next_poll_at = None
    motion.submit_attempts = motion.poll_count = 0
    if motion.reused_from is not None and motion.credits == 0:
        motion.reused_from = motion.credits = None  # a retried follower is submitted itself
