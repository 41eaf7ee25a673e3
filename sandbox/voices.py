"""Voice lists (`GET /v2/voices`, `GET /v2/voices/custom`): a fixed library, the account's custom voices, paging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.avatars import whole_number

MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 100, 10
SAMPLE_BASE_URL = "https://cdn.sandbox.invalid/voices"

# The library every account sees: (voice_id, name, language, gender); ids in JoggAI's spelling.
LIBRARY = (
    ("en-US-ChristopherNeural", "Christopher", "english", "male"),
    ("en-US-JennyNeural", "Jenny", "english", "female"),
    ("en-US-GuyNeural", "Guy", "english", "male"),
    ("en-US-AriaNeural", "Aria", "english", "female"),
    ("en-GB-SoniaNeural", "Sonia", "english", "female"),
    ("en-GB-RyanNeural", "Ryan", "english", "male"),
    ("de-DE-KatjaNeural", "Katja", "german", "female"),
    ("de-DE-ConradNeural", "Conrad", "german", "male"),
    ("fr-FR-DeniseNeural", "Denise", "french", "female"),
    ("fr-FR-HenriNeural", "Henri", "french", "male"),
    ("es-ES-ElviraNeural", "Elvira", "spanish", "female"),
    ("es-ES-AlvaroNeural", "Alvaro", "spanish", "male"),
    ("ja-JP-NanamiNeural", "Nanami", "japanese", "female"),
    ("zh-CN-XiaoxiaoNeural", "Xiaoxiao", "chinese", "female"),
)


@dataclass(frozen=True)
class VoiceQuery:
    """A validated list request: page (from 1) and page size (1..100)."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> VoiceQuery:
        """Read the query string; a bad value is a 40000 naming the parameter."""
        page = whole_number(args.get("page"), "page", 1, None, 1)
        page_size = whole_number(args.get("page_size"), "page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
        return cls(page, page_size)


def library_view(voice_id: str, name: str, language: str, gender: str) -> dict[str, Any]:
    """One library voice with the fields JoggAI's schema lists."""
    return {
        "voice_id": voice_id,
        "name": name,
        "language": language,
        "gender": gender,
        "audio_url": f"{SAMPLE_BASE_URL}/{voice_id}.mp3",
    }


def custom_view(voice: Mapping[str, str]) -> dict[str, Any]:
    """One custom voice (a knob entry) with JoggAI's fields."""
    return {
        "voice_id": voice["voice_id"],
        "name": voice.get("name") or voice["voice_id"],
        "language": voice.get("language") or "",
        "audio_url": f"{SAMPLE_BASE_URL}/custom/{voice['voice_id']}.mp3",
    }


def library_page(query: VoiceQuery) -> dict[str, Any]:
    """One page of the library, as JoggAI answers it: `voices` and `has_more`."""
    views = [library_view(*entry) for entry in LIBRARY]
    return page_of(views, query)


def custom_page(custom: Sequence[Mapping[str, str]], query: VoiceQuery) -> dict[str, Any]:
    """One page of the custom voices: `voices`, `has_more` and `total`."""
    return page_of([custom_view(voice) for voice in custom], query)


def page_of(views: list[dict[str, Any]], query: VoiceQuery) -> dict[str, Any]:
    """Slice `views` to the requested page."""
    start = (query.page - 1) * query.page_size
    end = start + query.page_size
    return {
        "voices": views[start:end],
        "has_more": end < len(views),
        "total": len(views),
        "page": query.page,
        "page_size": query.page_size,
    }
