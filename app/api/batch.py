"""Batch intake: many motion requests in one transaction, each accepted or refused on its own."""

import re

from flask import g, json
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api.problems import domain_body, field_messages, validation_body
from app.api.schemas import MotionCreateSchema
from app.domain import motions, reuse
from app.domain.errors import Conflict, DomainError
from app.shapes import motion_json

_ITEM = MotionCreateSchema()
_ITEM_PATH = re.compile(r"^items\[(\d+)\](?:\.(.*))?$", re.DOTALL)


class UnstorableOutsideItems(ValueError):
    """Unstorable text that no single item holds (e.g. a top-level key): the whole batch is refused."""


def unstorable_per_item(errors: dict[str, list[str]]) -> dict[int, dict[str, list[str]]]:
    """The before_request hook's unstorable-text errors, grouped by item index with item-relative field names."""
    grouped: dict[int, dict[str, list[str]]] = {}
    for path, messages in errors.items():
        match = _ITEM_PATH.match(path)
        if match is None:
            raise UnstorableOutsideItems(path)
        grouped.setdefault(int(match.group(1)), {})[match.group(2) or "body"] = messages
    return grouped


def accept_all(session: Session, intake: motions.Intake, items: list) -> list[dict]:
    """Accept each item in order (written or flushed together, not committed); each result is a motion or a problem."""
    unstorable = unstorable_per_item(g.get("unstorable") or {})
    loaded = [_load(item, unstorable.get(index)) for index, item in enumerate(items)]
    wanted = [reuse.content_key(data) for data, _ in loaded if data is not None and data.get("reuse")]
    reuse.lock_roots(session, intake.caller.id, wanted, intake.now, intake.reuse_max_age)
    try:
        accepted = motions.create_many(session, intake, [data for data, _ in loaded])
        session.flush()
    except IntegrityError:
        # A concurrent request took one of the external_ids: the whole batch is refused, nothing is kept.
        session.rollback()
        raise Conflict("an external_id in this batch was taken by a concurrent request; send the batch again") from None
    problems = [problem for _, problem in loaded]
    return [_result(outcome or problem) for outcome, problem in zip(accepted, problems, strict=True)]


def _load(item, unstorable: dict | None) -> tuple[dict | None, dict | None]:
    """One item's validated request, or the problem document that refuses it."""
    if unstorable:
        return None, validation_body(unstorable)
    if not isinstance(item, dict):
        return None, validation_body({"body": ["must be a JSON object (a motion request)"]})
    try:
        return _ITEM.load(item), None
    except ValidationError as exc:
        return None, validation_body(field_messages(exc.normalized_messages()))


def _result(outcome) -> dict:
    """The batch's entry for one item: its motion, or the problem refusing it (a domain refusal made one)."""
    if isinstance(outcome, DomainError):
        outcome = _problem(outcome)
    if isinstance(outcome, dict):
        return {"status": outcome["status"], "problem": outcome}
    return {"status": 202, "motion": motion_json(outcome)}


def _problem(exc: DomainError) -> dict:
    """The problem document for an item's domain refusal (a quota's carries its retry_after)."""
    body = domain_body(exc)
    headers = getattr(exc, "headers", None) or {}
    if "Retry-After" in headers:
        body["retry_after"] = int(headers["Retry-After"])
    return body


def body(results: list[dict]) -> str:
    """The batch response body."""
    return json.dumps({"items": results})
