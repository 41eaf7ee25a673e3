"""Pre-flight: checks a motion's image and voice before a credit is spent (no Flask, no database)."""

from app.preflight.image import IMAGE_REJECTED, IMAGE_UNREACHABLE, ImageVerdict, check_image
from app.preflight.voices import VoiceCatalog, VoiceCheck, catalog_for, unknown_voice_message

VOICE_UNKNOWN = "voice_unknown"

__all__ = [
    "IMAGE_REJECTED",
    "IMAGE_UNREACHABLE",
    "VOICE_UNKNOWN",
    "ImageVerdict",
    "VoiceCatalog",
    "VoiceCheck",
    "catalog_for",
    "check_image",
    "unknown_voice_message",
]
