"""One real local Ray for the whole module (starting one takes seconds), and 100 small photos, a few bad."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.batch import BatchReport, run_batch
from engine.instructions import Interpretation, interpret
from tests.conftest import add_noise, save_rgb, textured_image

#: cheap to restore (the restoration network alone) at 32 x 32
PROMPT = "it's way too dark"
#: photos the test folder holds that are damaged or no photos, by name
BAD = ("bad/truncated.jpg", "bad/text.png", "bad/empty.jpg")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """A real Ray on this machine (2 CPUs), shared by every test that needs one; engine.cluster uses it as
    it is (and leaves it running) instead of starting its own."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def instruction() -> Interpretation:
    return interpret(PROMPT)


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 photos of 32 x 32 in three folders, JPEG and PNG, 3 of them bad, and a file that is no photo."""
    root = tmp_path_factory.mktemp("archive") / "photos"
    for index in range(97):
        folder = root / ("2019", "2020", "2021")[index % 3]
        folder.mkdir(parents=True, exist_ok=True)
        pixels = add_noise(textured_image(32, 32, seed=index), 0.03, seed=index) * 0.35  # underexposed
        if index % 4 == 0:
            save_rgb(folder / f"scan{index:03d}.jpg", pixels, quality=90)
        else:
            save_rgb(folder / f"scan{index:03d}.png", pixels)
    (root / "bad").mkdir()
    good_jpeg = (root / "2019" / "scan000.jpg").read_bytes()
    (root / BAD[0]).write_bytes(good_jpeg[: len(good_jpeg) // 2])
    (root / BAD[1]).write_text("not a photo at all")
    (root / BAD[2]).write_bytes(b"")
    (root / "notes.txt").write_text("the archive's notes: not a photo, ignored")
    return root


@pytest.fixture(scope="session")
def local_run(
    photos: Path, instruction: Interpretation, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, BatchReport]:
    """The local runner's outputs of `photos`: what every Ray run must give, byte for byte."""
    out = tmp_path_factory.mktemp("local") / "out"
    report = run_batch([photos], instruction, out)
    assert len(report.done) == 97 and len(report.failed) == len(BAD)
    return out, report
