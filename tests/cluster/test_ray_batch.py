"""The batch on a real local Ray (2 CPUs): the local runner's outputs byte for byte, the journal, a worker
killed mid-photo, Ctrl-C, a rerun that does nothing, file:// URIs through pyarrow, and the CLI's --ray."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from engine.batch import JOURNAL_NAME, BatchReport, ItemEvent
from engine.cluster import RayOptions, run_batch_on_ray
from engine.cluster.worker import CRASH_ENV
from engine.instructions import Interpretation
from engine.progress import CancelToken
from tests.cluster.conftest import BAD, PROMPT

pytestmark = pytest.mark.slow

TWO = RayOptions(workers=2)


def _files(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` but the journal, by relative path: temp files included, so none may stay."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != JOURNAL_NAME
    }


def _journal(folder: Path) -> dict[str, dict[str, object]]:
    """The last journal line per output."""
    lines = [json.loads(line) for line in (folder / JOURNAL_NAME).read_text().splitlines() if line.strip()]
    return {line["output"]: line for line in lines if "output" in line}


def _failed_names(report: BatchReport, root: Path) -> dict[str, str]:
    return {Path(str(path)).relative_to(root).as_posix(): reason for path, reason in report.failed}


def test_ray_gives_the_local_runners_outputs_and_a_rerun_does_nothing(
    ray_cluster: object,
    photos: Path,
    instruction: Interpretation,
    local_run: tuple[Path, BatchReport],
    tmp_path: Path,
) -> None:
    local_out, local_report = local_run
    out = tmp_path / "out"
    stages: list[str] = []
    report = run_batch_on_ray([photos], instruction, out, ray=TWO, progress=lambda f, s: stages.append(s))

    assert _files(out) == _files(local_out)  # every output, bit for bit, and nothing else (no temp file)
    assert len(report.done) == 97 and not report.cancelled and not report.stopped
    # bad files by name and reason, as the local runner reports them
    assert _failed_names(report, photos) == _failed_names(local_report, photos)
    assert sorted(_failed_names(report, photos)) == sorted(BAD)
    assert [str(p) for p, _ in report.ignored] == [str(p) for p, _ in local_report.ignored]
    # one definition of a key: the same journal keys and stamps as the local runner's
    ours, theirs = _journal(out), _journal(local_out)
    assert {k: (v["state"], v["key"], v.get("sha256")) for k, v in ours.items()} == {
        k: (v["state"], v["key"], v.get("sha256")) for k, v in theirs.items()
    }
    # progress: counts, then an estimate of the time left
    assert stages[0] == "starting 2 Ray workers (1 CPU each)"
    assert "100/100 done, 3 failed, ETA 0:00" in stages
    assert any(s.startswith("50/100 done") and ", ETA " in s for s in stages)

    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = run_batch_on_ray([photos], instruction, out, ray=TWO)
    assert again.done == [] and len(again.skipped) == 97
    assert sorted(_failed_names(again, photos)) == sorted(BAD)  # the bad ones are still named
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != JOURNAL_NAME} == {
        p: t for p, t in mtimes.items() if p.name != JOURNAL_NAME
    }


def test_a_worker_killed_mid_photo_is_retried_and_nothing_is_lost(
    ray_cluster: object,
    photos: Path,
    instruction: Interpretation,
    local_run: tuple[Path, BatchReport],
    tmp_path: Path,
) -> None:
    local_out, _ = local_run
    out = tmp_path / "out"
    killed_restoring, killed_written = tmp_path / "killed-restoring", tmp_path / "killed-written"
    # SIGKILL: one worker on its 5th photo once it is restored and before it is written; one on its 9th
    # once the output is in place and before the driver heard of it (the resend must replace it)
    crash = f"5:restored:{killed_restoring},9:written:{killed_written}"
    events: list[ItemEvent] = []
    report = run_batch_on_ray(
        [photos], instruction, out, ray=RayOptions(workers=2, env={CRASH_ENV: crash}), on_item=events.append
    )

    assert killed_restoring.exists() and killed_written.exists()  # both workers really died
    sent = Counter(str(e.item.source) for e in events if e.status == "running")
    assert sum(n - 1 for n in sent.values()) >= 2  # the photos they held were sent again
    assert len(report.done) == 97 and sorted(_failed_names(report, photos)) == sorted(BAD)
    assert _files(out) == _files(local_out)  # nothing lost, nothing partial, no temp file left
    assert all(line["state"] == "done" for line in _journal(out).values())


def test_cancel_stops_the_whole_job_cleanly_and_a_rerun_finishes_it(
    ray_cluster: object,
    photos: Path,
    instruction: Interpretation,
    local_run: tuple[Path, BatchReport],
    tmp_path: Path,
) -> None:
    local_out, _ = local_run
    out = tmp_path / "out"
    cancel = CancelToken()

    def on_item(event: ItemEvent) -> None:
        if event.status == "done" and not cancel.cancelled:
            cancel.cancel()  # as Ctrl-C does, with photos still on the workers

    report = run_batch_on_ray([photos], instruction, out, ray=TWO, cancel=cancel, on_item=on_item)
    assert report.cancelled and 1 <= len(report.done) < 97
    written, local = _files(out), _files(local_out)
    # whole outputs only, no temp file: those done, and any a worker finished writing as it was stopped
    assert set(written) <= set(local) and all(written[name] == local[name] for name in written)
    assert {item.output.relative_to(out).as_posix() for item in report.done} <= set(written)

    rest = run_batch_on_ray([photos], instruction, out, ray=TWO)
    assert len(rest.skipped) == len(report.done) and len(rest.done) == 97 - len(report.done)
    assert _files(out) == _files(local_out)


def test_inputs_as_file_uris_read_through_pyarrow(
    ray_cluster: object,
    photos: Path,
    instruction: Interpretation,
    local_run: tuple[Path, BatchReport],
    tmp_path: Path,
) -> None:
    local_out, _ = local_run
    out = tmp_path / "out"
    uri = photos.as_uri() + "/"
    missing = (photos / "nowhere").as_uri()
    report = run_batch_on_ray([uri, missing], instruction, out, ray=TWO)

    assert _files(out) == _files(local_out)  # the same folders mirrored below the URI, the same bytes
    failed = {str(path): reason for path, reason in report.failed}
    assert failed[missing] == "no such file or folder"
    assert {name for name in failed if name != missing} == {f"{photos.as_uri()}/{bad}" for bad in BAD}
    assert all(name in failed[name] for name in failed if name != missing)  # reasons name the URI
    sources = {line["source"] for line in _journal(out).values()}
    assert f"{photos.as_uri()}/2019/scan000.jpg" in sources  # the journal names the object, not a temp copy

    again = run_batch_on_ray([uri], instruction, out, ray=TWO)
    assert again.done == [] and len(again.skipped) == 97


def test_a_file_uri_holding_the_output_folder_never_takes_outputs_for_photos(
    ray_cluster: object, instruction: Interpretation, tmp_path: Path
) -> None:
    from tests.conftest import save_rgb, textured_image

    folder = tmp_path / "scans"
    folder.mkdir()
    for index in range(3):
        save_rgb(folder / f"s{index}.png", textured_image(32, 32, seed=index) * 0.4)
    out = folder / "restored"
    first = run_batch_on_ray([folder.as_uri()], instruction, out, ray=TWO)
    again = run_batch_on_ray([folder.as_uri()], instruction, out, ray=TWO)
    assert len(first.done) == 3 and again.done == [] and len(again.skipped) == 3
    assert sorted(str(p) for p, _ in again.ignored) == [f"{out.as_uri()}/s{i}.png" for i in range(3)]


def test_cli_restore_and_blur_with_ray(
    ray_cluster: object,
    photos: Path,
    local_run: tuple[Path, BatchReport],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from engine.cli import main

    local_out, _ = local_run
    out = tmp_path / "out"
    code = main(
        ["restore", str(photos), "--prompt", PROMPT, "-o", str(out), "--json", "--ray", "--ray-workers", "2"]
    )
    assert code == 1  # some inputs failed
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary" and len(summary["done"]) == 97
    assert sorted(Path(f["path"]).relative_to(photos).as_posix() for f in summary["failed"]) == sorted(BAD)
    assert _files(out) == _files(local_out)

    code = main(["blur", str(photos / "2020"), "--json", "--ray=", "--ray-workers", "2"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(rows) == len(list((photos / "2020").iterdir()))
    local_code = main(["blur", str(photos / "2020"), "--json"])
    assert local_code == 0 and [json.loads(x) for x in capsys.readouterr().out.splitlines()] == rows
    assert os.environ.get(CRASH_ENV) is None


@pytest.mark.parametrize("prompt", ["remove the noise", ""], ids=["grain", "detected-per-photo"])
def test_other_pipelines_match_the_local_runner_too(ray_cluster: object, prompt: str, tmp_path: Path) -> None:
    """The grain step (network, DCT filter, refiner) and an empty prompt (the detector per photo) on
    workers that Ray gives one CPU each (OMP_NUM_THREADS=1): still the local runner's bytes."""
    from engine.batch import run_batch
    from engine.instructions import interpret
    from tests.conftest import add_noise, save_rgb, textured_image

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(6):
        save_rgb(photos / f"p{index}.png", add_noise(textured_image(64, 80, seed=index), 0.08, seed=index))
    instruction = interpret(prompt) if prompt else None
    local = run_batch([photos], instruction, tmp_path / "local")
    report = run_batch_on_ray([photos], instruction, tmp_path / "ray", ray=TWO)
    assert len(report.done) == len(local.done) == 6
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert _journal(tmp_path / "ray").keys() == _journal(tmp_path / "local").keys()
    if not prompt:  # what the detector found is journalled, as the local runner does
        assert all("detected" in line for line in _journal(tmp_path / "ray").values())
