"""Settings: the dialog writes them, a new window reads them back; a damaged file gives defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.qt_settings import QtSettingsDialog
from desktop.settings import AppSettings, settings_path


def test_dialog_choices_persist_across_windows(qtbot, tmp_path: Path, make_window) -> None:  # noqa: ANN001
    path = tmp_path / "settings.json"
    dialog = QtSettingsDialog(AppSettings.load(path), path=path)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.tile_size.setValue(256)
    dialog.output_format.setCurrentIndex(dialog.output_format.findData("PNG"))
    dialog.quality.setValue(80)
    dialog.accept()
    assert path.exists()

    window = make_window(settings_file=path)
    assert (window.settings.device, window.settings.tile_size) == ("cpu", 256)
    assert (window.settings.output_format, window.settings.quality) == ("PNG", 80)
    again = QtSettingsDialog(window.settings, path=path)
    qtbot.addWidget(again)
    assert again.device.currentData() == "cpu"
    assert again.tile_size.value() == 256
    assert again.output_format.currentData() == "PNG"
    assert again.quality.value() == 80


def test_cancel_leaves_the_file_alone(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "settings.json"
    dialog = QtSettingsDialog(AppSettings.load(path), path=path)
    qtbot.addWidget(dialog)
    dialog.tile_size.setValue(512)
    dialog.reject()
    assert not path.exists()
    assert AppSettings.load(path).tile_size == 0


def test_default_location_is_the_per_user_config_dir(user_dirs: Path) -> None:
    settings = AppSettings(device="cpu")
    settings.add_recent(Path("/photos/a.jpg"))
    settings.save()
    assert settings_path().is_relative_to(user_dirs)
    assert AppSettings.load().device == "cpu"
    assert AppSettings.load().recent_files == [str(Path("/photos/a.jpg").resolve())]


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"device": "quantum", "quality": 400}'])
def test_damaged_settings_fall_back_to_defaults(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    settings = AppSettings.load(path)
    assert settings.device == "auto"
    assert 1 <= settings.quality <= 100


def test_check_shows_the_device_onnx_runtime_really_uses(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from desktop.qt_workers import wait_for_workers
    from engine.runtime import available_devices

    dialog = QtSettingsDialog(AppSettings(), path=tmp_path / "settings.json")
    qtbot.addWidget(dialog)
    dialog.check_button.click()
    qtbot.waitUntil(dialog.check_button.isEnabled, timeout=120_000)
    assert wait_for_workers(10_000)
    text = dialog.in_use.text()
    assert text.startswith("In use: "), text
    assert text.split()[2] in available_devices()  # "In use: cpu (CPUExecutionProvider) ..."
