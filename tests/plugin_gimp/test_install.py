"""`photomend-gimp install|uninstall`: folder layout, executable plug-in, sidecar, platforms, command."""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_gimp import install as installer

REPO = Path(__file__).resolve().parents[2]


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
    plugin = tmp_path / "photomend" / "photomend.py"
    assert capsys.readouterr().out == (
        f"installed the PhotoMend plug-in in {plugin}; restart GIMP and look under Filters › Enhance\n"
    )
    assert plugin.is_file()
    assert installer.main(["uninstall", "--target", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"removed the PhotoMend plug-in from {tmp_path / 'photomend'}\n"
    assert not (tmp_path / "photomend").exists()
    assert installer.main(["uninstall", "--target", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "the PhotoMend plug-in was not installed\n"


def test_main_records_the_python_it_is_given(tmp_path: Path) -> None:
    assert installer.main(["install", "--target", str(tmp_path), "--python", "/opt/pm/bin/python"]) == 0
    sidecar = json.loads((tmp_path / "photomend" / "photomend.json").read_text())
    assert sidecar["python"] == "/opt/pm/bin/python"


def test_main_reports_a_folder_it_cannot_write_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "plug-ins"
    blocker.write_text("a file where the plug-ins folder should be")
    assert installer.main(["install", "--target", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("photomend-gimp install: ")
    assert err.count("\n") == 1


def test_main_rejects_an_unknown_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        installer.main(["reinstall"])
    assert exited.value.code == 2
    assert "photomend-gimp" in capsys.readouterr().err


def test_photomend_gimp_is_the_installers_console_script() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = pyproject["project"]["scripts"]
    assert scripts["photomend-gimp"] == "plugin_gimp.install:main"
    assert scripts["photomend"] == "engine.cli:main"
    module, _, attr = scripts["photomend-gimp"].partition(":")
    assert getattr(importlib.import_module(module), attr) is installer.main


def test_module_runs_as_a_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugin_gimp.install", "install", "--target", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("installed the PhotoMend plug-in in ")
    assert (tmp_path / "photomend" / "photomend.py").is_file()
