"""Test images (`GET /_sandbox/images/{W}x{H}.{png|jpg|webp}`): drawn with Pillow once, then served from a cache."""

from __future__ import annotations

import io
import re
from functools import lru_cache

from PIL import Image, ImageDraw

MAX_SIDE = 4096
FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
NAME = re.compile(r"(\d{1,6})x(\d{1,6})\.([a-z]+)")
BACKGROUND, FACE, FEATURES = (70, 110, 160), (235, 200, 170), (60, 40, 30)


class ImageNameError(ValueError):
    """A name the image route does not serve; `status` is 404 (no such image) or 400 (bad size)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def parse_name(name: str) -> tuple[int, int, str]:
    """Width, height and extension from `{W}x{H}.{ext}`; sizes 1..MAX_SIDE."""
    match = NAME.fullmatch(name)
    if match is None or match.group(3) not in FORMATS:
        raise ImageNameError("images are named {W}x{H}.png, .jpg or .webp", 404)
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ImageNameError(f"width and height must be from 1 to {MAX_SIDE}", 400)
    return width, height, match.group(3)


def content_type(extension: str) -> str:
    """The MIME type served for an extension."""
    return FORMATS[extension][1]


@lru_cache(maxsize=32)
def image_bytes(width: int, height: int, extension: str) -> bytes:
    """The encoded image: a plain background with a simple face, so it looks like a portrait."""
    picture = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    side = min(width, height)
    cx, cy, r = width / 2, height * 0.45, side * 0.3
    draw.ellipse((cx - r, cy - r * 1.2, cx + r, cy + r * 1.2), fill=FACE)
    eye = max(1.0, r * 0.12)
    for dx in (-0.4 * r, 0.4 * r):
        draw.ellipse((cx + dx - eye, cy - 0.3 * r - eye, cx + dx + eye, cy - 0.3 * r + eye), fill=FEATURES)
    draw.arc((cx - 0.5 * r, cy, cx + 0.5 * r, cy + 0.6 * r), 20, 160, fill=FEATURES, width=max(1, int(eye / 2)))
    buffer = io.BytesIO()
    picture.save(buffer, FORMATS[extension][0], **({"quality": 85} if extension != "png" else {}))
    return buffer.getvalue()
