"""The README's screenshots show today's app and models: docs/screenshots/MANIFEST.json says what each was
made from (the models it loaded, the app's sources, its input photos, the tool), and these tests compare that
with the tree. When one fails, regenerate them all: `.venv/bin/python -m tools.screenshots`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.screenshots import (
    MANIFEST_FILE,
    MAX_BYTES,
    SCREENSHOTS,
    app_sources_hash,
    load_manifest,
    sha256_of,
    stale_reasons,
)

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate them: .venv/bin/python -m tools.screenshots"
HAS_MANIFEST = (SCREENSHOTS / MANIFEST_FILE).exists()
MANIFEST = load_manifest() if HAS_MANIFEST else {"screenshots": {}, "made_elsewhere": {}, "tool": ""}


def test_there_is_a_manifest() -> None:
    assert HAS_MANIFEST, f"docs/screenshots/{MANIFEST_FILE} is missing; {REGENERATE}"


def readme_screenshots() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"\]\(docs/screenshots/([^)]+)\)", text)


def test_every_readme_screenshot_is_accounted_for() -> None:
    shown = readme_screenshots()
    assert shown, "the README shows no screenshots"
    made_here, elsewhere = MANIFEST["screenshots"], MANIFEST["made_elsewhere"]
    unknown = [name for name in shown if name not in made_here and name not in elsewhere]
    assert unknown == [], f"README screenshots the manifest does not know: {unknown}; {REGENERATE}"


@pytest.mark.parametrize("name", sorted(MANIFEST["made_elsewhere"]))
def test_a_screenshot_made_elsewhere_is_there(name: str) -> None:
    assert (SCREENSHOTS / name).exists(), f"{name}: {MANIFEST['made_elsewhere'][name]}"


@pytest.mark.parametrize("name", sorted(MANIFEST["screenshots"]))
def test_the_screenshot_shows_the_current_app_and_models(name: str) -> None:
    reasons = stale_reasons(name, MANIFEST["screenshots"][name])
    assert reasons == [], f"{'; '.join(reasons)}; {REGENERATE}"


def test_the_screenshots_come_from_the_current_tool() -> None:
    assert MANIFEST["tool"] == sha256_of(ROOT / "tools" / "screenshots.py"), REGENERATE


def test_the_manifest_notices_a_change_to_the_app(tmp_path: Path) -> None:
    """The check itself: one changed line in desktop/ gives another hash."""
    (tmp_path / "desktop").mkdir()
    for path in (ROOT / "desktop").glob("*.py"):
        (tmp_path / "desktop" / path.name).write_bytes(path.read_bytes())
    assert app_sources_hash(tmp_path) == app_sources_hash()
    window = tmp_path / "desktop" / "qt_main_window.py"
    window.write_text(window.read_text() + "\n# a change\n")
    assert app_sources_hash(tmp_path) != app_sources_hash()


@pytest.mark.parametrize("name", sorted(MANIFEST["screenshots"]))
def test_screenshots_stay_small(name: str) -> None:
    assert (SCREENSHOTS / name).stat().st_size <= MAX_BYTES
