"""The image check against a real local image host: formats, sizes, damage, limits, rude hosts and redirects."""

import struct
import zlib

import pytest
from PIL import Image
from werkzeug import Response

from app.preflight import IMAGE_REJECTED, IMAGE_UNREACHABLE, check_image
from tests.preflight.conftest import ALLOWED, cut_short, endless_body, hang, image_bytes, trickle

MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


def serve(httpserver, body: bytes, path: str = "/face", status: int = 200, mime: str = "image/png") -> str:
    """Serve `body` at `path` on the local image host; return its URL."""
    httpserver.expect_request(path).respond_with_data(body, status=status, content_type=mime)
    return httpserver.url_for(path)


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "PNG"), ("JPEG", "JPG"), ("WEBP", "WebP")])
@pytest.mark.parametrize("size", [(512, 512), (1024, 1536)])
def test_good_images_pass(httpserver, fmt, name, size):
    """JPG, PNG and WebP, square or portrait, at least 512x512: passed, with their size and format."""
    verdict = check_image(serve(httpserver, image_bytes(*size, fmt), mime=MIME[fmt]), ALLOWED)
    assert verdict.ok and verdict.code is None
    assert (verdict.width, verdict.height, verdict.format) == (*size, name)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((300, 300), "image is 300x300 pixels; JoggAI needs at least 512x512"),
        ((600, 400), "image is 600x400 pixels; JoggAI needs at least 512x512"),
        ((1024, 768), "image is 1024x768 pixels, wider than it is tall; JoggAI needs a square or portrait image"),
    ],
    ids=["small", "short", "landscape"],
)
def test_size_and_orientation_are_rejected_with_the_size(httpserver, size, message):
    """The message says the size found and the rule."""
    verdict = check_image(serve(httpserver, image_bytes(*size, "JPEG"), mime="image/jpeg"), ALLOWED)
    assert (verdict.code, verdict.message) == (IMAGE_REJECTED, message)
    assert (verdict.width, verdict.height) == size


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (image_bytes(1024, 1024, "GIF"), "image is a GIF; JoggAI accepts JPG, PNG or WebP"),
        (image_bytes(1024, 1024, "BMP"), "image is a BMP; JoggAI accepts JPG, PNG or WebP"),
        (b"Hello, this is a text file and not a picture.\n" * 10, "image is text, not a picture"),
        (b"<!doctype html><html><body>Not found</body></html>", "an HTML page or SVG"),
        (b"\x00\x01\x02\x03" * 100, "not a picture in any format JoggAI reads"),
        (b"", "empty body"),
    ],
    ids=["gif", "bmp", "text", "html", "binary", "empty"],
)
def test_other_kinds_of_body_are_rejected(httpserver, body, says):
    """Whatever is not JPG, PNG or WebP is named as what it is."""
    verdict = check_image(serve(httpserver, body), ALLOWED)
    assert verdict.code == IMAGE_REJECTED and says in verdict.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_image_is_rejected(httpserver, fmt):
    """The header passes, the rest is missing: cut off or damaged."""
    whole = image_bytes(1024, 1024, fmt)
    verdict = check_image(serve(httpserver, whole[: len(whole) * 2 // 3]), ALLOWED)
    assert verdict.code == IMAGE_REJECTED
    assert verdict.message.startswith(f"image is a {'JPG' if fmt == 'JPEG' else fmt} file that is cut off or damaged")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns between 1x and 2x the limit
@pytest.mark.parametrize("side", [100_000, 10_000], ids=["over-twice-the-limit", "over-the-limit"])
def test_a_decompression_bomb_is_rejected_from_its_header(httpserver, side):
    """A PNG declaring more than MAX_IMAGE_PIXELS is refused before anything is decoded."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(1000))) + png_chunk(b"IEND", b"")
    verdict = check_image(serve(httpserver, b"\x89PNG\r\n\x1a\n" + chunks), ALLOWED)
    assert verdict.code == IMAGE_REJECTED
    assert f"more than {Image.MAX_IMAGE_PIXELS} pixels" in verdict.message


def test_an_11_mb_body_is_rejected_by_its_declared_length(httpserver):
    """Content-Length over 10 MB: refused without reading the body."""
    body = image_bytes(1024, 1024) + bytes(11 * 1024 * 1024)
    verdict = check_image(serve(httpserver, body), ALLOWED)
    assert verdict.code == IMAGE_REJECTED
    assert verdict.message == "image is 11 MB; JoggAI accepts at most 10 MB"


def test_an_endless_body_is_cut_at_the_limit(httpserver):
    """No Content-Length and no end: reading stops past 10 MB (the rest is never held)."""
    httpserver.expect_request("/endless").respond_with_response(Response(endless_body(), mimetype="image/png"))
    verdict = check_image(httpserver.url_for("/endless"), ALLOWED)
    assert verdict.code == IMAGE_REJECTED
    assert verdict.message == "image is larger than 10 MB; JoggAI accepts at most 10 MB"


def test_the_size_limit_is_a_parameter(httpserver):
    """A smaller max_bytes applies the same way."""
    verdict = check_image(serve(httpserver, image_bytes(1024, 1024)), ALLOWED, max_bytes=1000)
    assert verdict.code == IMAGE_REJECTED and "JoggAI accepts at most 1000 bytes" in verdict.message


@pytest.mark.parametrize("status", [404, 500, 403])
def test_error_statuses_are_unreachable(httpserver, status):
    """4xx and 5xx: the host answered, but not with the image."""
    verdict = check_image(serve(httpserver, b"nope", status=status, mime="text/plain"), ALLOWED)
    assert verdict.code == IMAGE_UNREACHABLE
    assert verdict.message == f"image could not be fetched: the image host answered HTTP {status}"


def test_a_hanging_host_is_bounded_by_the_time_limit(rude_host):
    """A host that accepts and never answers: unreachable once total_seconds are up."""
    verdict = check_image(rude_host(hang).url, ALLOWED, total_seconds=1.0)
    assert verdict.code == IMAGE_UNREACHABLE
    assert verdict.message == "image could not be fetched: the image host did not answer within 1 s"


def test_a_trickling_host_is_bounded_by_the_time_limit(rude_host):
    """Headers at once, then a byte at a time: the limit covers the whole body, not each read."""
    verdict = check_image(rude_host(trickle).url, ALLOWED, total_seconds=1.0)
    assert verdict.code == IMAGE_UNREACHABLE
    assert verdict.message == "image could not be fetched: the image host did not send the whole image within 1 s"


def test_a_connection_cut_short_is_unreachable(rude_host):
    """Fewer bytes than Content-Length promised, then the connection closes."""
    verdict = check_image(rude_host(cut_short).url, ALLOWED, total_seconds=5.0)
    assert verdict.code == IMAGE_UNREACHABLE and "broke off" in verdict.message


def test_a_refused_connection_is_unreachable(closed_port):
    """Nothing listens."""
    verdict = check_image(f"http://localhost:{closed_port}/face.png", ALLOWED)
    assert verdict.code == IMAGE_UNREACHABLE and "refused the connection" in verdict.message


def test_an_unresolvable_host_is_unreachable():
    """DNS has no answer (.invalid never resolves)."""
    verdict = check_image("https://no-such-host.invalid/face.png", ALLOWED)
    assert verdict.code == IMAGE_UNREACHABLE and "cannot be resolved" in verdict.message


def test_a_redirect_to_a_refused_address_is_not_followed(httpserver):
    """localhost is allowlisted by name; a redirect to 127.0.0.1 is not, and nothing is fetched there."""
    target = serve(httpserver, image_bytes(1024, 1024), path="/real")
    redirect = target.replace("localhost", "127.0.0.1")
    httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": redirect})
    verdict = check_image(httpserver.url_for("/moved"), ALLOWED)
    assert verdict.code == IMAGE_UNREACHABLE
    assert verdict.message == (
        "image could not be fetched: it redirects to host 127.0.0.1, which is refused: "
        "127.0.0.1 is a private address not in IMAGE_ALLOWED_NETWORKS"
    )
    assert [request.path for request, _ in httpserver.log] == ["/moved"]


def test_a_redirect_to_an_allowed_address_is_followed(httpserver):
    """A relative redirect on the same host is fetched and judged."""
    serve(httpserver, image_bytes(600, 900, "WEBP"), path="/real", mime="image/webp")
    httpserver.expect_request("/moved").respond_with_data("", status=301, headers={"Location": "/real"})
    verdict = check_image(httpserver.url_for("/moved"), ALLOWED)
    assert verdict.ok and (verdict.width, verdict.height) == (600, 900)


def test_a_redirect_loop_ends(httpserver):
    """More than five redirects: unreachable."""
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    verdict = check_image(httpserver.url_for("/loop"), ALLOWED)
    assert verdict.code == IMAGE_UNREACHABLE and "more than 5 times" in verdict.message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/face.png", "127.0.0.1 is a private address not in IMAGE_ALLOWED_NETWORKS"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("ftp://example.com/face.png", "scheme 'ftp'"),
        ("http://user:pw@localhost/face.png", "must not carry credentials"),
    ],
)
def test_refused_addresses_are_never_fetched(url, says):
    """The intake's address rules apply to pre-flight's own fetch too."""
    verdict = check_image(url, ALLOWED)
    assert verdict.code == IMAGE_UNREACHABLE and says in verdict.message


def test_a_compressed_transfer_is_rejected(httpserver):
    """An image sent with Content-Encoding gzip is not what JoggAI fetches as a file."""
    body = zlib.compress(image_bytes(1024, 1024))
    httpserver.expect_request("/gz").respond_with_data(body, headers={"Content-Encoding": "gzip"})
    verdict = check_image(httpserver.url_for("/gz"), ALLOWED)
    assert verdict.code == IMAGE_REJECTED and "compressed (gzip)" in verdict.message


def test_a_rejection_from_the_header_stops_the_download(httpserver):
    """A small image's header decides: an endless body after it is never read to the end."""

    def small_then_endless():
        yield image_bytes(300, 300)[:200]
        yield from endless_body()

    httpserver.expect_request("/small").respond_with_response(Response(small_then_endless(), mimetype="image/png"))
    verdict = check_image(httpserver.url_for("/small"), ALLOWED)
    assert verdict.message == "image is 300x300 pixels; JoggAI needs at least 512x512"
