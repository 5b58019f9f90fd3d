"""`photomend gimp install|uninstall`: folder layout, executable plug-in, sidecar, per-platform folders."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from plugin_gimp import install as installer


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {}, "home/.config/GIMP/3.0/plug-ins"),
        ("linux", {"XDG_CONFIG_HOME": "{tmp}/xdg"}, "xdg/GIMP/3.0/plug-ins"),
        ("win32", {"APPDATA": "{tmp}/Roaming"}, "Roaming/GIMP/3.0/plug-ins"),
        ("darwin", {}, "home/Library/Application Support/GIMP/3.0/plug-ins"),
    ],
)
def test_plugins_dir_per_platform(tmp_path: Path, platform: str, env: dict[str, str], expected: str) -> None:
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    found = installer.gimp_plugins_dir(platform, env, home=tmp_path / "home")
    assert found == tmp_path / expected


def test_install_writes_an_executable_plugin_and_sidecar(tmp_path: Path) -> None:
    plugin = installer.install(tmp_path / "plug-ins", python=Path("/opt/photomend/bin/python"))
    assert plugin == tmp_path / "plug-ins" / "photomend" / "photomend.py"
    assert plugin.read_text() == installer.PLUGIN_SOURCE.read_text()
    if os.name == "posix":
        assert plugin.stat().st_mode & stat.S_IXUSR
    sidecar = json.loads((plugin.parent / "photomend.json").read_text())
    assert sidecar["python"] == "/opt/photomend/bin/python"
    assert Path(sidecar["worker"]).is_file()
    assert sorted(p.name for p in plugin.parent.iterdir()) == ["photomend.json", "photomend.py"]


def test_install_defaults_to_this_python_and_reinstall_refreshes(tmp_path: Path) -> None:
    plugin = installer.install(tmp_path)
    plugin.write_text("stale")
    assert installer.install(tmp_path) == plugin
    assert plugin.read_text() == installer.PLUGIN_SOURCE.read_text()
    sidecar = json.loads((plugin.parent / "photomend.json").read_text())
    assert sidecar["python"] == str(Path(sys.executable).absolute())


def test_uninstall_removes_only_the_plugin_folder(tmp_path: Path) -> None:
    (tmp_path / "other-plugin").mkdir()
    installer.install(tmp_path)
    assert installer.uninstall(tmp_path) == tmp_path / "photomend"
    assert [p.name for p in tmp_path.iterdir()] == ["other-plugin"]
    assert installer.uninstall(tmp_path) is None


def test_main_install_and_uninstall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert installer.main(["install", "--target", str(tmp_path)]) == 0
    assert "Installed" in capsys.readouterr().out
    assert (tmp_path / "photomend" / "photomend.py").is_file()
    assert installer.main(["uninstall", "--target", str(tmp_path)]) == 0
    assert not (tmp_path / "photomend").exists()
