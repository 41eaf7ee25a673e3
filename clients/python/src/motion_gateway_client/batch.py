"""BatchResult: what became of one item of create_motions, the Motion or the error that refused it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from motion_gateway_client.errors import ApiError, error_from_problem
from motion_gateway_client.models import MalformedResource, Motion


@dataclass(frozen=True)
class BatchResult:
    """One batch item's outcome, at its `index` in the request: `motion` when accepted, else `error`."""

    index: int
    status: int
    motion: Motion | None = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        """True when the item was accepted (202) and `motion` is set."""
        return self.motion is not None

    def unwrap(self) -> Motion:
        """The accepted motion; raises the item's error (ValidationFailed, QuotaExceeded, ...) otherwise."""
        if self.motion is None:
            raise self.error or MalformedResource(f"batch item {self.index} has neither motion nor problem")
        return self.motion

    @classmethod
    def from_dict(cls, index: int, raw: Any) -> BatchResult:
        """Read one entry of a batch answer: {"status", "motion"} or {"status", "problem"}."""
        if not isinstance(raw, dict) or not isinstance(raw.get("status"), int) or isinstance(raw["status"], bool):
            raise MalformedResource(f"batch item {index} must be an object with an integer 'status'")
        if raw.get("motion") is not None:
            return cls(index, raw["status"], motion=Motion.from_dict(raw["motion"]))
        problem = raw.get("problem")
        if not isinstance(problem, dict):
            raise MalformedResource(f"batch item {index} has neither 'motion' nor a 'problem' object")
        return cls(index, raw["status"], error=error_from_problem({"status": raw["status"], **problem}))
