"""Request input read strictly: JSON as RFC 8259 defines it, bounded nesting, and only text PostgreSQL can store."""

import itertools
import json
import math
import re
from collections.abc import Iterator

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from app.domain.text import unstorable_reason as unstorable_text

MAX_BODY_DEPTH = 64  # objects and arrays inside one another, counting the outermost

# A JSON string, escapes included, written so that matching it is linear in its length.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class NotJSON(ValueError):
    """A body that is not RFC 8259 JSON, or nested too deep; the message says what is wrong."""


def whole_body(request: Request, cache: bool = True) -> bytes:
    """The request body; a streamed (chunked) one over MAX_CONTENT_LENGTH is RequestEntityTooLarge (413).

    Werkzeug stops reading a body without Content-Length at the limit and returns what it read: a longer one
    would be judged cut short (a 400 for JSON, a 401 for a webhook) instead of too large.
    """
    raw = request.get_data(cache=cache)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        if request.environ["wsgi.input"].read(1):  # the server's stream: more than the limit was sent
            raise RequestEntityTooLarge()
    return raw


def load_json(raw: bytes) -> object:
    """Parse a UTF-8 JSON body, refusing NaN/Infinity, numbers that overflow and nesting over MAX_BODY_DEPTH."""
    if nesting_depth(raw) > MAX_BODY_DEPTH:
        raise NotJSON(f"the body is nested deeper than {MAX_BODY_DEPTH} levels")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float)
    except NotJSON:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer over Python's digit limit
        raise NotJSON(f"the request body is not valid JSON ({_reason(exc)})") from None


def nesting_depth(raw: bytes) -> int:
    """How deeply objects and arrays nest in a JSON text, found without recursion (strings are skipped)."""
    brackets = _BRACKET.findall(_JSON_STRING.sub(b"", raw))
    steps = (1 if bracket in (b"[", b"{") else -1 for bracket in brackets)
    return max(itertools.accumulate(steps), default=0)


def value_depth(value: object) -> int:
    """How deeply objects and arrays nest in a parsed JSON value (the outermost counts as 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def unstorable_in_body(body: object) -> dict[str, list[str]]:
    """Each field of a parsed JSON body (dotted path) whose text, or whose keys, cannot be stored."""
    errors: dict[str, list[str]] = {}
    for path, text, is_key in _texts(body):
        reason = unstorable_text(text)
        if reason:
            errors.setdefault(path or "body", []).append(f"a key {reason}" if is_key else reason)
    return errors


def unstorable_in_request(request: Request) -> tuple[dict[str, list[str]], str | None]:
    """Path parameters, query parameters and headers whose text cannot be stored, and a problem no field names."""
    errors: dict[str, list[str]] = {}
    named = [*(request.view_args or {}).items(), *request.args.items(multi=True), *request.headers.items()]
    for name, value in named:
        if unstorable_text(str(name)):
            return {}, f"a parameter or header name {unstorable_text(str(name))}"
        reason = unstorable_text(str(value))
        if reason:
            errors.setdefault(str(name), []).append(reason)
    return errors, None


def _texts(body: object) -> Iterator[tuple[str, str, bool]]:
    """Every (path, text, is_key) in a parsed body, walked with an explicit stack."""
    stack: list[tuple[str, object]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value, False
        elif isinstance(value, dict):
            for key, item in value.items():
                yield path, key, True
                label = ascii(key)[1:-1] if unstorable_text(key) else key
                stack.append((f"{path}.{label}" if path else label, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _refuse_constant(name: str) -> float:
    """json hook for NaN, Infinity and -Infinity: they are not JSON."""
    raise NotJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    """json hook for numbers with a fraction or exponent: refuse those that overflow to infinity."""
    value = float(text)
    if math.isinf(value):
        raise NotJSON(f"the number {text[:40]} is too large")
    return value


def _reason(exc: ValueError) -> str:
    """A short, safe description of a parse failure."""
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8"
    return str(exc).splitlines()[0][:200]
