"""Batch queue: drops of files and folders, persistence across restarts, a bad file, cull mode."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktop import queue_state as qs
from desktop.qt_batch import QtBatchPanel, status_text
from engine.io import read_photo
from tests.conftest import save_rgb, textured_image
from tests.desktop.conftest import drop

RUN_TIMEOUT_MS = 300_000


@pytest.fixture
def panel(qtbot, tmp_path: Path):  # noqa: ANN001, ANN201
    from desktop.qt_workers import wait_for_workers

    widget = QtBatchPanel(queue_file=tmp_path / "queue.json")
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    yield widget
    widget.cancel()
    assert wait_for_workers(60_000)


def test_dropped_folder_and_files_are_queued_once_with_thumbnails(qtbot, panel, photo_dir: Path) -> None:  # noqa: ANN001
    added = panel.add_paths([photo_dir, photo_dir / "a.png"])
    assert sorted(item.name for item in added) == ["a.png", "b.jpg", "c.png"]
    assert panel.model.rowCount() == 3
    assert panel.add_paths([photo_dir / "b.jpg"]) == []  # already queued
    qtbot.waitUntil(lambda: all(panel.model.has_thumbnail(i.id) for i in panel.queue.items), timeout=10_000)


def test_queue_survives_a_restart_and_resumes(qtbot, tmp_path: Path, photo_dir: Path) -> None:  # noqa: ANN001
    queue_file = tmp_path / "queue.json"
    first = QtBatchPanel(queue_file=queue_file)
    qtbot.addWidget(first)
    first.add_paths([photo_dir])
    first.set_options(
        instruction="remove the noise", output_dir=tmp_path / "out", pattern="{stem}_fixed.{ext}"
    )
    items = first.queue.items
    # As if the app was killed while restoring the first photo, after finishing another.
    first.model.update_item(items[0].id, status=qs.RUNNING, progress=0.4)
    first.model.update_item(items[1].id, status=qs.DONE, output=str(tmp_path / "out" / "b_fixed.jpg"))
    first.model.setData(first.model.index(2, 1), "brighten it")
    saved = json.loads(queue_file.read_text())
    assert saved["instruction"] == "remove the noise" and len(saved["items"]) == 3

    second = QtBatchPanel(queue_file=queue_file)
    qtbot.addWidget(second)
    again = second.queue.items
    assert [i.path for i in again] == [i.path for i in items]
    assert (again[0].status, again[0].progress) == (qs.PENDING, 0.0)  # will run again
    assert again[1].status == qs.DONE
    assert again[2].instruction == "brighten it"
    assert second.queue.instruction_for(again[0]) == "remove the noise"
    assert second.queue.pattern == "{stem}_fixed.{ext}"
    assert [i.id for i in second.queue.runnable()] == [again[0].id, again[2].id]
    assert "last session" in second.message.text()


def test_batch_with_a_bad_file_finishes_the_others_and_reports_it(
    qtbot,
    panel,
    photo_dir: Path,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    bad = photo_dir / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated nonsense")
    panel.add_paths([photo_dir])
    out = tmp_path / "out"
    panel.set_options(instruction="remove the noise", output_dir=out)
    with qtbot.waitSignal(panel.queueFinished, timeout=RUN_TIMEOUT_MS) as finished:
        assert panel.start()
    by_name = {item.name: item for item in panel.queue.items}
    assert by_name["bad.jpg"].status == qs.FAILED
    assert by_name["bad.jpg"].reason and "bad.jpg" in by_name["bad.jpg"].reason
    assert status_text(by_name["bad.jpg"]).startswith("failed: ")
    for name in ("a.png", "b.jpg", "c.png"):
        assert by_name[name].status == qs.DONE, (name, by_name[name].reason)
        output = Path(by_name[name].output)
        assert output.exists() and output.parent.is_relative_to(out)
        assert read_photo(output).pixels.shape == read_photo(by_name[name].path).pixels.shape
    assert "3 done, 1 failed" in finished.args[0]
    assert not panel.running and panel.start_button.isEnabled()


def test_cull_sorts_by_sharpness_and_marks_blurry_shots(qtbot, panel, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "shoot"
    folder.mkdir()
    # A real photo (the sample's bird on its trunk): the blur judge reads natural detail at several scales,
    # and a synthetic pattern of one fine stripe over smooth shading reads to it as a streak, not as detail.
    sharp = read_photo(Path(__file__).resolve().parents[2] / "resources/samples/sample_noisy.jpg").pixels
    sharp = np.ascontiguousarray(sharp[150:390, 300:620])
    save_rgb(folder / "1_blurry.png", cv2.GaussianBlur(sharp, (0, 0), 6))
    save_rgb(folder / "2_sharp.png", sharp)
    panel.cull_mode.setChecked(True)
    panel.add_paths([folder])
    qtbot.waitUntil(lambda: all(i.sharpness is not None for i in panel.queue.items), timeout=60_000)
    qtbot.waitUntil(lambda: panel.cull_button.isEnabled(), timeout=10_000)
    names = [item.name for item in panel.queue.items]
    assert names == ["2_sharp.png", "1_blurry.png"]
    blurry = panel.queue.items[1]
    assert blurry.blurry is True and panel.queue.items[0].blurry is False
    assert status_text(blurry).startswith("BLURRY")


def test_pause_finishes_the_current_photo_and_start_resumes(
    qtbot, panel, photo_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    panel.add_paths([photo_dir])
    panel.set_options(instruction="remove the noise", output_dir=tmp_path / "out")
    panel.model.changed.connect(lambda: None)
    started: list[str] = []

    def pause_on_first(item_id: str) -> None:
        started.append(item_id)
        if len(started) == 1:
            panel.pause()

    with qtbot.waitSignal(panel.queueFinished, timeout=RUN_TIMEOUT_MS) as finished:
        assert panel.start()
        panel._worker.signals.itemStarted.connect(pause_on_first)
    statuses = [item.status for item in panel.queue.items]
    assert statuses.count(qs.DONE) >= 1 and statuses.count(qs.PENDING) >= 1, (statuses, finished.args)
    assert finished.args[0].startswith("Paused")
    with qtbot.waitSignal(panel.queueFinished, timeout=RUN_TIMEOUT_MS):
        assert panel.start()
    assert [item.status for item in panel.queue.items] == [qs.DONE] * 3


def test_dropping_a_folder_on_the_batch_tab_queues_its_photos(qtbot, panel, photo_dir: Path) -> None:  # noqa: ANN001
    drop(panel, [photo_dir])
    assert sorted(item.name for item in panel.queue.items) == ["a.png", "b.jpg", "c.png"]


def test_a_restored_row_says_what_the_run_found(qtbot, panel, tmp_path: Path) -> None:  # noqa: ANN001
    from PIL import Image

    from engine.restorers.defocus import defocus_kernel
    from tests.conftest import save_rgb
    from training.degradations import apply_kernel

    photo = np.asarray(Image.open(Path(__file__).parents[1] / "data" / "path_1200.jpg").convert("RGB"))
    crop = photo[200:456, 400:656].astype(np.float32) / 255.0
    folder = tmp_path / "shoot"
    folder.mkdir()
    save_rgb(folder / "soft.png", apply_kernel(crop, defocus_kernel(3.0)))
    panel.add_paths([folder])
    panel.set_options(instruction="it's out of focus", output_dir=tmp_path / "out")
    with qtbot.waitSignal(panel.queueFinished, timeout=RUN_TIMEOUT_MS):
        assert panel.start()
    (item,) = panel.queue.items
    assert item.status == qs.DONE
    found = "Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it."
    assert item.reason == found
    assert status_text(item) == f"done → {Path(item.output).name} · {found}"


def test_batch_worker_interprets_each_instruction_once_and_leaves_empty_ones_to_detection(
    qtbot,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import engine.batch.runner as runner
    import engine.instructions
    from desktop.qt_workers import BatchJob, QtBatchWorker

    photos = [save_rgb(tmp_path / f"p{i}.png", textured_image(32, 32, seed=i)) for i in range(4)]
    real_interpret = engine.instructions.interpret
    interpreted: list[str] = []
    given: dict[str, object] = {}

    def counting_interpret(text: str) -> object:
        interpreted.append(text)
        return real_interpret(text)

    def fake_restore(photo, instruction, **kwargs):  # noqa: ANN001, ANN003, ANN202
        given[photo.source.name] = instruction
        return type("Result", (), {"pixels": photo.pixels, "findings": (), "steps": ()})()

    monkeypatch.setattr(engine.instructions, "interpret", counting_interpret)
    monkeypatch.setattr(runner, "restore", fake_restore)
    jobs = [
        BatchJob("0", photos[0], "remove the noise"),
        BatchJob("1", photos[1], ""),
        BatchJob("2", photos[2], "remove the noise"),
        BatchJob("3", photos[3], "add a party hat to my dog"),
    ]
    worker = QtBatchWorker(jobs, tmp_path / "out", pattern="{stem}.{ext}")
    finished: dict[str, tuple[str, str]] = {}
    worker.signals.itemFinished.connect(
        lambda i, status, reason, _out: finished.update({i: (status, reason)})
    )
    worker.run()

    assert interpreted == ["remove the noise", "add a party hat to my dog"]
    assert given["p0.png"] is given["p2.png"] and given["p0.png"].tasks == ("denoise",)
    assert given["p1.png"] == ""  # no instruction: restore() detects what this photo needs
    assert "p3.png" not in given
    assert [finished[i][0] for i in "0123"] == ["done", "done", "done", "failed"]
    assert finished["3"][1].startswith("That is not something PhotoMend can do.")


def test_an_empty_queue_says_so_instead_of_counting_one_photo(qtbot, panel, photo_dir: Path) -> None:  # noqa: ANN001
    assert panel.overall.text() == "No photos queued"  # it read "0 / 1 photos"
    panel.add_paths([photo_dir])
    assert panel.overall.text() == "0 / 3 photos"
    panel.model.remove_rows(list(range(3)))
    assert panel.overall.text() == "No photos queued"


@pytest.mark.parametrize("percent", [20, 50, 80])
def test_a_row_progress_bar_fills_from_the_left(qtbot, panel, photo_dir: Path, percent: int) -> None:  # noqa: ANN001
    """Drawn as a horizontal bar: the fill grows from the left over the bar's whole height (it was drawn
    as a vertical bar in a horizontal box, its fill a strip rising from the bottom)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    from desktop.qt_batch import COL_PROGRESS
    from desktop.qt_images import pixels_from_qimage

    panel.add_paths([photo_dir])
    item = panel.queue.items[0]
    panel.model.update_item(item.id, status=qs.RUNNING, progress=percent / 100)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 240, 64)
    option.state = QStyle.StateFlag.State_Enabled
    option.widget = panel.table
    image = QImage(240, 64, QImage.Format.Format_RGB888)
    image.fill(QColor("white"))
    painter = QPainter(image)
    panel.table.itemDelegateForColumn(COL_PROGRESS).paint(painter, option, panel.model.index(0, COL_PROGRESS))
    painter.end()
    pixels = pixels_from_qimage(image).astype(int)
    highlight = panel.table.palette().highlight().color()
    assert highlight.blue() - highlight.red() > 100  # the style fills with the (blue) highlight colour
    filled = pixels[..., 2] - pixels[..., 0] > 60  # blue, where frame, groove and text are grey or white
    bar = filled[64 // 2 - 9 : 64 // 2 + 9, 6:-6]  # the delegate's bar: 18 px high, 6 px in from each side
    edges = np.concatenate([bar[2:4], bar[-4:-2]])  # just inside the frame, above and below the "NN%"
    columns = edges.all(axis=0)  # filled at the top and at the bottom
    width = columns.size
    assert columns[3 : int(width * (percent / 100) * 0.8)].all(), "the left part is filled, top to bottom"
    assert not columns[int(width * min(percent / 100 * 1.2 + 0.02, 0.98)) :].any(), "the right part is not"


def test_a_saved_queue_with_a_truncated_photo_starts_quietly(tmp_path: Path, photo_dir: Path) -> None:
    """The app itself, started twice on a queue holding a cut-off JPEG (failed once, and one never run):
    nothing from the JPEG decoder on the console."""
    import os
    import subprocess
    import sys

    full = (photo_dir / "b.jpg").read_bytes()
    cut = photo_dir / "cut.jpg"
    cut.write_bytes(full[: len(full) // 2])  # a card error: the file ends mid-scan
    (photo_dir / "empty.jpg").write_bytes(full[:20])
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    queue_file = tmp_path / "data" / "PhotoMend" / "batch-queue.json"
    queue = qs.BatchQueue()
    queue.add_paths([photo_dir])
    for item in queue.items:
        if item.name == "empty.jpg":
            item.status, item.reason = qs.FAILED, "truncated"
    queue.save(queue_file)
    for _ in range(2):
        started = subprocess.run(
            [sys.executable, "-m", "desktop.app", "--quit-after", "1500"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert started.returncode == 0, started.stderr
        assert "JPEG" not in started.stderr, started.stderr
        assert len(qs.BatchQueue.load(queue_file).items) == 5
