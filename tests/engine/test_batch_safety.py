"""Batch output safety, made for real: the journal's key, name clashes, output folders inside the inputs,
naming patterns, unwritable and full output folders, damaged journals, odd names, FIFOs and links, signals.

No file system call is mocked: full disks are tmpfs mounts in a user namespace (`unshare -rm`) or a file size
limit (RLIMIT_FSIZE), read-only folders are read-only bind mounts (which stop root too) or chmod.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.batch import (
    JOURNAL_NAME,
    BatchUsageError,
    ItemEvent,
    Journal,
    OutputFolderError,
    check_pattern,
    plan_batch,
    run_batch,
)
from engine.batch.naming import NAME_MAX
from engine.instructions import interpret
from engine.io import read_photo
from tests.conftest import add_noise, save_rgb, textured_image

PROMPT = "brighten it"  # the cheapest instruction: the network alone
REPO = Path(__file__).resolve().parents[2]


def _permission_bits_bind_us() -> bool:
    """False for root (or a process with CAP_DAC_OVERRIDE): it writes into a folder chmod 555 all the same."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o555)
        try:
            Path(folder, "probe").touch()
        except PermissionError:
            return True
        finally:
            os.chmod(folder, 0o755)
    return False


BYPASSES_PERMISSIONS = not _permission_bits_bind_us()


def _photo(path: Path, seed: int = 0, size: int = 48) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_rgb(path, add_noise(textured_image(size, size, seed=seed), 0.05, seed=seed))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too) by relative path, with its sha256."""
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _journal_lines(folder: Path) -> list[dict]:
    """Every line of the journal, which must all be whole JSON objects."""
    text = (folder / JOURNAL_NAME).read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(".photomend-tmp")]


def _cli(*args: str | bytes, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "engine.cli", *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=REPO, env=env, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def brighten():  # noqa: ANN201
    return interpret(PROMPT)


# --- 1. the journal's key: anything that changes the output is redone -----------------------------------


def test_rerun_skips_then_a_new_prompt_or_an_edited_original_is_restored_again(
    tmp_path: Path, brighten: object
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        _photo(src / f"p{i}.png", seed=i)
    first = run_batch([src], brighten, out)
    assert len(first.done) == 3 and first.ok
    before = _tree(out)

    again = run_batch([src], brighten, out)
    assert again.done == [] and [r for _, r in again.skipped] == ["already restored"] * 3

    # The same photos and another instruction: every one is restored again, into the same names.
    other = run_batch([src], interpret("remove the noise"), out)
    assert [i.output.name for i in other.done] == ["p0.png", "p1.png", "p2.png"] and other.ok
    assert all(_tree(out)[name] != before[name] for name in ("p0.png", "p1.png", "p2.png"))

    # An original edited since (same name, same size, other bytes): only that one is redone.
    _photo(src / "p1.png", seed=7)
    edited = run_batch([src], interpret("remove the noise"), out)
    assert [i.output.name for i in edited.done] == ["p1.png"] and len(edited.skipped) == 2


def test_strength_and_the_naming_pattern_are_part_of_the_key(tmp_path: Path, brighten: object) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "p.png")
    assert len(run_batch([src], brighten, out).done) == 1
    assert len(run_batch([src], brighten, out, strength=0.5).done) == 1
    assert len(run_batch([src], brighten, out, strength=0.5).skipped) == 1
    assert [i.output.name for i in run_batch([src], brighten, out, pattern="{stem}.tif").done] == ["p.tif"]


def test_the_journal_records_what_made_each_output(tmp_path: Path, brighten: object) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "p.png")
    run_batch([src], brighten, out)
    writing, done = _journal_lines(out)
    assert (writing["state"], done["state"]) == ("writing", "done")
    assert done["source_sha256"] == _sha(src / "p.png") and done["sha256"] == _sha(out / "p.png")
    assert done["instruction"]["tasks"] == ["lowlight"] and done["instruction"]["text"] == PROMPT
    assert len(done["models"]) == 64 and done["options"]["output"] == "p.png"
    assert done["size"] == (out / "p.png").stat().st_size


def test_a_file_photomend_did_not_write_is_never_replaced_without_overwrite(
    tmp_path: Path, brighten: object
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "x.png", seed=1)
    _photo(src / "y.png", seed=2)
    _photo(out / "x.png", seed=9)  # the photographer's own, different photo with the same name
    theirs = _sha(out / "x.png")

    report = run_batch([src], brighten, out)
    assert [i.output.name for i in report.done] == ["y.png"]
    ((path, reason),) = report.failed
    assert path.name == "x.png" and "did not write" in reason and "--overwrite" in reason
    assert _sha(out / "x.png") == theirs  # kept, and not counted as done
    assert len(run_batch([src], brighten, out).failed) == 1  # still not "already done" on a rerun

    replaced = run_batch([src], brighten, out, overwrite=True)
    assert [i.output.name for i in replaced.done] == ["x.png"] and _sha(out / "x.png") != theirs
    assert len(run_batch([src], brighten, out).skipped) == 2


def test_an_output_changed_after_the_run_is_kept(tmp_path: Path, brighten: object) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "x.png")
    run_batch([src], brighten, out)
    _photo(out / "x.png", seed=5)  # touched up in another editor
    touched = _sha(out / "x.png")
    (skipped,) = run_batch([src], brighten, out).skipped
    assert "changed since" in skipped[1]
    report = run_batch([src], interpret("remove the noise"), out)  # would replace it: refused
    assert report.done == [] and "did not write (or one changed since)" in report.failed[0][1]
    assert _sha(out / "x.png") == touched


def test_a_copied_output_folder_is_still_recognised(tmp_path: Path, brighten: object) -> None:
    """A copy that loses the mtime (cp without -p): the sha256 in the journal still says it is PhotoMend's."""
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "x.png")
    run_batch([src], brighten, out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, copy_function=shutil.copyfile)
    os.utime(copy / "x.png", ns=(1, 1))
    assert len(run_batch([src], brighten, copy).skipped) == 1
    assert len(run_batch([src], interpret("remove the noise"), copy).done) == 1  # ours: replaced


def test_another_photo_of_an_earlier_run_keeps_its_output(tmp_path: Path, brighten: object) -> None:
    out = tmp_path / "out"
    _photo(tmp_path / "trip1" / "x.png", seed=1)
    _photo(tmp_path / "trip2" / "x.png", seed=2)
    run_batch([tmp_path / "trip1"], brighten, out)
    trip1 = _sha(out / "x.png")

    second = run_batch([tmp_path / "trip2"], brighten, out)
    assert [i.output.name for i in second.done] == ["x-2.png"] and second.ok
    ((item, note),) = second.renamed
    assert item.output.name == "x-2.png" and "another photo" in note
    assert _sha(out / "x.png") == trip1
    again = run_batch([tmp_path / "trip2"], brighten, out)
    assert [i.output.name for i, _ in again.skipped] == ["x-2.png"] and not again.renamed
    # The folder moved: the same bytes, so it is the same photo and still done.
    (tmp_path / "trip1").rename(tmp_path / "trip1-moved")
    assert len(run_batch([tmp_path / "trip1-moved"], brighten, out).skipped) == 1


def test_without_an_instruction_the_detection_is_keyed_by_the_photo(
    tmp_path: Path, brighten: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The detector stands in for by what it would find here ("brighten it"): the key says "detect", the
    journal says what was found, and the same photo is then done; an instruction redoes it."""
    import engine.batch.runner as runner

    detected = []

    def detect_and_restore(photo: object, instruction: object, **kwargs: object) -> object:
        detected.append(instruction)
        return SimpleNamespace(pixels=photo.pixels * 0.5, findings=(), steps=(), interpretation=brighten)  # type: ignore[attr-defined]

    monkeypatch.setattr(runner, "restore", detect_and_restore)
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "dark.png")
    assert len(run_batch([src], None, out).done) == 1 and detected == [""]
    (_, done) = _journal_lines(out)
    assert done["instruction"] == {"detect": True} and done["detected"]["tasks"] == ["lowlight"]
    assert len(run_batch([src], None, out).skipped) == 1
    assert len(run_batch([src], brighten, out).done) == 1  # type: ignore[arg-type]


# --- 2. name clashes inside one batch -----------------------------------------------------------------


def test_clashing_names_are_numbered_and_reported(tmp_path: Path, brighten: object) -> None:
    a, b, c = (
        _photo(tmp_path / "a" / "x.png", 1),
        _photo(tmp_path / "b" / "x.png", 2),
        _photo(tmp_path / "x-2.png", 3),
    )
    out = tmp_path / "out"
    report = run_batch([a, b, c], brighten, out)
    outputs = {i.source: i.output.name for i in report.done}
    # x-2.png is the third photo's own name, so the clashing one goes on to x-3.png
    assert outputs == {a: "x.png", b: "x-3.png", c: "x-2.png"}
    ((item, note),) = report.renamed
    assert item.source == b and str(a) in note and "x-3.png" in note
    assert len({_sha(out / n) for n in outputs.values()}) == 3  # none overwrote another


def test_a_pattern_that_drops_the_extension_numbers_the_second_photo(
    tmp_path: Path, brighten: object
) -> None:
    src = tmp_path / "in"
    _photo(src / "x.jpg", 1)
    _photo(src / "x.png", 2)
    report = run_batch([src], brighten, tmp_path / "out", pattern="{stem}.png")
    assert sorted(i.output.name for i in report.done) == ["x-2.png", "x.png"] and len(report.renamed) == 1
    assert "x.jpg" in report.renamed[0][1]


def test_names_that_differ_only_in_case_do_not_clash_on_a_case_insensitive_disk(tmp_path: Path) -> None:
    a, b = _photo(tmp_path / "a" / "IMG.png", 1), _photo(tmp_path / "b" / "img.png", 2)
    items, report = plan_batch([a, b], tmp_path / "out")
    assert [i.output.name for i in items] == ["IMG.png", "img-2.png"] and len(report.renamed) == 1


# --- 3. the output folder among the inputs ------------------------------------------------------------


def test_output_folder_equal_to_the_input_folder_is_refused(tmp_path: Path, brighten: object) -> None:
    src = tmp_path / "in"
    _photo(src / "p.png")
    before = _tree(src)
    with pytest.raises(BatchUsageError) as caught:
        run_batch([src], brighten, src)
    assert "is the input folder" in str(caught.value) and "--pattern" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert _tree(src) == before  # not even a journal

    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(src))
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().strip().splitlines()[-1].startswith("photomend: ")


def test_output_folder_equal_to_the_inputs_with_a_marking_pattern_never_reads_its_outputs(
    tmp_path: Path, brighten: object
) -> None:
    src = tmp_path / "in"
    _photo(src / "p.png", 1)
    _photo(src / "sub" / "q.png", 2)
    originals = {name: digest for name, digest in _tree(src).items()}
    first = run_batch([src], brighten, src, pattern="{stem}-restored.{ext}")
    assert sorted(str(i.output.relative_to(src)) for i in first.done) == [
        "p-restored.png",
        "sub/q-restored.png",
    ]
    second = run_batch([src], brighten, src, pattern="{stem}-restored.{ext}")
    assert second.done == [] and len(second.skipped) == 2 and second.ok
    assert not any("restored-restored" in name for name in _tree(src))
    assert all(_tree(src)[name] == digest for name, digest in originals.items())
    # A new prompt restores again, still without taking its earlier outputs for photos.
    third = run_batch([src], interpret("remove the noise"), src, pattern="{stem}-restored.{ext}")
    assert len(third.done) == 2 and third.ok


def test_a_subfolder_of_the_input_is_a_fine_output_folder_while_it_holds_only_outputs(
    tmp_path: Path, brighten: object
) -> None:
    src = tmp_path / "shoot"
    _photo(src / "p.png")
    out = src / "restored"
    assert len(run_batch([src], brighten, out).done) == 1
    again = run_batch([src], brighten, out)
    assert again.done == [] and len(again.skipped) == 1 and again.ok  # restored/p.png is not an input

    _photo(out / "stranger.png", 4)  # a photo PhotoMend did not write, inside the output folder
    with pytest.raises(BatchUsageError) as caught:
        run_batch([src], brighten, out)
    assert "stranger.png" in str(caught.value)


def test_an_earlier_output_folder_inside_the_inputs_is_not_restored_again(
    tmp_path: Path, brighten: object
) -> None:
    src = tmp_path / "shoot"
    _photo(src / "p.png")
    run_batch([src], brighten, src / "first")
    report = run_batch([src], brighten, src / "second")
    assert [str(i.output.relative_to(src)) for i in report.done] == ["second/p.png"]
    assert [(p.relative_to(src).as_posix(), r) for p, r in report.ignored] == [
        ("first/p.png", "written by PhotoMend (an output of an earlier run), not taken as a photo to restore")
    ]
    # An output folder given as the input is restored again: that is what was asked.
    assert [i.output.name for i in run_batch([src / "first"], brighten, tmp_path / "again").done] == ["p.png"]


# --- 4. the naming pattern ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "   ",
        "{stem.__class__.__name__}.png",
        "{stem[0]}.png",
        "{}.png",
        "{0}.png",
        "{stem!r}.png",
        "{stem:>300}.png",
        "{stem:{ext}}.png",
        "../x_{stem}.{ext}",
        "sub/{stem}.{ext}",
        "/tmp/{stem}.{ext}",
        "..\\{stem}.{ext}",
        "C:{stem}.{ext}",
        "{stem}\n.png",
        ".{stem}.png",
        "{stem}",
        "{stem}.gif",
        "photo.png",
        "{stem",
        "{unknown}.png",
    ],
)
def test_bad_patterns_are_refused_in_one_line(tmp_path: Path, pattern: str, brighten: object) -> None:
    with pytest.raises(BatchUsageError) as caught:
        check_pattern(pattern)
    assert "\n" not in str(caught.value)
    _photo(tmp_path / "in" / "p.png")
    with pytest.raises(BatchUsageError):
        run_batch([tmp_path / "in"], brighten, tmp_path / "out", pattern=pattern)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("{stem}.{ext}", "IMG 1.png"),
        ("{stem}-restored.{ext}", "IMG 1-restored.png"),
        ("restored_{name}.tif", "restored_IMG 1.png.tif"),
        ("{stem}.jpg", "IMG 1.jpg"),
        ("{{{stem}}}.{ext}", "{IMG 1}.png"),
    ],
)
def test_good_patterns_name_files_in_the_output_folder(tmp_path: Path, pattern: str, name: str) -> None:
    check_pattern(pattern)
    items, _ = plan_batch([_photo(tmp_path / "IMG 1.png")], tmp_path / "out", pattern=pattern)
    assert [i.output for i in items] == [tmp_path / "out" / name]


def test_bad_pattern_is_exit_2_with_one_line_before_any_model_loads(tmp_path: Path) -> None:
    _photo(tmp_path / "p.png")
    result = _cli(
        "restore", str(tmp_path / "p.png"), "-o", str(tmp_path / "o"), "--pattern", "{stem.__class__}"
    )
    assert result.returncode == 2
    # (the last line: onnxruntime may say something of its own when it is imported in an odd environment)
    assert result.stderr.decode().splitlines()[-1] == (
        "photomend: bad naming pattern '{stem.__class__}': unknown field {stem.__class__}; use {stem}, "
        "{ext} and {name}, e.g. '{stem}-restored.{ext}'"
    )
    assert "Understood" not in result.stderr.decode()
    assert not (tmp_path / "o").exists()


# --- 5. output-folder errors: one line, nothing half-written, resumable -------------------------------


def test_output_path_that_is_a_file_or_under_one_is_a_usage_error(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "p.png")
    link = tmp_path / "gone"
    link.symlink_to(tmp_path / "nowhere")
    for output, words in ((photo, "is a file"), (photo / "sub", "is a file"), (link, "does not exist")):
        result = _cli("restore", str(photo), "-p", PROMPT, "-o", str(output), timeout=120)
        assert result.returncode == 2, result.stderr
        line = result.stderr.decode().splitlines()[-1]
        assert line.startswith(f"photomend: {output}: ") and words in line


@pytest.mark.skipif(
    BYPASSES_PERMISSIONS,
    reason="this user (root, CAP_DAC_OVERRIDE) ignores permission bits; the read-only mount tests cover it",
)
def test_unwritable_output_folder_is_exit_5_then_resumes(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        _photo(src / f"p{i}.png", seed=i)
    out.mkdir()
    out.chmod(0o555)
    try:
        result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out))
        assert result.returncode == 5
        (line,) = result.stderr.decode().splitlines()[-1:]
        assert "Permission denied" in line and "run the same command again" in line
        assert os.listdir(out) == []
    finally:
        out.chmod(0o755)
    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out))
    assert result.returncode == 0 and len(list(out.glob("*.png"))) == 3


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(
    not _unshare_works(), reason="needs unprivileged user namespaces (unshare -rm) for tmpfs and bind mounts"
)


def _in_namespace(script: str, tmp_path: Path, timeout: float = 300) -> dict[str, str]:
    """Run a shell script as root of a new user and mount namespace (mounts vanish with it); $PM is the CLI.
    Its files under $LOG are returned by name."""
    log = tmp_path / "log"
    log.mkdir()
    pm = f"{sys.executable} -m engine.cli"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PM": pm, "LOG": str(log)}
    subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, env=env, timeout=timeout, check=True)
    return {p.name: p.read_text() for p in log.iterdir()}


@needs_namespace
def test_read_only_output_folder_stops_the_batch_even_for_root(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        _photo(src / f"p{i}.png", seed=i)
    out.mkdir()
    (out / JOURNAL_NAME).write_text("")  # an earlier run's journal
    logs = _in_namespace(
        f"""
        mount --bind {out} {out} && mount -o remount,bind,ro {out}
        $PM restore {src} -p '{PROMPT}' -o {out} > $LOG/out 2> $LOG/err; echo $? > $LOG/rc
        """,
        tmp_path,
    )
    assert logs["rc"].strip() == "5", logs["err"]
    assert "Read-only file system" in logs["err"].splitlines()[-1]
    assert "run the same command again" in logs["err"].splitlines()[-1]
    assert "Traceback" not in logs["err"]
    assert sorted(os.listdir(out)) == [JOURNAL_NAME]
    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out))  # writable again: resumes
    assert result.returncode == 0 and len(list(out.glob("*.png"))) == 3


@needs_namespace
def test_a_full_disk_stops_the_batch_and_a_rerun_resumes(tmp_path: Path) -> None:
    """A real 24 KB tmpfs: outputs and journal lines fill it; then it is grown, as if space were freed."""
    src, out, first, second = (tmp_path / n for n in ("in", "out", "first", "second"))
    for i in range(8):
        _photo(src / f"p{i}.png", seed=i)
    originals = _tree(src)
    for folder in (out, first, second):
        folder.mkdir()
    logs = _in_namespace(
        f"""
        mount -t tmpfs -o size=24k tmpfs {out}
        $PM restore {src} -p '{PROMPT}' -o {out} --json > $LOG/out1 2> $LOG/err1; echo $? > $LOG/rc1
        cp -a {out}/. {first}/
        mount -o remount,size=4m {out}
        $PM restore {src} -p '{PROMPT}' -o {out} --json > $LOG/out2 2> $LOG/err2; echo $? > $LOG/rc2
        cp -a {out}/. {second}/
        """,
        tmp_path,
    )
    assert logs["rc1"].strip() == "5", logs["err1"]
    summary = json.loads(logs["out1"].splitlines()[-1])
    assert (
        "No space left on device" in summary["stopped"] and "run the same command again" in summary["stopped"]
    )
    assert "Traceback" not in logs["err1"] + logs["err2"]
    assert 1 <= len(summary["done"]) < 8
    # Whatever was written when the disk filled is complete, and no temp file or half journal line is left.
    assert _temp_files(first) == []
    _journal_lines(first)
    for name in summary["done"]:
        assert read_photo(first / Path(name).name).pixels.shape == (48, 48, 3)

    assert logs["rc2"].strip() == "0", logs["err2"]
    resumed = json.loads(logs["out2"].splitlines()[-1])
    assert len(resumed["skipped"]) == len(summary["done"]) and len(resumed["done"]) == 8 - len(
        summary["done"]
    )
    assert sorted(p.name for p in second.glob("*.png")) == [f"p{i}.png" for i in range(8)]
    assert _temp_files(second) == []
    assert _tree(src) == originals


def _limit_file_size(limit: int):  # noqa: ANN202
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_journal_that_cannot_grow_stops_the_batch_with_every_line_whole(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (Python ignores SIGXFSZ, so writes past it fail with EFBIG): 24x24 outputs fit under the
    limit, the journal outgrows it after a few photos — often in the middle of a line."""
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(8):
        _photo(src / f"p{i}.png", seed=i, size=24)
    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out), preexec_fn=_limit_file_size(3000))
    err = result.stderr.decode()
    assert result.returncode == 5, err
    assert "cannot write the journal: File too large" in err.splitlines()[-1] and "Traceback" not in err
    lines = _journal_lines(out)  # every line whole: the failed append was cut back off
    assert len(lines) >= 2 and (out / JOURNAL_NAME).stat().st_size <= 3000
    assert _temp_files(out) == []
    done_before = sum(1 for line in lines if line["state"] == "done")

    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.decode().splitlines()[-1])
    assert len(summary["skipped"]) == done_before and len(summary["done"]) == 8 - done_before


def test_an_output_too_big_for_the_disk_fails_alone(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "a_small.png", seed=1, size=24)
    _photo(src / "b_big.png", seed=2, size=160)
    _photo(src / "c_small.png", seed=3, size=24)
    result = _cli(
        "restore", str(src), "-p", PROMPT, "-o", str(out), "--json", preexec_fn=_limit_file_size(20_000)
    )
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout.decode().splitlines()[-1])
    assert sorted(Path(p).name for p in summary["done"]) == ["a_small.png", "c_small.png"]
    ((failed),) = summary["failed"]
    assert failed["path"].endswith("b_big.png") and "File too large" in failed["reason"]
    assert not (out / "b_big.png").exists() and _temp_files(out) == []


def test_a_second_batch_into_the_same_folder_waits_its_turn(tmp_path: Path, brighten: object) -> None:
    _photo(tmp_path / "in" / "p.png")
    out = tmp_path / "out"
    out.mkdir()
    with Journal(out), pytest.raises(OutputFolderError) as caught:
        run_batch([tmp_path / "in"], brighten, out)
    assert "another PhotoMend batch" in str(caught.value)
    assert len(run_batch([tmp_path / "in"], brighten, out).done) == 1


# --- damaged journals ---------------------------------------------------------------------------------


def _cut_last_line(journal: Path) -> None:
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 40])


def _append_garbage(journal: Path) -> None:
    with journal.open("ab") as fh:
        fh.write(b'{"v": 2, "state": "done", "output": 5}\n')  # wrong types
        fh.write(b"[1, 2, 3]\n")
        fh.write(b'{"v": 2, "state": "done", "output": "../../etc/passwd", "key": "k", "source": "s", '
                 b'"source_sha256": "x", "size": 1, "mtime_ns": 1, "sha256": "y"}\n')  # fmt: skip
        fh.write(b"\xff\xfe not even text\n")
        fh.write(b"{" * 100_000 + b"\n")


@pytest.mark.parametrize(
    ("damage", "restored_again", "damaged_lines"),
    [(_cut_last_line, ["p2.png"], 1), (_append_garbage, [], 5)],
)
def test_a_damaged_journal_is_read_around_and_the_photos_it_lost_are_restored_again(
    tmp_path: Path, brighten: object, damage: object, restored_again: list[str], damaged_lines: int
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        _photo(src / f"p{i}.png", seed=i)
    run_batch([src], brighten, out)
    damage(out / JOURNAL_NAME)  # type: ignore[operator]
    report = run_batch([src], brighten, out)
    assert [i.output.name for i in report.done] == restored_again and report.ok
    (warning,) = report.warnings
    assert f"{damaged_lines} damaged line(s) ignored" in warning
    again = run_batch([src], brighten, out)
    assert again.warnings == [] and len(again.skipped) == 3  # said once; the journal goes on around it


def test_a_journal_of_garbage_loses_the_record_but_never_a_photo(tmp_path: Path, brighten: object) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(2):
        _photo(src / f"p{i}.png", seed=i)
    run_batch([src], brighten, out)
    outputs = {name: digest for name, digest in _tree(out).items() if name.endswith(".png")}
    (out / JOURNAL_NAME).write_bytes(os.urandom(5000))
    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out))
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    assert "warning:" in err and "damaged line(s) ignored" in err
    assert err.count("--overwrite") >= 2  # each output named, kept, with the way out
    assert {n: d for n, d in _tree(out).items() if n.endswith(".png")} == outputs
    assert _cli("restore", str(src), "-p", PROMPT, "-o", str(out), "--overwrite").returncode == 0
    assert _cli("restore", str(src), "-p", PROMPT, "-o", str(out)).returncode == 0


def test_a_journal_that_is_a_folder_is_one_line_exit_5(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "p.png")
    (tmp_path / "out" / JOURNAL_NAME).mkdir(parents=True)
    result = _cli("restore", str(tmp_path / "in"), "-p", PROMPT, "-o", str(tmp_path / "out"))
    assert result.returncode == 5
    assert result.stderr.decode().splitlines()[-1].startswith(f"photomend: {tmp_path / 'out'}")


# --- 6. names -----------------------------------------------------------------------------------------


def test_names_of_255_bytes_are_written_and_longer_ones_shortened(tmp_path: Path, brighten: object) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    longest = "a" * (NAME_MAX - 4) + ".png"
    wide = "é" * 125 + ".png"  # 254 bytes: two per character
    _photo(src / longest, 1)
    _photo(src / wide, 2)
    report = run_batch([src], brighten, out)
    assert sorted(i.output.name for i in report.done) == sorted([longest, wide]) and report.ok

    marked = run_batch([src], brighten, tmp_path / "marked", pattern="{stem}-restored.{ext}")
    assert len(marked.done) == 2 and len(marked.renamed) == 2 and marked.ok
    for item in marked.done:
        name = os.fsencode(item.output.name)
        assert len(name) <= NAME_MAX and name.decode("utf-8").endswith("-restored.png")  # whole characters
    assert all("too long" in note for _, note in marked.renamed)


def _bytes_name(folder: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")
def test_names_that_are_not_utf8_never_break_the_output(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _photo(_bytes_name(src, b"caf\xe9.png"), 1)
    _photo(_bytes_name(src, b"ok.png"), 2)
    result = _cli("restore", str(src), "-p", PROMPT, "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]  # strict UTF-8
    summary = rows[-1]
    assert sorted(Path(p).name for p in summary["done"]) == ["caf\\xe9.png", "ok.png"]
    assert sorted(os.listdir(os.fsencode(out))) == [JOURNAL_NAME.encode(), b"caf\xe9.png", b"ok.png"]
    _journal_lines(out)  # the journal is ASCII JSON and keeps the exact bytes
    assert b"caf\xe9.png" in {os.fsencode(Path(line["output"]).name) for line in _journal_lines(out)}

    text = _cli("restore", str(src), "-p", "remove the noise", "-o", str(out))
    assert text.returncode == 0
    assert "caf\\xe9.png" in text.stdout.decode("utf-8") + text.stderr.decode("utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="arguments are bytes on Linux only")
def test_a_prompt_that_is_not_utf8_is_read_not_crashed_on(tmp_path: Path) -> None:
    _photo(tmp_path / "p.png")
    result = _cli(
        "restore",
        str(tmp_path / "p.png"),
        "-p",
        b"remove the noise, tr\xe8s grainy",
        "-o",
        str(tmp_path / "o"),
    )
    err = result.stderr.decode("utf-8")
    assert result.returncode == 0, err
    assert any("not UTF-8" in line for line in err.splitlines()) and "Traceback" not in err
    assert (tmp_path / "o" / "p.png").is_file()


# --- 7. what collecting the inputs meets --------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_fifos_links_and_devices_are_reported_by_name_and_nothing_hangs(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "good.png")
    os.mkfifo(src / "pipe.png")
    os.mkfifo(src / "pipe-notes")
    (src / "dangling.jpg").symlink_to(src / "gone.jpg")
    (src / "zero.png").symlink_to("/dev/zero")
    (src / "loop.png").symlink_to(src / "loop.png")
    (src / "elsewhere").symlink_to(tmp_path)
    os.mkfifo(tmp_path / "named.png")
    result = _cli(
        "restore", str(src), str(tmp_path / "named.png"), "-p", PROMPT, "-o", str(out), "--json", timeout=120
    )
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    summary = rows[-1]
    assert [Path(p).name for p in summary["done"]] == ["good.png"]
    failed = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert "FIFO" in failed["pipe.png"] and "FIFO" in failed["named.png"]
    assert "does not exist" in failed["dangling.jpg"] and "gone.jpg" in failed["dangling.jpg"]
    assert "/dev/zero" in failed["zero.png"] and "device" in failed["zero.png"]
    assert "cannot be followed" in failed["loop.png"]
    ignored = {Path(r["path"]).name: r["reason"] for r in rows if r["event"] == "ignored"}
    assert "FIFO" in ignored["pipe-notes"] and "not followed" in ignored["elsewhere"]


@pytest.mark.skipif(
    BYPASSES_PERMISSIONS,
    reason="this user (root, CAP_DAC_READ_SEARCH) opens any folder; the other collection cases run for it",
)
def test_an_unreadable_subfolder_is_reported(tmp_path: Path, brighten: object) -> None:
    src = tmp_path / "in"
    _photo(src / "good.png")
    locked = src / "locked"
    _photo(locked / "hidden-from-us.png")
    locked.chmod(0)
    try:
        report = run_batch([src], brighten, tmp_path / "out")
    finally:
        locked.chmod(0o755)
    assert [i.output.name for i in report.done] == ["good.png"]
    assert report.failed == [(locked, "cannot open the folder: Permission denied")]


# --- signals ------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
def test_sigterm_and_ctrl_c_stop_cleanly_and_the_batch_resumes(
    tmp_path: Path, signum: int, code: int
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    count = 40
    for i in range(count):
        _photo(src / f"p{i:02d}.png", seed=i, size=64)
    originals = _tree(src)
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    cmd = [sys.executable, "-m", "engine.cli", "restore", str(src), "-p", PROMPT, "-o", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = out / JOURNAL_NAME
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and '"state": "done"' in journal.read_text():
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the batch finished before the signal: make it heavier"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == code, err.decode()
    assert "cancelling" in err.decode() and "Traceback" not in err.decode()
    assert _temp_files(out) == []
    lines = _journal_lines(out)
    done = [line["output"] for line in lines if line["state"] == "done"]
    assert 1 <= len(done) < count
    for name in done:
        assert read_photo(out / name).pixels.shape == (64, 64, 3)

    again = _cli("restore", str(src), "-p", PROMPT, "-o", str(out), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.decode().splitlines()[-1])
    assert len(summary["skipped"]) == len(done) and len(summary["done"]) == count - len(done)
    assert _tree(src) == originals


def test_events_name_a_renamed_output(tmp_path: Path, brighten: object) -> None:
    a, b = _photo(tmp_path / "a" / "x.png", 1), _photo(tmp_path / "b" / "x.png", 2)
    events: list[ItemEvent] = []
    run_batch([a, b], brighten, tmp_path / "out", on_item=events.append)
    (done,) = [e for e in events if e.status == "done" and e.item.source == b]
    assert done.item.output.name == "x-2.png" and "x-2.png" in done.note


def test_the_cancel_message_reaches_the_terminal_while_a_codec_is_caught(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A signal that lands mid-decode says "cancelling" on the terminal, not in the photo's codec notes."""
    from engine.cli import cancel_on_interrupt
    from engine.io.codec_output import CodecOutput

    with cancel_on_interrupt() as token, CodecOutput() as caught:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):  # the handler runs in this thread at the next bytecode boundary
            if token.cancelled:
                break
            time.sleep(0.001)
    assert token.cancelled
    assert caught.lines == []
    assert "cancelling" in capfd.readouterr().err
