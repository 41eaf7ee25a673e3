"""Test images: {W}x{H}.{png|jpg|webp} drawn with Pillow, bounded sizes, cached."""

import io

import pytest
from PIL import Image


def fetch(sandbox, name: str):
    """GET one test image."""
    return sandbox.http.get(f"{sandbox.base_url}/_sandbox/images/{name}", timeout=10)


@pytest.mark.parametrize(("ext", "fmt", "mime"), [("png", "PNG", "image/png"), ("jpg", "JPEG", "image/jpeg"),
                                                  ("webp", "WEBP", "image/webp")])  # fmt: skip
def test_images_have_the_size_and_format_asked_for(sandbox, ext, fmt, mime):
    """The bytes decode to the requested size and format, with its Content-Type."""
    response = fetch(sandbox, f"1024x1536.{ext}")
    assert response.status_code == 200 and response.headers["Content-Type"] == mime
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.format == fmt and picture.size == (1024, 1536)


def test_the_same_image_is_served_from_the_cache(sandbox):
    """Two requests, identical bytes; both counted."""
    first, second = fetch(sandbox, "600x800.png"), fetch(sandbox, "600x800.png")
    assert first.content == second.content
    assert sandbox.stats()["images_served"] == 2


@pytest.mark.parametrize("name", ["0x512.png", "4097x512.png", "512x99999.jpg"])
def test_sizes_out_of_bounds_are_a_400(sandbox, name):
    """Width and height from 1 to 4096."""
    response = fetch(sandbox, name)
    assert response.status_code == 400 and "4096" in response.json()["error"]


@pytest.mark.parametrize("name", ["512x512.gif", "512.png", "axb.png", "512x512", "512x512.PNG"])
def test_other_names_are_a_404(sandbox, name):
    """Only {W}x{H}.png, .jpg and .webp exist."""
    assert fetch(sandbox, name).status_code == 404
