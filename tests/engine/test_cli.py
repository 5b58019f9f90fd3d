"""The `photomend` command-line contract other tools rely on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.cli import EXIT_NOT_UNDERSTOOD, EXIT_OK, EXIT_SOME_FAILED, main
from tests.conftest import save_rgb, textured_image


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_restore_writes_stem_ext_per_input(
    photo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "restore",
            str(photo_dir / "a.png"),
            str(photo_dir / "b.jpg"),
            "--prompt",
            "it's grainy",
            "--output",
            str(out),
            "--strength",
            "0.8",
            "--device",
            "cpu",
        ]
    )
    assert code == EXIT_OK
    assert (out / "a.png").is_file() and (out / "b.jpg").is_file()
    assert "Understood:" in capsys.readouterr().err


def test_restore_off_topic_says_what_it_can_do(
    photo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["restore", str(photo_dir), "--prompt", "add film grain", "--output", str(tmp_path / "o")])
    assert code == EXIT_NOT_UNDERSTOOD
    err = capsys.readouterr().err
    assert "noise" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_restore_reports_bad_file_and_goes_on(
    photo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = photo_dir / "truncated.png"
    data = (photo_dir / "a.png").read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    code = main(["restore", str(photo_dir), "--prompt", "denoise", "--output", str(tmp_path / "o"), "--json"])
    assert code == EXIT_SOME_FAILED
    rows = _json_lines(capsys.readouterr().out)
    summary = rows[-1]
    assert summary["event"] == "summary" and len(summary["done"]) == 3
    assert [Path(f["path"]).name for f in summary["failed"]] == ["truncated.png"]


def test_blur_json_one_object_per_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    sharp = textured_image(256, 256, seed=5)
    save_rgb(tmp_path / "sharp.png", sharp)
    save_rgb(tmp_path / "soft.png", cv2.GaussianBlur(sharp, (0, 0), 4))
    code = main(
        [
            "blur",
            str(tmp_path / "sharp.png"),
            str(tmp_path / "soft.png"),
            "--json",
            "--map",
            str(tmp_path / "maps"),
        ]
    )
    assert code == EXIT_OK
    rows = _json_lines(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in rows] == ["sharp.png", "soft.png"]
    for row in rows:
        assert isinstance(row["score"], float) and isinstance(row["blurry"], bool)
        assert row["kind"] in {"sharp", "motion", "defocus"}
        assert Path(row["map"]).is_file()
    assert rows[0]["score"] > rows[1]["score"]
    assert rows[1]["blurry"] and not rows[0]["blurry"]


def test_compare_psnr_ssim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = textured_image(64, 64)
    save_rgb(tmp_path / "ref.png", ref)
    save_rgb(tmp_path / "same.png", ref)
    save_rgb(tmp_path / "off.png", np.clip(ref + 0.1, 0, 1))
    assert main(["compare", str(tmp_path / "same.png"), str(tmp_path / "ref.png"), "--json"]) == EXIT_OK
    same = _json_lines(capsys.readouterr().out)[0]
    assert main(["compare", str(tmp_path / "off.png"), str(tmp_path / "ref.png"), "--json"]) == EXIT_OK
    off = _json_lines(capsys.readouterr().out)[0]
    assert same["ssim"] == pytest.approx(1.0) and off["psnr"] < 25 < 60
    save_rgb(tmp_path / "small.png", ref[:32])
    assert main(["compare", str(tmp_path / "small.png"), str(tmp_path / "ref.png")]) != EXIT_OK


@pytest.mark.parametrize(
    ("text", "understood", "task"),
    [("it's dark and grainy", True, "lowlight"), ("blur the background", False, None)],
)
def test_interpret_json(
    text: str, understood: bool, task: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpret", text, "--json"]) == (EXIT_OK if understood else EXIT_NOT_UNDERSTOOD)
    row = _json_lines(capsys.readouterr().out)[0]
    assert set(row) >= {"tasks", "strength", "understood", "message"}
    assert row["understood"] is understood
    assert (task in row["tasks"]) if task else row["tasks"] == []
    assert row["notes"] == []  # nothing the model does poorly among these


def test_interpret_names_what_the_model_does_poorly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interpret", "remove", "the", "jpeg", "blocks"]) == EXIT_OK
    summary, plan, step, note = capsys.readouterr().out.strip().split("\n")
    assert "JPEG" in summary and note.startswith("Note: JPEG clean-up reads the quality")
    assert plan == "Plan:" and step.startswith("  1. clean up JPEG artefacts: quality read from the")


def test_info_lists_device_and_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "CPUExecutionProvider" in text and "restore" in text


def test_info_checks_the_text_encoder_and_the_task_head(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", "--device", "cpu"]) == EXIT_OK
    models = {m["id"]: m for m in _json_lines(capsys.readouterr().out)[0]["models"]}
    for model_id, file in (
        ("text_encoder", "model.safetensors"),
        ("text_tokenizer", "tokenizer.json"),
        ("task_head", "task_head.npz"),
    ):
        entry = models[model_id]
        assert entry["file"] == file and Path(entry["path"]).name == file
        assert (entry["present"], entry["verified"], entry["message"]) == (True, True, "ok")
        assert "device" not in entry  # read by engine.instructions: no ONNX session to probe
    assert models["restore"]["device"] == "cpu"
    assert main(["info"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert "  text_encoder: ok (sha256 verified)" in lines and "  task_head: ok (sha256 verified)" in lines


def test_info_says_which_instruction_file_is_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = Path(__file__).resolve().parents[2] / "resources" / "models"
    resources = tmp_path / "resources"
    shutil.copytree(shipped, resources / "models", ignore=shutil.ignore_patterns("*.onnx", "*.md"))
    data = bytearray((resources / "models" / "task_head.npz").read_bytes())
    data[-10] ^= 0x01
    (resources / "models" / "task_head.npz").write_bytes(bytes(data))
    monkeypatch.setenv("PHOTOMEND_RESOURCES", str(resources))
    assert main(["info"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    damaged = "task_head.npz: sha256 mismatch — the file is corrupt or was replaced; reinstall PhotoMend"
    assert f"  task_head: {damaged}" in lines
    assert "  text_encoder: ok (sha256 verified)" in lines


def test_the_gimp_installer_is_not_a_photomend_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["gimp", "install"])
    assert exited.value.code == 2
    assert "invalid choice: 'gimp'" in capsys.readouterr().err


def test_console_script_runs_and_bad_usage_exits_2(tmp_path: Path) -> None:
    exe = shutil.which("photomend", path=str(Path(sys.executable).parent))
    assert exe, "the photomend console script is installed with the package"
    assert subprocess.run([exe, "--version"], capture_output=True, text=True).returncode == 0
    assert subprocess.run([exe, "restore"], capture_output=True, text=True).returncode == 2


def test_the_documented_exit_codes_are_the_cli_s() -> None:
    from engine import cli

    codes = {
        cli.EXIT_OK: "0 ok",
        cli.EXIT_SOME_FAILED: "1 some inputs failed",
        cli.EXIT_USAGE: "2 usage error",
        cli.EXIT_NOT_UNDERSTOOD: "3 instruction not understood",
        cli.EXIT_MODEL: "4 model or device",
        cli.EXIT_OUTPUT: "5 output folder cannot be written",
        cli.EXIT_CANCELLED: "130 cancelled",
        cli.EXIT_TERMINATED: "143 stopped by SIGTERM",
    }
    root = Path(__file__).resolve().parents[2]
    for doc in (root / "README.md", root / "docs" / "engine-api.md"):
        text = " ".join(doc.read_text(encoding="utf-8").split())
        for words in codes.values():
            assert words in text, (doc.name, words)


def test_restore_json_names_renamed_outputs_and_odd_names_stay_valid_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        save_rgb(tmp_path / sub / "x.png", textured_image(32, 32, seed=len(sub)))
    out = tmp_path / "out"
    code = main(
        ["restore", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png"), "-p", "brighten it"]
        + ["-o", str(out), "--json"]
    )
    assert code == EXIT_OK
    rows = _json_lines(capsys.readouterr().out)
    summary = rows[-1]
    assert sorted(Path(p).name for p in summary["done"]) == ["x-2.png", "x.png"]
    (renamed,) = summary["renamed"]
    assert Path(renamed["output"]).name == "x-2.png" and "same output name" in renamed["reason"]
    done = [r for r in rows if r["event"] == "done" and r["output"].endswith("x-2.png")]
    assert done[0]["note"] == renamed["reason"]
    assert summary["stopped"] is None and summary["warnings"] == []


def test_names_and_prompts_that_are_not_utf8_are_made_printable() -> None:
    from engine.cli import clean_prompt, shown

    name = os.fsdecode(b"/photos/caf\xe9.png")
    assert shown(name) == "/photos/caf\\xe9.png" and shown("plain é") == "plain é"
    assert shown("lone \ud800") == "lone \\ud800"
    assert clean_prompt(os.fsdecode(b"tr\xe8s grainy")) == ("tr\ufffds grainy", True)
    assert clean_prompt("très grainy") == ("très grainy", False)
