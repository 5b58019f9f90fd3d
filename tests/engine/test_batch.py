"""Batch runner: folders, naming, journal/resume (also after kill -9), bad files, cancel."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import engine.batch.runner as runner
from engine.batch import JOURNAL_NAME, ItemEvent, plan_batch, run_batch
from engine.errors import InstructionError
from engine.instructions import interpret
from engine.io import read_photo
from engine.progress import CancelToken
from tests.conftest import add_noise, save_rgb, textured_image

PROMPT = "remove the noise"


def _outputs(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _done_lines(journal: Path) -> int:
    """Outputs the journal says are in place (each also has a "writing" line before it)."""
    return journal.read_text().count('"state": "done"') if journal.exists() else 0


def test_plan_keeps_subfolders_and_never_targets_the_source(photo_dir: Path, tmp_path: Path) -> None:
    items, report = plan_batch([photo_dir], tmp_path / "out")
    assert [str(i.output.relative_to(tmp_path / "out")) for i in items] == ["a.png", "b.jpg", "sub/c.png"]
    items, report = plan_batch([photo_dir / "a.png"], photo_dir)
    assert items == [] and "overwrite the original" in report.failed[0][1]


def test_plan_disambiguates_equal_names(tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        save_rgb(tmp_path / sub / "p.png", textured_image(16, 16))
    items, _ = plan_batch([tmp_path / "x" / "p.png", tmp_path / "y" / "p.png"], tmp_path / "out")
    assert [i.output.name for i in items] == ["p.png", "p-2.png"]


def test_batch_restores_skips_and_reports_bad_files(photo_dir: Path, tmp_path: Path) -> None:
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photo_dir / "notes.txt").write_text("not a photo")
    originals = {p: p.read_bytes() for p in photo_dir.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    events: list[ItemEvent] = []
    fractions: list[float] = []

    report = run_batch(
        [photo_dir], interpret(PROMPT), out, on_item=events.append, progress=lambda f, s: fractions.append(f)
    )

    assert [i.output.name for i in report.done] == ["a.png", "b.jpg", "c.png"]
    assert len(report.failed) == 1
    path, reason = report.failed[0]
    assert path.name == "broken.jpg" and "broken.jpg" in reason and "\n" not in reason
    assert [p.name for p, _ in report.ignored] == ["notes.txt"]
    assert {e.status for e in events} >= {"running", "done", "failed"}
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    # originals untouched, outputs readable and really restored (less noise than the input)
    assert all(p.read_bytes() == data for p, data in originals.items())
    restored = read_photo(out / "a.png").pixels
    noisy = read_photo(photo_dir / "a.png").pixels
    clean = textured_image(96, 128, seed=1)
    assert np.abs(restored - clean).mean() < np.abs(noisy - clean).mean()

    again = run_batch([photo_dir], interpret(PROMPT), out)
    assert again.done == [] and len(again.skipped) == 3


def test_batch_refuses_off_topic_before_touching_files(photo_dir: Path, tmp_path: Path) -> None:
    off_topic = interpret("blur the background")
    with pytest.raises(InstructionError) as caught:
        run_batch([photo_dir], off_topic, tmp_path / "out")
    assert str(caught.value) == off_topic.message
    assert not (tmp_path / "out").exists()


def _record_restores(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Replace the restoration by a copy of the photo, recording the instruction each photo was given."""
    given: list[object] = []

    def fake_restore(photo: object, instruction: object, **kwargs: object) -> object:
        given.append(instruction)
        return SimpleNamespace(pixels=photo.pixels, findings=(), steps=())  # type: ignore[attr-defined]

    monkeypatch.setattr(runner, "restore", fake_restore)
    return given


def test_batch_gives_every_photo_the_one_interpretation(
    photo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _record_restores(monkeypatch)
    wanted = interpret(PROMPT)
    report = run_batch([photo_dir], wanted, tmp_path / "out")
    assert len(report.done) == 3
    assert len(given) == 3 and all(g is wanted for g in given)


def test_batch_without_an_interpretation_detects_per_photo(
    photo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _record_restores(monkeypatch)
    report = run_batch([photo_dir], None, tmp_path / "out")
    assert len(report.done) == 3
    assert given == ["", "", ""]  # restore()'s empty instruction: the detector decides per photo
    # The journal keys those photos by the empty instruction: a run with one is not "already restored".
    assert len(run_batch([photo_dir], None, tmp_path / "out").skipped) == 3
    again = run_batch([photo_dir], interpret(PROMPT), tmp_path / "out", overwrite=True)
    assert len(again.done) == 3 and not again.skipped


def test_batch_takes_no_per_photo_instructions_or_quality() -> None:
    parameters = inspect.signature(run_batch).parameters
    assert list(parameters)[:3] == ["inputs", "interpretation", "output_dir"]
    assert parameters["interpretation"].annotation == "Interpretation | None"
    assert "instructions" not in parameters and "quality" not in parameters
    assert "instructions" not in inspect.signature(plan_batch).parameters


def test_batch_cancel_stops_between_files(photo_dir: Path, tmp_path: Path) -> None:
    cancel = CancelToken()

    def on_item(event: ItemEvent) -> None:
        if event.status == "done":
            cancel.cancel()

    report = run_batch([photo_dir], interpret(PROMPT), tmp_path / "out", cancel=cancel, on_item=on_item)
    assert report.cancelled and len(report.done) == 1


def test_batch_resumes_after_kill_9(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    count = 24
    for i in range(count):
        save_rgb(src / f"p{i:02d}.png", add_noise(textured_image(192, 192, seed=i), 0.08, seed=i))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "engine.cli", "restore", str(src), "--prompt", PROMPT, "--output", str(out)]
    journal = out / JOURNAL_NAME
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if _done_lines(journal) >= 2:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the batch finished before it could be killed: make the test heavier"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = _done_lines(journal)
    assert 2 <= finished_before < count

    result = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(summary["skipped"]) >= finished_before
    assert len(summary["done"]) + len(summary["skipped"]) == count
    names = _outputs(out)
    assert names == sorted([JOURNAL_NAME] + [f"p{i:02d}.png" for i in range(count)])  # no temp files left
    for i in range(count):
        assert read_photo(out / f"p{i:02d}.png").pixels.shape == (192, 192, 3)
