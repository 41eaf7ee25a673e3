"""JoggAI business codes, the HTTP status each error maps to, and the error handlers raise."""

from __future__ import annotations

OK = 0
RATE_LIMITED = 429
NOT_FOUND = 10104
INVALID_API_KEY = 10105
INSUFFICIENT_CREDIT = 18020
NO_PERMISSION = 18025
PARAMETER_ERROR = 40000
SYSTEM_ERROR = 50000

MESSAGES = {
    OK: "success",
    RATE_LIMITED: "rate limit exceeded",
    NOT_FOUND: "record not found",
    INVALID_API_KEY: "invalid API key",
    INSUFFICIENT_CREDIT: "insufficient credit",
    NO_PERMISSION: "no permission to call APIs",
    PARAMETER_ERROR: "parameter error",
    SYSTEM_ERROR: "system error",
}

# The HTTP status an error envelope travels with, unless `errors_as_http_200` is set (JoggAI's
# docs leave open whether errors change the HTTP status, so the sandbox can do either).
ERROR_HTTP_STATUS = {
    RATE_LIMITED: 429,
    NOT_FOUND: 404,
    INVALID_API_KEY: 401,
    INSUFFICIENT_CREDIT: 402,
    NO_PERMISSION: 403,
    PARAMETER_ERROR: 400,
    SYSTEM_ERROR: 500,
}


def http_status(code: int, errors_as_http_200: bool) -> int:
    """The HTTP status for an envelope with business `code`."""
    if code == OK or errors_as_http_200:
        return 200
    return ERROR_HTTP_STATUS.get(code, 400)


class ApiError(Exception):
    """A JoggAI error answer: business code, message and extra response headers."""

    def __init__(self, code: int, msg: str | None = None, headers: dict[str, str] | None = None):
        self.code = code
        self.msg = msg or MESSAGES.get(code, "error")
        self.headers = headers or {}
        super().__init__(f"{code}: {self.msg}")


def parameter_error(field: str, problem: str) -> ApiError:
    """A 40000 whose message starts with the offending field, as JoggAI's does."""
    return ApiError(PARAMETER_ERROR, f"{field}: {problem}")
