"""JoggAI failures as exceptions, grouped by what a caller should do next."""

from __future__ import annotations


class JoggError(Exception):
    """A JoggAI call failed; `jogg_code` and `http_status` are None when there was no such answer."""

    retryable = False

    def __init__(
        self,
        message: str,
        jogg_code: int | None = None,
        http_status: int | None = None,
        rid: str | None = None,
    ) -> None:
        """Keep what JoggAI said: the message, its business code, the HTTP status and its request id."""
        super().__init__(message)
        self.message = message
        self.jogg_code = jogg_code
        self.http_status = http_status
        self.rid = rid  # JoggAI's request id, for support tickets

    def __str__(self) -> str:
        """The message with whichever of code, HTTP status and request id are known."""
        facts = [
            f"{label} {value}"
            for label, value in (("code", self.jogg_code), ("HTTP", self.http_status), ("rid", self.rid))
            if value is not None
        ]
        return f"{self.message} ({', '.join(facts)})" if facts else self.message

    def __repr__(self) -> str:
        """Class, message, code and HTTP status; never request headers."""
        return (
            f"{type(self).__name__}(message={self.message!r}, jogg_code={self.jogg_code!r}, "
            f"http_status={self.http_status!r})"
        )


class RetryableError(JoggError):
    """Worth trying again later: 50000, 5xx, connection errors, timeouts, answers that are not JSON."""

    retryable = True


class UnknownOutcome(RetryableError):
    """A POST may have reached JoggAI but no answer came back: the motion may exist and be charged.

    JoggAI has no idempotency key, so a blind retry can create a second motion. Raised for read
    timeouts and connections dropped after the request was sent; a connect error is not one.
    """


class RateLimited(RetryableError):
    """429: too many POSTs; `retry_after` is in seconds when JoggAI sent a Retry-After header."""

    def __init__(
        self,
        message: str,
        jogg_code: int | None = None,
        http_status: int | None = None,
        rid: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """An error that also keeps the seconds JoggAI asked us to wait, if it said."""
        super().__init__(message, jogg_code, http_status, rid)
        self.retry_after = retry_after


class OutOfCredit(JoggError):
    """18020: the account has too few credits; nothing was created."""


class BadCredentials(JoggError):
    """10105: the API key is wrong or missing."""


class NoPermission(BadCredentials):
    """18025: the key is valid but may not call the API."""


class BadRequest(JoggError):
    """40000: JoggAI refused the parameters; `message` is JoggAI's own and names the field."""


class NoSuchRecord(JoggError):
    """10104: no such record (motion or endpoint)."""


def scrub(error: JoggError, secret: str) -> JoggError:
    """Blank `secret` out of an error's message (JoggAI's msg might echo the key back)."""
    if secret and secret in error.message:
        error.message = error.message.replace(secret, "[redacted]")
        error.args = (error.message,)
    return error
