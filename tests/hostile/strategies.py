"""Hypothesis strategies for hostile input: odd text, odd JSON, odd numbers, and a way to compare what came back."""

import json
import math
from decimal import Decimal
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Every suite here runs the same cases each time, never remembers failures between runs, and stays bounded.
HOSTILE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD_CHARACTERS = [
    "\x00", "\x01", "\x08", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\xa0", "\u200b", "\u2028",
    "\ufeff", "\uffff", "\ud800", "\udfff", "\U0001f600", "é", "'", '"', "\\", "%", "%00", "/", "..", "<", "{",
]  # fmt: skip
odd_character = st.sampled_from(ODD_CHARACTERS)
odd_text = st.lists(st.one_of(odd_character, st.text(max_size=4)), max_size=12).map("".join)
long_text = st.builds(lambda piece, times: piece * times, st.sampled_from(["a", "é", "\U0001f600", "\x00"]),
                      st.integers(150, 5000))  # fmt: skip
hostile_text = st.one_of(odd_text, long_text, st.text(max_size=30))

huge_integer = st.integers(min_value=-(10**40), max_value=10**40)
odd_float = st.one_of(st.floats(), st.sampled_from([1e308, -1e308, 5e-324, -0.0, 1.7976931348623157e308]))
scalar = st.one_of(st.none(), st.booleans(), huge_integer, odd_float, hostile_text)
json_value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=12,
)
# A value nested `depth` objects or arrays deep, around the limits (16 for metadata, 64 for a body).
deep_value = st.builds(lambda depth, arrays: _nest(depth, arrays), st.integers(1, 200), st.booleans())


def _nest(depth: int, arrays: bool) -> object:
    """`depth` arrays (or objects) inside one another around a leaf."""
    value: object = "leaf"
    for _ in range(depth):
        value = [value] if arrays else {"k": value}
    return value


def dumps(value: object) -> str:
    """JSON text as a careless client writes it: NaN and Infinity spelled out, lone surrogates escaped."""
    return json.dumps(value, allow_nan=True)


def non_finite(value: object) -> bool:
    """Whether a value holds NaN or an infinity somewhere (no JSON number can carry them)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(non_finite(item) for item in value)
    return False


def depth(value: object) -> int:
    """How deeply objects and arrays nest in a value (the outermost counts as 1; a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def unstorable(value: object) -> bool:
    """Whether a value holds, in a string or a key, a NUL or a lone surrogate."""
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, dict):
        return any(unstorable(key) or unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(unstorable(item) for item in value)
    return False


def same_json(sent: object, read: object) -> bool:
    """Whether two JSON values are the same: numbers compared as decimals (a database may write 1e308 out in full)."""
    if isinstance(sent, bool) or isinstance(read, bool):
        return type(sent) is type(read) and sent == read
    if isinstance(sent, (int, float)) and isinstance(read, (int, float)):
        return Decimal(repr(sent)) == Decimal(repr(read))
    if isinstance(sent, dict) and isinstance(read, dict):
        return sent.keys() == read.keys() and all(same_json(sent[key], read[key]) for key in sent)
    if isinstance(sent, list) and isinstance(read, list):
        return len(sent) == len(read) and all(same_json(a, b) for a, b in zip(sent, read, strict=True))
    return sent == read


def url_part(text: str) -> str:
    """Text percent-encoded for a path segment or query value (a lone surrogate becomes its raw bytes)."""
    return quote(text, safe="", errors="surrogatepass")


# What a server can hand the app as a header value: latin-1 text without line breaks.
header_value = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "\xe9", "\x00", "\xff"]), st.integers(100, 8000)),
)
