"""The main window: open by drop / command line, bad files, runs with the real engine, cancel, save, undo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.io import read_photo
from tests.conftest import save_rgb, textured_image
from tests.desktop.conftest import drop

RUN_TIMEOUT_MS = 180_000  # first run loads the models; the machine is shared


def test_drop_event_loads_a_photo(qtbot, make_window, noisy_photo: Path) -> None:  # noqa: ANN001
    window = make_window()
    with qtbot.waitSignal(window.photoLoaded, timeout=10_000) as loaded:
        drop(window, [noisy_photo])
    assert loaded.args == [noisy_photo]
    assert window.canvas.before is not None
    assert (window.canvas.before.width(), window.canvas.before.height()) == (128, 96)
    assert window.canvas.after is None
    assert noisy_photo.name in window.windowTitle()
    assert window.settings.recent_files[0] == str(noisy_photo.resolve())
    assert window.recent_menu.actions()[0].text() == str(noisy_photo.resolve())


def test_dropping_a_broken_file_shows_why_and_keeps_the_window(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not really a jpeg")
    window = make_window()
    drop(window, [bad])
    qtbot.waitUntil(lambda: bool(window.error_text), timeout=10_000)
    assert "broken.jpg" in window.error_text
    assert window.photo is None and window.isVisible()


def test_command_line_opens_the_first_and_queues_the_rest(make_window, photo_dir: Path) -> None:  # noqa: ANN001
    window = make_window()
    first, second = photo_dir / "a.png", photo_dir / "b.jpg"
    window.open_paths([first, second, photo_dir / "sub"])
    assert window.photo is not None and Path(window.photo.source) == first
    queued = sorted(Path(item.path).name for item in window.batch.queue.items)
    assert queued == ["b.jpg", "c.png"]


def test_app_main_parses_files_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.app import main, parse_args

    assert parse_args(["x.jpg", "y.png"]).files == [Path("x.jpg"), Path("y.png")]
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert "PhotoMend" in capsys.readouterr().out


def test_missing_models_show_the_engine_message_not_a_crash(
    qtbot,
    make_window,
    noisy_photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    # An empty resources folder: whichever model the run needs first is missing.
    monkeypatch.setenv("PHOTOMEND_RESOURCES", str(tmp_path / "no-resources"))
    window = make_window()
    assert window.open_photo(noisy_photo)
    with qtbot.waitSignal(window.restoreFailed, timeout=RUN_TIMEOUT_MS) as failed:
        window.run_restore("remove the noise")
    assert failed.args[0] and window.error_text == failed.args[0]
    assert window.canvas.after is None
    assert window.prompt.run_button.isEnabled()


def run_and_wait(qtbot, window, text: str = "remove the noise"):  # noqa: ANN001, ANN201
    """Run and wait; an engine failure (e.g. no restore model yet) fails the test at once with its message."""
    outcome: list[tuple[str, object]] = []
    window.restoreFinished.connect(lambda result: outcome.append(("finished", result)))
    window.restoreFailed.connect(lambda message: outcome.append(("failed", message)))
    assert window.run_restore(text)
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    kind, value = outcome[0]
    assert kind == "finished", f"the engine failed: {value}"
    return value


def test_run_with_the_real_engine_changes_the_after_side(qtbot, make_window, noisy_photo: Path) -> None:  # noqa: ANN001
    window = make_window()
    assert window.open_photo(noisy_photo)
    result = run_and_wait(qtbot, window)
    before = window.photo.pixels
    after = window.after_pixels()
    assert after is not None and after.shape == before.shape
    assert float(np.abs(after - before).mean()) > 0.005
    assert window.canvas.after is not None and window.save_action.isEnabled()

    # The strength slider re-blends the kept network output: 0 gives the photo back, no re-run.
    window.prompt.strength.setValue(0)
    np.testing.assert_allclose(window.after_pixels(), result.original, atol=1e-6)
    window.prompt.strength.setValue(100)
    np.testing.assert_allclose(window.after_pixels(), result.blend(), atol=1e-6)  # the engine's own mix

    # Undo goes back to "no result", redo brings the result back.
    window.undo_stack.undo()
    assert window.canvas.after is None and window.after_pixels() is None
    window.undo_stack.redo()
    assert window.after_pixels() is not None


def test_large_photo_shows_a_fast_preview_before_full_resolution(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    path = save_rgb(tmp_path / "wide.png", textured_image(300, 400, seed=7))
    window = make_window()
    assert window.open_photo(path)
    window.preview_side = lambda: 96  # a "screen" much smaller than the photo
    previews = []
    window.previewShown.connect(previews.append)
    result = run_and_wait(qtbot, window)
    assert len(previews) == 1
    assert max(previews[0].restored.shape[:2]) == 96
    assert result.restored.shape[:2] == (300, 400)


def test_cancel_stops_the_run_and_keeps_the_photo(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    path = save_rgb(tmp_path / "big.png", textured_image(256, 256, seed=5))
    window = make_window()
    window.settings.tile_size = 64  # many tiles, so the cancel lands between two of them
    assert window.open_photo(path)
    outcome: list[str] = []
    window.restoreFinished.connect(lambda _result: outcome.append("finished"))
    window.restoreFailed.connect(lambda message: outcome.append(f"failed: {message}"))
    window.restoreCancelled.connect(lambda: outcome.append("cancelled"))
    assert window.run_restore("remove the noise")
    worker = window._worker
    # Cancel once the engine reports progress from inside the run: the worker is really working.
    worker.signals.progress.connect(lambda fraction, stage: window.cancel_restore())
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    assert outcome == ["cancelled"]
    assert worker.cancel_token.cancelled
    assert window.canvas.after is None and window.after_pixels() is None
    assert window.undo_stack.count() == 0
    assert window.prompt.run_button.isEnabled() and not window.prompt.cancel_button.isEnabled()


def test_save_keeps_format_depth_and_never_overwrites_the_original_silently(
    qtbot,
    make_window,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    source = tmp_path / "deep.png"
    deep = (textured_image(64, 80, seed=9) * 65535).astype(np.uint16)
    Image.fromarray(deep[..., 0]).save(source)  # 16-bit greyscale PNG
    original_bytes = source.read_bytes()
    window = make_window()
    assert window.open_photo(source)
    run_and_wait(qtbot, window)

    target = window.default_save_path()
    assert target == tmp_path / "deep-restored.png"
    assert window.write_to(target)
    saved = read_photo(target)
    assert (saved.format, saved.bit_depth, saved.grayscale) == ("PNG", 16, True)

    # Saving onto the original asks first; answering No leaves it untouched.
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *args, **kw: asked.append(args) or QMessageBox.StandardButton.No
    )
    assert not window.write_to(source, confirmed=True)
    assert asked and source.read_bytes() == original_bytes


def test_blur_panel_reports_the_photo_and_toggles_the_heat_map(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    import cv2

    path = save_rgb(tmp_path / "soft.png", cv2.GaussianBlur(textured_image(240, 320, seed=2), (0, 0), 6))
    window = make_window()
    with qtbot.waitSignal(window.blur_panel.analysed, timeout=60_000) as analysed:
        assert window.open_photo(path)
    report = analysed.args[0]
    assert report.blurry
    assert window.blur_panel.score_label.text() == f"{report.score:.1f}"
    assert window.blur_panel.verdict_label.text() == "blurry"
    assert window.canvas.overlay is None
    window.overlay_action.trigger()  # the View menu item / "B" key
    assert window.blur_panel.overlay_box.isChecked()
    assert window.canvas.overlay is not None
    assert window.canvas.overlay.width() / window.canvas.overlay.height() == pytest.approx(
        320 / 240, rel=0.02
    )
    window.blur_panel.overlay_box.setChecked(False)
    assert window.canvas.overlay is None and not window.overlay_action.isChecked()


def test_view_actions_flip_and_side_by_side_reach_the_canvas(make_window, noisy_photo: Path) -> None:  # noqa: ANN001
    window = make_window()
    assert window.open_photo(noisy_photo)
    window.flip_action.trigger()
    assert window.canvas.show_before
    window.flip_action.trigger()
    assert not window.canvas.show_before
    window.side_action.trigger()
    assert window.canvas.side_by_side and len(window.canvas.panes()) == 2
    window.fit_action.trigger()
    assert window.canvas.is_fit
    window.actual_action.trigger()
    assert window.canvas.scale == 1.0


def test_backslash_key_flips_before_after(qtbot, make_window, noisy_photo: Path) -> None:  # noqa: ANN001
    window = make_window()
    assert window.open_photo(noisy_photo)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)  # shortcuts need it
    window.canvas.setFocus()
    # Through the QWindow, as the platform delivers keys, so that shortcuts are matched.
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Backslash)
    assert window.canvas.show_before
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Backslash)
    assert not window.canvas.show_before


def test_save_as_jpeg_keeps_exif_and_the_chosen_quality(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    exif = Image.Exif()
    exif[0x010F] = "PhotoMend Test Camera"  # Make
    source = tmp_path / "camera.jpg"
    pixels = (textured_image(64, 96, seed=3) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(source, quality=95, exif=exif.tobytes())
    window = make_window()
    window.settings.quality = 70
    assert window.open_photo(source)
    run_and_wait(qtbot, window)
    target = tmp_path / "camera-restored.jpg"
    assert window.write_to(target)
    with Image.open(target) as saved:
        assert saved.format == "JPEG"
        assert saved.getexif().get(0x010F) == "PhotoMend Test Camera"
    assert window.save_path == target and not window.dirty


def test_empty_prompt_runs_the_detected_suggestion(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    from tests.conftest import add_noise

    path = save_rgb(tmp_path / "grainy.png", add_noise(textured_image(160, 224, seed=6), 0.15))
    window = make_window()
    assert window.open_photo(path)
    qtbot.waitUntil(lambda: window.prompt.suggestion is not None, timeout=60_000)
    suggestion = window.prompt.suggestion
    assert "denoise" in suggestion.tasks
    assert suggestion.text in window.prompt.line.placeholderText()
    assert window.prompt.text() == ""
    outcome = []
    window.restoreFinished.connect(outcome.append)
    window.restoreFailed.connect(outcome.append)
    window.prompt.request_run()
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    result = outcome[0]
    assert not isinstance(result, str), result
    assert result.interpretation is suggestion
    assert "(auto-detected)" in window.run_text()


def test_dragging_strength_remixes_big_photos_at_screen_size_then_full(
    qtbot, make_window, tmp_path: Path
) -> None:  # noqa: ANN001
    from desktop.qt_images import qimage_from_pixels
    from desktop.qt_main_window import DRAG_BLEND_MAX_SIDE

    width = DRAG_BLEND_MAX_SIDE + 160
    path = save_rgb(tmp_path / "panorama.png", textured_image(48, width, seed=8))
    window = make_window()
    assert window.open_photo(path)
    window.preview_side = lambda: width  # no preview pass: this test is about the slider
    run_and_wait(qtbot, window)
    slider = window.prompt.strength
    slider.setSliderDown(True)
    slider.setValue(40)
    assert window.canvas.after.width() == DRAG_BLEND_MAX_SIDE
    slider.setSliderDown(False)  # emits sliderReleased
    assert window.canvas.after.width() == width
    assert window.state.strength == pytest.approx(0.4)
    assert window.canvas.after == qimage_from_pixels(window.after_pixels())


def test_the_run_panel_says_what_the_run_found(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    from engine.restorers.defocus import defocus_kernel
    from training.degradations import apply_kernel

    photo = np.asarray(Image.open(Path(__file__).parents[1] / "data" / "path_1200.jpg").convert("RGB"))
    crop = photo[200:456, 400:656].astype(np.float32) / 255.0
    path = save_rgb(tmp_path / "soft.png", apply_kernel(crop, defocus_kernel(3.0)))
    window = make_window()
    assert window.open_photo(path)
    outcome = []
    window.restoreFinished.connect(outcome.append)
    window.restoreFailed.connect(outcome.append)
    window.prompt.set_text("it's out of focus")
    window.prompt.request_run()
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    assert not isinstance(outcome[0], str), outcome[0]
    found = "Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it."
    assert window.run_text().endswith(found)


def test_the_run_panel_lists_each_step_with_its_restorer_findings_and_time(
    qtbot,  # noqa: ANN001
    make_window,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    import re

    from desktop.qt_main_window import FINDING_INDENT_PX
    from tests.conftest import add_noise

    dark = add_noise(textured_image(96, 128, seed=4) * 0.25, 0.05)  # dark and grainy
    path = save_rgb(tmp_path / "dark.png", dark)
    window = make_window()
    assert window.open_photo(path)
    with qtbot.waitSignal(window.prompt.interpretationShown, timeout=RUN_TIMEOUT_MS):
        window.prompt.set_text("it's dark and grainy")
    assert window.prompt.plan_label.text() == "Plan: 1. brighten → 2. reduce noise"
    outcome = []
    window.restoreFinished.connect(outcome.append)
    window.restoreFailed.connect(outcome.append)
    window.prompt.request_run()
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    result = outcome[0]
    assert not isinstance(result, str), result
    assert [step.label for step in result.steps] == ["brighten", "reduce noise"]

    lines = window.run_text().split("\n")
    assert lines[0] == result.interpretation.summary()
    steps = lines[2:]  # after the summary and the run's time, device and tile
    assert re.fullmatch(r"1\. brighten \(exposure, \d+\.\d s\)", steps[0]), steps
    brightened = r"    Found the photo \d+\.\d stops under-exposed and brightened it\."
    assert re.fullmatch(brightened, steps[1]), steps
    # The grain step read the grain the brightening brought up, and says how strong it was.
    assert re.fullmatch(r"2\. reduce noise \(grain, \d+\.\d s\)", steps[2]), steps
    (finding,) = steps[3:]
    assert finding.startswith("    Found grain of about ") and finding.endswith("/255 and removed it.")
    expected = []
    for i, step in enumerate(result.steps, 1):
        expected.append(f"{i}. {step.label} ({step.restorer}, {step.seconds:.1f} s)")
        expected.extend(f"    {found}" for found in step.findings)
    assert steps == expected
    # Shown with the finding indented under its step, also where it wraps.
    indented = f'<div style="margin-left: {FINDING_INDENT_PX}px">{finding.strip()}</div>'
    assert indented in window.run_info.text()
    assert window.run_info.toolTip().split("\n")[1:] == result.plan.describe()


def test_settings_open_with_ctrl_comma_on_every_platform_and_the_menu_says_so(
    qtbot,  # noqa: ANN001
    make_window,  # noqa: ANN001
) -> None:
    from PySide6.QtGui import QKeySequence

    window = make_window()
    # Qt's StandardKey.Preferences has no binding on Linux or Windows: Ctrl+, did nothing there.
    assert window.settings_action.shortcut() == QKeySequence("Ctrl+,")
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert window.settings_action in edit_menu.actions()  # the menu shows the action's shortcut
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.settings_dialog is not None and window.settings_dialog.isVisible())
    assert window.settings_dialog.windowTitle() == "PhotoMend settings"
    window.settings_dialog.reject()
    qtbot.waitUntil(lambda: window.settings_dialog is None, timeout=5_000)


def test_run_again_with_an_empty_prompt_uses_what_is_detected_on_the_restored_photo(
    qtbot,  # noqa: ANN001
    make_window,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from engine.pipeline import suggest_instruction
    from tests.conftest import add_noise

    path = save_rgb(tmp_path / "grainy.png", add_noise(textured_image(160, 224, seed=6), 0.15))
    window = make_window()
    assert window.open_photo(path)
    qtbot.waitUntil(lambda: not window.prompt.detecting, timeout=60_000)
    first = window.prompt.suggestion
    assert first is not None and "denoise" in first.tasks
    outcome = []
    window.restoreFinished.connect(outcome.append)
    window.restoreFailed.connect(outcome.append)
    window.prompt.request_run()
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    assert not isinstance(outcome[0], str), outcome[0]
    # The photo changed, so what it needs is asked again, of the restored photo: not "remove the noise"
    # once more on a photo that has no grain left.
    qtbot.waitUntil(lambda: not window.prompt.detecting, timeout=60_000)
    again = window.prompt.suggestion
    expected = suggest_instruction(window.after_pixels())
    assert again is not first
    assert (again.tasks if again else None) == (expected.tasks if expected else None)
    assert again is None or "denoise" not in again.tasks
    # Undo brings the grainy photo back, and with it the suggestion to remove the grain.
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: not window.prompt.detecting, timeout=60_000)
    assert window.prompt.suggestion is not None and "denoise" in window.prompt.suggestion.tasks


def test_run_pressed_before_detection_is_done_waits_for_it(qtbot, make_window, noisy_photo: Path) -> None:  # noqa: ANN001
    window = make_window()
    outcome = []
    window.restoreFinished.connect(outcome.append)
    window.restoreFailed.connect(outcome.append)
    assert window.open_photo(noisy_photo)
    assert window.prompt.detecting
    window.prompt.request_run()  # at once, while the detector is still looking
    assert "nothing was detected" not in window.prompt.interpretation_label.text()
    qtbot.waitUntil(lambda: bool(outcome), timeout=RUN_TIMEOUT_MS)
    assert not isinstance(outcome[0], str), outcome[0]
    assert "(auto-detected)" in window.run_text()


def test_an_error_banner_can_be_dismissed_and_goes_by_itself(
    qtbot,  # noqa: ANN001
    make_window,  # noqa: ANN001
    noisy_photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from desktop import qt_main_window

    bad = tmp_path / "notes.txt"
    bad.write_text("not a photo")
    window = make_window()
    assert window.open_photo(noisy_photo)
    assert not window.open_photo(bad)
    assert "notes.txt" in window.error_text
    window.banner.close_button.click()  # its ✕
    assert not window.error_text
    assert not window.open_photo(bad)
    assert window.open_photo(noisy_photo)  # the next photo that opens clears it
    assert not window.error_text
    monkeypatch.setattr(qt_main_window, "BANNER_MS", 300)
    assert not window.open_photo(bad)
    assert window.error_text
    qtbot.waitUntil(lambda: not window.error_text, timeout=5_000)  # and it does not stay for the session
    assert window.photo is not None and Path(window.photo.source) == noisy_photo


def test_the_run_time_stays_in_the_status_bar_while_comparing(
    qtbot,  # noqa: ANN001
    make_window,  # noqa: ANN001
    noisy_photo: Path,
) -> None:
    window = make_window()
    assert window.open_photo(noisy_photo)
    result = run_and_wait(qtbot, window)
    done = f"Done in {result.seconds:.1f} s on {result.device}."
    assert window.run_status.text() == done and window.run_status.isVisible()
    canvas = window.canvas
    x, y = round(canvas.divider_x()), canvas.height() // 2
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.mouseMove(canvas, QPoint(x - 100, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x - 100, y))
    assert canvas.divider < 0.5
    window.statusBar().showMessage("something else", 50)  # what a temporary message did to it
    qtbot.wait(200)
    assert window.run_status.text() == done and window.run_status.isVisible()


def test_a_photo_that_fits_is_shown_at_100_percent_not_101(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    canvas = window.canvas
    # A photo a little narrower and lower than the canvas: fitting would have enlarged it by a few percent.
    width, height = canvas.width() - 12, canvas.height() - 30
    path = save_rgb(tmp_path / "almost.png", textured_image(height, width, seed=3))
    assert window.open_photo(path)
    assert canvas.is_fit and canvas.scale == 1.0
    assert window.zoom_label.text() == "100%"


def test_progress_shows_one_count_not_tiles_next_to_a_percentage(
    qtbot,  # noqa: ANN001
    make_window,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from desktop.qt_main_window import progress_text

    assert progress_text(0.13, "tile 5/6", "reading the grain") == (
        "Restoring: reading the grain… 13%",
        "reading the grain",
    )
    path = save_rgb(tmp_path / "tiles.png", textured_image(200, 260, seed=5))
    window = make_window()
    window.settings.tile_size = 64  # many tiles
    assert window.open_photo(path)
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    run_and_wait(qtbot, window)
    progress = [text for text in shown if text.startswith("Restoring")]
    assert progress and not any("tile" in text for text in progress), progress


@pytest.mark.parametrize("kind", ["heic", "jxl", "dng"])
def test_the_app_opens_heic_jpeg_xl_and_raw_photos(qtbot, make_window, tmp_path: Path, kind: str) -> None:  # noqa: ANN001
    import engine.io  # registers the HEIF and JPEG XL plugins with Pillow
    from tests.engine.test_formats import make_dng

    path = tmp_path / f"phone.{kind}"
    if kind == "dng":
        path.write_bytes(make_dng(96, 64))
    else:
        Image.fromarray((textured_image(64, 96, seed=5) * 255).astype(np.uint8)).save(
            path, format="HEIF" if kind == "heic" else "JXL", quality=95
        )
    assert f".{kind}" in engine.io.SUPPORTED_SUFFIXES  # so the Open dialog and folder drops offer it
    window = make_window()
    with qtbot.waitSignal(window.photoLoaded, timeout=10_000):
        drop(window, [path])
    assert (window.canvas.before.width(), window.canvas.before.height()) == (96, 64)
    assert window.default_save_path().suffix == (".tif" if kind == "dng" else f".{kind}")
