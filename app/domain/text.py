"""Text the database can store: PostgreSQL refuses NUL (U+0000), and UTF-8 cannot encode a lone surrogate."""

from app.domain.errors import DomainError

NUL_MESSAGE = "must not contain NUL (U+0000)"
SURROGATE_MESSAGE = "must be valid Unicode (no lone surrogates)"


def unstorable_reason(text: str) -> str | None:
    """Why text cannot be stored (a NUL, a lone surrogate), or None when it can."""
    if "\x00" in text:
        return NUL_MESSAGE
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE
    return None


def require_storable(what: str, text: str) -> None:
    """Refuse text the database cannot hold with a clear rule error rather than a crash at the database."""
    reason = unstorable_reason(text)
    if reason:
        raise DomainError(f"{what} {reason}")
