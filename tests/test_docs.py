"""The docs a clone carries: links stay inside the repository, and the callers' guide covers every operation."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_relative_links_resolve_inside_the_repository(page):
    """Every relative link names a file that exists in this repository (nothing like ../shared/...)."""
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{page.name} links outside the repository: {target}"
        assert path.exists(), f"{page.name} links to a missing file: {target}"


def test_readme_names_no_file_outside_the_repository():
    """Not even as plain text: a clone has no ../shared folder."""
    assert "../" not in (ROOT / "README.md").read_text()


def test_the_callers_guide_lists_every_operation(client):
    """docs/api.md has a row for each operation of /openapi.json, as METHOD and path."""
    guide = (ROOT / "docs" / "api.md").read_text()
    spec = client.get("/openapi.json").json
    for path, item in spec["paths"].items():
        written = re.sub(r"\{\w+\}", "{id}", path)
        for method in HTTP_METHODS & set(item):
            assert f"`{method.upper()} {written}`" in guide, f"{method.upper()} {path}"


def test_the_callers_guide_explains_every_error_code():
    """docs/api.md has a row for each `error.code` a motion can end with, pre-flight's included."""
    from app.domain.doubt import SUBMISSION_LOST
    from app.preflight import IMAGE_REJECTED, IMAGE_UNREACHABLE, VOICE_UNKNOWN

    guide = (ROOT / "docs" / "api.md").read_text()
    jogg = ["jogg_rejected", "jogg_failed", "jogg_error", "jogg_unavailable", "motion_expired"]
    for code in [IMAGE_REJECTED, IMAGE_UNREACHABLE, VOICE_UNKNOWN, SUBMISSION_LOST, *jogg]:
        assert f"\n| `{code}` |" in guide, code


def test_the_operators_guide_lists_every_process_and_clock_task(settings):
    """docs/operations.md shows each Procfile command as written and has a row for each clock task."""
    from app.jobs import schedule

    guide = (ROOT / "docs" / "operations.md").read_text()
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, command = line.split(":", 1)
        assert f"| {name} | `{command.strip()}` |" in guide, line
    for task in schedule(settings):
        assert f"\n| `{task.name}` |" in guide, task.name


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_no_page_sends_the_reader_to_the_design_folder(page):
    """The design notes are not in the repository: a page says what it needs, not "see CONTRACT.md"."""
    text = page.read_text()
    for name in ("CONTRACT.md", "JOGG_API.md", "ARCHITECTURE.md", "STYLE.md", "design/", "Contract section"):
        assert name not in text, f"{page.name} names {name}"
