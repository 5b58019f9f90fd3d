"""`photomend detect`: one line (or JSON object) per photo, bad files named and counted, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from engine.pipeline.detect import DETECTED_TASKS
from tests.conftest import save_rgb
from tests.engine.detect_photos import clean_scene, grainy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    """A folder holding a clean photo, a grainy one (a good JPEG of it, in a subfolder), a damaged JPEG, a
    text file with a photo's name, and notes that are no photo."""
    folder = tmp_path / "shoot"
    (folder / "day2").mkdir(parents=True)
    scene = clean_scene(384, 512, seed=1)
    save_rgb(folder / "clean.png", scene)
    save_rgb(folder / "day2" / "grainy.jpg", grainy(scene), quality=95)
    whole = (folder / "day2" / "grainy.jpg").read_bytes()
    (folder / "damaged.jpg").write_bytes(whole[: len(whole) // 3])
    (folder / "text.png").write_text("not a photo at all")
    (folder / "notes.txt").write_text("ignored: not a photo")
    return folder


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_one_object_per_photo_with_tasks_scores_and_instruction(
    shoot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.jpg"
    code = main(["detect", str(shoot), str(missing), "--json", "--device", "cpu"])
    assert code == EXIT_SOME_FAILED
    rows = {Path(row["path"]).name: row for row in _rows(capsys.readouterr().out)}
    assert set(rows) == {"nowhere.jpg", "clean.png", "grainy.jpg", "damaged.jpg", "text.png"}
    for name in ("clean.png", "grainy.jpg"):
        row = rows[name]
        assert set(row) == {"path", "tasks", "scores", "instruction"}
        assert list(row["scores"]) == list(DETECTED_TASKS)
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in row["scores"].values())
        assert all(t in DETECTED_TASKS and row["scores"][t] >= 0.5 for t in row["tasks"])
    assert rows["clean.png"]["tasks"] == [] and rows["clean.png"]["instruction"] == ""
    assert "denoise" in rows["grainy.jpg"]["tasks"] and "noise" in rows["grainy.jpg"]["instruction"]
    for name in ("nowhere.jpg", "damaged.jpg", "text.png"):
        assert set(rows[name]) == {"path", "error"} and name in rows[name]["error"], rows[name]
    assert "no such file" in rows["nowhere.jpg"]["error"]


def test_text_one_line_per_photo_and_the_failures_at_the_end(
    shoot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["detect", str(shoot), "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == EXIT_SOME_FAILED
    lines = out.splitlines()
    assert len(lines) == 2
    clean_line, grainy_line = sorted(lines)  # ".../clean.png: ..." sorts before ".../day2/grainy.jpg: ..."
    assert clean_line.startswith(str(shoot / "clean.png")) and "looks clean" in clean_line
    assert grainy_line.startswith(str(shoot / "day2" / "grainy.jpg")) and '"remove the noise' in grainy_line
    err_lines = err.splitlines()
    # each bad file: one line as it comes, naming it and why; then the summary and the list of failures
    assert sum(line.startswith("failed: ") for line in err_lines) == 2
    assert any("damaged.jpg" in line and line.startswith("failed: ") for line in err_lines)
    summary = err_lines.index("These could not be read:")
    assert "1 need restoring, 1 look clean, 2 failed" in err_lines[summary - 1]
    assert sorted(Path(line.strip().split(":")[0]).name for line in err_lines[summary + 1 :]) == [
        "damaged.jpg",
        "text.png",
    ]
    assert "Traceback" not in err


def test_all_readable_exits_0_and_files_come_in_the_order_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = clean_scene(200, 300, seed=4)
    paths = [save_rgb(tmp_path / name, img) for name, img in (("b.png", grainy(scene)), ("a.png", scene))]
    assert main(["detect", *map(str, paths), "--json"]) == EXIT_OK
    assert [row["path"] for row in _rows(capsys.readouterr().out)] == [str(p) for p in paths]


def test_a_ray_address_that_is_an_input_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["detect", str(tmp_path), "--ray", str(tmp_path)]) == EXIT_USAGE
    assert "not a Ray address" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_stops_between_photos(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    scene = clean_scene(600, 800, seed=6)
    for index in range(60):
        save_rgb(tmp_path / f"p{index:02d}.png", grainy(scene, float(rng.uniform(0, 0.1)), seed=index))
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    cmd = [sys.executable, "-m", "engine.cli", "detect", str(tmp_path), "--json", "--device", "cpu"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first photo is judged: the model is loaded, the loop is running
    assert first, proc.stderr.read() if proc.stderr else b""
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "cancelling" in err.decode() and "Traceback" not in err.decode()
    rows = _rows((first + out).decode())
    assert 1 <= len(rows) < 60 and all("tasks" in row for row in rows)
