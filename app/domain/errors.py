"""The errors business rules raise; the API layer turns them into problem responses."""


class DomainError(Exception):
    """Base of every rule violation a caller can cause."""

    title = "Request not allowed"

    def __init__(self, detail: str, **extra):
        """Keep the detail for the problem document and any extra fields it carries."""
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    """The thing asked for does not exist, or belongs to someone else."""

    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state."""

    title = "Conflict"


class IllegalTransition(Conflict):
    """A status change the state machine does not allow."""

    title = "Illegal status change"


class ExternalIdTaken(Conflict):
    """The caller already used this external_id."""

    title = "external_id already used"


class IdempotencyInFlight(Conflict):
    """The first request with this Idempotency-Key is still being processed."""

    title = "Idempotent request still in flight"


class IdempotencyMismatch(DomainError):
    """The Idempotency-Key was used before with a different body."""

    title = "Idempotency-Key reused with a different body"
