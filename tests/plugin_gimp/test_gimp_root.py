"""The Debian 13 GIMP root helper: mirror taken from the machine's apt sources, build stamp."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin_gimp import gimp_root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "sources.list.d/debian.sources": "Types: deb\nURIs: http://mirror.example/debian\n"
                "Suites: bookworm\nComponents: main\n\nTypes: deb\n"
                "URIs: http://mirror.example/debian-security\nSuites: bookworm-security\n",
                "sources.list.d/other.sources": "Types: deb\nURIs: https://vendor.example/apt\n",
            },
            "http://mirror.example/debian",
        ),
        (
            {"sources.list": "deb [arch=amd64] http://old.example/debian/ bookworm main\n"},
            "http://old.example/debian",
        ),
        (
            {"sources.list.d/vendor.list": "deb https://vendor.example/apt stable main\n"},
            gimp_root.DEFAULT_MIRROR,
        ),
        ({}, gimp_root.DEFAULT_MIRROR),
    ],
)
def test_mirror_comes_from_apt_sources(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert gimp_root.mirror_from_apt_sources(tmp_path) == expected


def test_root_without_matching_stamp_is_not_built(tmp_path: Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/gimp-console-3.0").write_text("")
    assert not gimp_root.is_built(tmp_path)
    (tmp_path / gimp_root.STAMP).write_text("trixie: gimp\n")  # built for an older package list
    assert not gimp_root.is_built(tmp_path)
    (tmp_path / gimp_root.STAMP).write_text(gimp_root._stamp_text())
    assert gimp_root.is_built(tmp_path)
