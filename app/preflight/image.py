"""The image check: fetch image_url (bounded) and test it with Pillow against JoggAI's rules, before any credit goes."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from PIL import Image

from app.preflight.fetch import Deadline, Unreachable, open_image, preflight_session, read_chunks

log = logging.getLogger(__name__)
IMAGE_REJECTED, IMAGE_UNREACHABLE = "image_rejected", "image_unreachable"
MAX_BYTES = 10 * 1024 * 1024  # JoggAI's limit
TOTAL_SECONDS = 10.0  # the whole fetch, redirects included
MIN_SIDE = 512
HEADER_PROBE_BYTES = 1024 * 1024  # past this, the header is read once the body is complete
PILLOW_FORMATS = ("JPEG", "PNG", "WEBP")  # the only decoders hostile bytes ever reach
FORMAT_NAMES = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WebP"}
ACCEPTED = "JoggAI accepts JPG, PNG or WebP"
MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF")  # PNG, JPEG, and WebP's container (checked further)
FOREIGN = (
    (b"GIF87a", "a GIF"), (b"GIF89a", "a GIF"), (b"BM", "a BMP"), (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"), (b"%PDF", "a PDF"), (b"\x00\x00\x01\x00", "an ICO"), (b"8BPS", "a PSD"),
)  # fmt: skip
HEIF_BRANDS = {b"heic": "a HEIC", b"heix": "a HEIC", b"mif1": "a HEIF", b"avif": "an AVIF"}


@dataclass(frozen=True)
class ImageVerdict:
    """The outcome of the image check: `code` None when the image may go to JoggAI, else why not in `message`."""

    code: str | None
    message: str
    width: int | None = None
    height: int | None = None
    format: str | None = None  # JPG, PNG or WebP

    @property
    def ok(self) -> bool:
        """Whether the image passed."""
        return self.code is None


def rejected(
    message: str, width: int | None = None, height: int | None = None, name: str | None = None
) -> ImageVerdict:
    """An image JoggAI would refuse (and still charge for)."""
    return ImageVerdict(IMAGE_REJECTED, message, width, height, name)


def check_image(
    url: str,
    allowed: Sequence[str] = (),
    *,
    max_bytes: int = MAX_BYTES,
    total_seconds: float = TOTAL_SECONDS,
    session: requests.Session | None = None,
) -> ImageVerdict:
    """Fetch url (allowed: IMAGE_ALLOWED_NETWORKS) within total_seconds and max_bytes, and judge it; never raises."""
    deadline = Deadline.after(total_seconds)
    try:
        with open_image(url, allowed, deadline, session or preflight_session()) as response:
            return judge_stream(response, deadline, max_bytes)
    except Unreachable as exc:
        return ImageVerdict(IMAGE_UNREACHABLE, f"image could not be fetched: {exc.reason}")
    except Exception:  # a bug here must not strand the motion: say so, log it whole
        log.exception("pre-flight image check failed unexpectedly")
        return ImageVerdict(IMAGE_UNREACHABLE, "image could not be fetched: the check itself failed (logged)")


def warm() -> None:
    """Load Pillow's JPEG and PNG readers now (a worker's start), not during the first check."""
    Image.preinit()


def judge_stream(response: requests.Response, deadline: Deadline, max_bytes: int) -> ImageVerdict:
    """Read the body; stop early when the header already decides a rejection or the size passes max_bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return too_large(int(declared), max_bytes)
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return rejected(f"image is sent compressed ({encoding[:20]}); serve it as a plain JPG, PNG or WebP file")
    body, header_read = bytearray(), False
    for chunk in read_chunks(response, deadline):
        body += chunk
        if len(body) > max_bytes:
            return too_large(None, max_bytes)
        if not header_read and len(body) <= HEADER_PROBE_BYTES:
            early = judge_header(bytes(body), complete=False)
            if early is not None and not early.ok:
                return early  # no need to download the rest
            header_read = early is not None
    return judge_bytes(bytes(body))


def too_large(size: int | None, max_bytes: int) -> ImageVerdict:
    """The size rule, with the size when the host declared it."""
    limit = byte_size(max_bytes)
    if size is None:
        return rejected(f"image is larger than {limit}; JoggAI accepts at most {limit}")
    return rejected(f"image is {byte_size(size)}; JoggAI accepts at most {limit}")


def byte_size(count: int) -> str:
    """A byte count in MB from 1 MB up (10 MB, 10.5 MB), else in bytes."""
    if count >= 1024 * 1024:
        return f"{round(count / 1024 / 1024, 1):g} MB"
    return f"{count} bytes"


def judge_bytes(data: bytes) -> ImageVerdict:
    """The verdict on a complete body: format, size, orientation, then whether it decodes."""
    if not data:
        return rejected("image_url answered with an empty body, not an image")
    verdict = judge_header(data, complete=True)
    if verdict is None:
        return rejected(f"image cannot be read as a JPG, PNG or WebP file; {ACCEPTED}")
    if not verdict.ok:
        return verdict
    damage = damaged(data, verdict)
    return rejected(damage) if damage else verdict


def judge_header(data: bytes, complete: bool) -> ImageVerdict | None:
    """From the first bytes: a rejection, a pass (with size and format), or None while more bytes are needed."""
    foreign = foreign_kind(data)
    if foreign:
        return rejected(f"image is {foreign}; {ACCEPTED}")
    too_many = f"image has more than {Image.MAX_IMAGE_PIXELS} pixels, too many to check safely"
    try:
        with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as picture:
            kind, (width, height) = picture.format, picture.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # the warning too, where filters raise it
        return rejected(too_many)
    except Exception:  # noqa: BLE001 - hostile bytes make Pillow raise nearly anything; all mean "not readable (yet)"
        return None if not complete else rejected(f"image cannot be read as a JPG, PNG or WebP file; {ACCEPTED}")
    if width * height > Image.MAX_IMAGE_PIXELS:  # Pillow only warns here; warnings filters are not thread-safe to flip
        return rejected(too_many, width, height)
    return size_verdict(FORMAT_NAMES.get(kind or "", kind or "?"), width, height)


def size_verdict(name: str, width: int, height: int) -> ImageVerdict:
    """At least MIN_SIDE on each side, and square or portrait."""
    if width < MIN_SIDE or height < MIN_SIDE:
        message = f"image is {width}x{height} pixels; JoggAI needs at least {MIN_SIDE}x{MIN_SIDE}"
        return rejected(message, width, height, name)
    if width > height:
        message = f"image is {width}x{height} pixels, wider than it is tall; JoggAI needs a square or portrait image"
        return rejected(message, width, height, name)
    return ImageVerdict(None, f"image is a {name} of {width}x{height} pixels", width, height, name)


def foreign_kind(data: bytes) -> str | None:
    """What the bytes are when they are certainly not JPG, PNG or WebP (GIF, text, ...); None if they may be."""
    head = data[:64]
    if len(head) < 12:
        return None
    if head.startswith(MAGIC):
        return None if not head.startswith(b"RIFF") or head[8:12] == b"WEBP" else "a RIFF file that is not WebP"
    for magic, name in FOREIGN:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return HEIF_BRANDS.get(head[8:12], "a video or ISO media file")
    text = head.lstrip()
    if text[:1] == b"<":
        return "text (an HTML page or SVG), not a picture"
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "text, not a picture"
    return "not a picture in any format JoggAI reads"


def damaged(data: bytes, header: ImageVerdict) -> str | None:
    """Why a body whose header passed does not decode (cut off, corrupted), or None when it is whole."""
    try:
        with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as picture:
            picture.verify()  # PNG: every chunk's CRC and the end marker
        if header.format != "PNG":  # PNG is verified without decoding its pixels, which could take 300 MB
            with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as picture:
                picture.draft("RGB", (max(1, picture.width // 8), max(1, picture.height // 8)))  # JPEG at 1/8
                picture.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means JoggAI could not use it either
        return f"image is a {header.format} file that is cut off or damaged ({short(exc)})"
    return None


def short(exc: Exception) -> str:
    """A decoder error in a few words."""
    text = str(exc).strip() or exc.__class__.__name__
    return text[:80]
