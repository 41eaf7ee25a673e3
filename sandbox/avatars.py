"""The photo-avatar list (`GET /v2/avatars/photo_avatars`): paging, the name and status filters, JoggAI's fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.codes import parameter_error
from sandbox.motions import FAILURE, Motion

STATUS_CODES = {"processing": 0, "pending": 0, "completed": 1, "failed": 2}  # JoggAI's 0/1/2
STATUS_FILTERS = {"processing": 0, "completed": 1, "failed": 2, "0": 0, "1": 1, "2": 2}
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 100, 10


@dataclass(frozen=True)
class AvatarQuery:
    """A validated list request: page (from 1), page size (1..100), name and status filters."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    name: str | None = None
    status: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AvatarQuery:
        """Read the query string; a bad value is a 40000 naming the parameter."""
        page = whole_number(args.get("page"), "page", 1, None, 1)
        page_size = whole_number(args.get("page_size"), "page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
        status = args.get("status")
        if status is not None and status not in STATUS_FILTERS:
            raise parameter_error("status", "must be processing, completed or failed")
        name = args.get("name") or None
        return cls(page, page_size, name, STATUS_FILTERS[status] if status is not None else None)


def whole_number(raw: str | None, field: str, low: int, high: int | None, default: int) -> int:
    """A whole number within bounds, or the default when absent."""
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        raise parameter_error(field, f"must be a whole number from {low}" + (f" to {high}" if high else ""))
    return int(raw)


def avatar_view(motion: Motion, now: float) -> dict[str, Any]:
    """One list entry as JoggAI_API.md documents it: id, name, cover_url, status (0/1/2), fail_msg."""
    status = STATUS_CODES[motion.phase(now)]
    return {
        "id": motion.avatar_id,
        "name": motion.request.name,
        "cover_url": motion.request.image_url,
        "status": status,
        "fail_msg": FAILURE["message"] if status == 2 else None,
    }


def avatar_page(motions: Iterable[Motion], query: AvatarQuery, now: float) -> dict[str, Any]:
    """Newest first; `name` matches as a case-insensitive substring (JoggAI calls it a search)."""
    if query.name:  # filtered before anything is built: the gateway asks once per submission
        wanted = query.name.lower()
        motions = [m for m in motions if wanted in m.request.name.lower()]
    views = [avatar_view(m, now) for m in sorted(motions, key=lambda m: m.avatar_id, reverse=True)]
    if query.status is not None:
        views = [v for v in views if v["status"] == query.status]
    start = (query.page - 1) * query.page_size
    return {
        "avatars": views[start : start + query.page_size],
        "total": len(views),
        "page": query.page,
        "page_size": query.page_size,
    }
