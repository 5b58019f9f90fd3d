"""The app in a real X window (Xvfb + openbox), driven by real keys and mouse, as a photographer uses it.

Each state is grabbed from the screen into tests/desktop/_screens/<test>/ (kept by CI, ignored by git) and
checked for what a person must see there. The photos are tiny and the instruction quick, so the whole module
takes well under two minutes on a 2-core machine. Needs the Debian packages tools/install_test_deps.sh
installs; without them every test here skips, naming them.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import add_noise, save_rgb, textured_image
from tests.desktop.xsession import AppProcess, Geometry, XSession, missing_packages, wait_until

SCREENS = Path(__file__).with_name("_screens")
CANVAS_BACKGROUND = (38, 38, 40)  # desktop/qt_canvas.py paints the area around the photo in this
RUN_TIMEOUT_S = 120  # the first run loads the models; the machine is shared
STATUS_BAR_PX = 24
BATCH_SIZE = 4
TITLE = r"^{name}(\*)? — PhotoMend$"
CRASH_SIGNS = ("Fatal Python error", "Traceback (most recent call last)", "Segmentation fault", "Aborted")

_missing = missing_packages()
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"real-window tests need: {' '.join(_missing)} (tools/install_test_deps.sh installs them as root)",
)


@pytest.fixture(scope="module")
def x(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XSession]:
    session = XSession(tmp_path_factory.mktemp("x"))
    yield session
    session.close()


@pytest.fixture
def screens(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Screenshots go to tmp_path while the test runs and are kept under _screens/<test> afterwards."""
    folder = tmp_path / "screens"
    folder.mkdir()
    yield folder
    kept = SCREENS / request.node.name
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(folder, kept)


def title_of(photo: Path) -> str:
    return TITLE.format(name=photo.name.replace(".", r"\."))


# --- reading the screen ---------------------------------------------------------------------------------
def canvas_box(window: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the canvas in a grab of the window: where its background colour is."""
    ys, xs = np.nonzero(np.all(window == CANVAS_BACKGROUND, axis=2))
    if len(xs) < 1000:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def photo_box(window: np.ndarray, canvas: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The photo inside the canvas: the rows and columns that are not all background."""
    x0, y0, x1, y1 = canvas
    inside = ~np.all(window[y0:y1, x0:x1] == CANVAS_BACKGROUND, axis=2)
    cols, rows = np.nonzero(inside.any(axis=0))[0], np.nonzero(inside.any(axis=1))[0]
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1


def divider_x(window: np.ndarray, photo: tuple[int, int, int, int]) -> int:
    """The before/after divider: the near-white column running down the photo."""
    x0, y0, x1, y1 = photo
    white = np.all(window[y0:y1, x0:x1] >= 225, axis=2).mean(axis=0)
    column = int(np.argmax(white))
    assert white[column] > 0.9, f"no divider on the photo (whitest column {white[column]:.0%} white)"
    return x0 + column


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def status_bar(window: np.ndarray) -> np.ndarray:
    return window[-STATUS_BAR_PX:]


# --- the photographer's session ---------------------------------------------------------------------------
@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "photos"
    shoot = tmp_path / "shoot"
    folder.mkdir()
    shoot.mkdir()
    noisy = save_rgb(folder / "noisy.png", add_noise(textured_image(64, 96, seed=4), 0.12))
    # Big enough that Pause lands while the first one is being restored.
    for i in range(BATCH_SIZE):
        save_rgb(
            shoot / f"IMG_{i:04d}.jpg", add_noise(textured_image(300, 400, seed=10 + i), 0.1), quality=92
        )
    return {"noisy": noisy, "shoot": shoot, "out": tmp_path / "restored"}


def queue_items(home: Path) -> list[dict[str, object]]:
    path = home / "data" / "PhotoMend" / "batch-queue.json"
    try:
        return json.loads(path.read_text())["items"]
    except (OSError, ValueError, KeyError):
        return []


def test_a_photographer_opens_runs_compares_batches_saves_and_quits(  # noqa: PLR0915 - one session
    x: XSession, photos: dict[str, Path], screens: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    queue = home / "data" / "PhotoMend" / "batch-queue.json"
    queue.parent.mkdir(parents=True)
    # Options a user set in an earlier session; the queue is kept across restarts.
    queue.write_text(
        json.dumps({"items": [], "instruction": "remove the noise", "output_dir": str(photos["out"])})
    )
    app = AppProcess(x, [str(photos["noisy"])], home)
    window = x.wait_window(title_of(photos["noisy"]), 60)
    x.move(window, 0, 0)
    x.activate(window)
    frame: Geometry = x.geometry(window)
    count = iter(range(1, 100))

    def look() -> np.ndarray:
        return frame.crop(x.screenshot(tmp_path / "look.png"))

    def grab(name: str, image: np.ndarray | None = None) -> np.ndarray:
        """The window as it is now (or `image`), kept as NN-name.png."""
        from PIL import Image

        image = look() if image is None else image
        Image.fromarray(image).save(screens / f"{next(count):02d}-{name}.png")
        return image

    # 1. Opened from the command line: the photo fills the canvas.
    wait_until(lambda: canvas_box(look()), 30, "the photo on the canvas")
    opened = grab("opened")
    canvas = canvas_box(opened)
    photo = photo_box(opened, canvas)
    assert photo[2] - photo[0] >= 96 * 2, "a 96 px photo is shown enlarged to fit"

    # 2. Ctrl+L, type the instruction, Ctrl+Return; the title gains "*" when the result is there.
    x.key("ctrl+l")
    x.type("remove the noise")
    time.sleep(1.5)  # its interpretation and plan show under the box
    typed = grab("instruction-typed")
    assert canvas_box(typed) == canvas, "the photo stays put while the lines under the prompt change"
    x.key("ctrl+Return")
    wait_until(lambda: "*" in x.title(window), RUN_TIMEOUT_S, "the restored photo (title with '*')")
    time.sleep(0.3)
    result = grab("result")
    t_result = time.monotonic()
    # The same view: the photo has not moved (the margins beside it are still bare canvas).
    assert canvas_box(result) == canvas
    assert np.all(result[photo[1] + 60 : photo[3], canvas[0] : photo[0]] == CANVAS_BACKGROUND)
    split = divider_x(result, photo)
    assert abs(split - (canvas[0] + canvas[2]) / 2) < 4, "the divider starts in the middle of the canvas"
    # Below the Before/After labels: the left of the divider is the photo as it was, the right is restored.
    top, bottom = photo[1] + 50, photo[3] - 10
    left = (slice(top, bottom), slice(photo[0] + 5, split - 20))
    right = (slice(top, bottom), slice(split + 20, photo[2] - 5))
    assert mean_difference(result[left], typed[left]) < 1.0
    assert mean_difference(result[right], typed[right]) > 8.0

    # 3. Drag the divider a quarter of the way in: more of the photo shows restored.
    knob = (frame.x + split, frame.y + (photo[1] + photo[3]) // 2)
    target = photo[0] + (photo[2] - photo[0]) // 4
    x.drag(knob, (frame.x + target, knob[1]))
    time.sleep(0.3)
    dragged = grab("divider-dragged")
    moved = divider_x(dragged, photo)
    assert abs(moved - target) <= 3, (moved, target)
    between = (slice(top, bottom), slice(moved + 20, split - 20))
    assert mean_difference(dragged[between], typed[between]) > 8.0

    # 4. B toggles the blur map over the photo (the click on the divider put the focus on the photo).
    x.key("b")
    time.sleep(0.3)
    mapped = grab("blur-map")
    inside = (slice(photo[1], photo[3]), slice(photo[0], photo[2]))
    assert mean_difference(mapped[inside], dragged[inside]) > 3.0
    x.key("b")
    time.sleep(0.3)
    assert mean_difference(grab("blur-map-off")[inside], dragged[inside]) < 0.5

    # 5. Settings by its shortcut, on Linux too.
    x.key("ctrl+comma")
    dialog = x.wait_window("^PhotoMend settings$", 10)
    assert x.geometry(dialog).viewable
    grab("settings")
    x.key("Escape")
    x.wait_no_window("^PhotoMend settings$")

    # 6. The run's "Done in …" is still in the status bar well after the run and the dragging.
    time.sleep(max(0.0, t_result + 9.0 - time.monotonic()))
    later = grab("status-later")
    assert np.array_equal(status_bar(later), status_bar(result)), "the status bar changed after the run"
    assert (status_bar(result).min(axis=2) < 100).sum() > 50, "the status bar shows text"

    # 7. The Batch tab (Alt+B); drop the folder on it from another window, as from a file manager.
    x.key("alt+b")
    wait_until(lambda: canvas_box(look()) is None, 10, "the Batch tab")
    grab("batch-tab")
    drop_at = (frame.x + frame.width // 2, frame.y + frame.height // 3)
    assert x.drop_files([photos["shoot"]], drop_at) == "dropped: accepted"
    wait_until(lambda: len(queue_items(home)) == BATCH_SIZE, 15, "the folder's photos queued")
    time.sleep(1.0)  # thumbnails
    grab("batch-dropped")

    # 8. Start (Alt+S), then Pause (Alt+U): the photo being restored finishes, the rest wait.
    x.activate(window)
    x.key("alt+s")
    wait_until(lambda: "running" in [i["status"] for i in queue_items(home)], 30, "the first photo running")
    x.key("alt+u")
    grab("batch-running")

    def paused() -> bool:
        statuses = [item["status"] for item in queue_items(home)]
        return "running" not in statuses and "done" in statuses and "pending" in statuses

    wait_until(paused, RUN_TIMEOUT_S, "the batch paused after the current photo")
    time.sleep(1.0)
    assert paused(), [item["status"] for item in queue_items(home)]
    grab("batch-paused")

    # 9. Start again: the rest are restored.
    x.key("alt+s")
    wait_until(
        lambda: all(item["status"] == "done" for item in queue_items(home)), RUN_TIMEOUT_S, "the batch done"
    )
    time.sleep(0.5)
    grab("batch-done")
    assert len(list(photos["out"].glob("IMG_*-restored.jpg"))) == BATCH_SIZE

    # 10. Save (Ctrl+S, Return in the dialog): NAME-restored.png next to the photo; the "*" goes.
    x.key("ctrl+s")
    x.wait_window("^Save the restored photo$", 10)
    grab("save-dialog")
    x.key("Return")
    saved = photos["noisy"].with_name("noisy-restored.png")
    wait_until(saved.exists, 15, "the saved photo")
    wait_until(lambda: "*" not in x.title(window), 10, "the title without '*'")

    # 11. Quit (Ctrl+Q): a clean exit.
    x.key("ctrl+q")
    assert app.wait(60) == 0
    assert not any(sign in app.stderr for sign in CRASH_SIGNS), app.stderr


# --- quitting, again and again --------------------------------------------------------------------------
CYCLES = [
    "result",
    "running",
    "startup",
    "result",
    "running",
    "startup",
    "result",
    "running",
    "startup",
    "result",
]


@pytest.fixture
def quit_photos(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    small = save_rgb(folder / "small.png", add_noise(textured_image(64, 96, seed=5), 0.12))
    large = save_rgb(folder / "large.png", add_noise(textured_image(480, 720, seed=6), 0.12))
    return {"small": small, "large": large}


def test_ten_quits_in_a_row_exit_cleanly(
    x: XSession, quit_photos: dict[str, Path], screens: Path, tmp_path: Path
) -> None:
    """Start, work, quit; ten times: after a result (Ctrl+Q, then "Quit without saving"), in the middle of
    a run (the window manager's close, Alt+F4), and straight after start-up (detection still running)."""
    for number, how in enumerate(CYCLES, 1):
        photo = quit_photos["large" if how == "running" else "small"]
        app = AppProcess(x, [str(photo)], tmp_path / f"home{number}", name=f"app{number}")
        window = x.wait_window(title_of(photo), 60)
        x.activate(window)
        if how == "startup":
            x.key("ctrl+q")
        else:
            x.key("ctrl+l")
            x.type("remove the noise")
            x.key("ctrl+Return")
            if how == "result":
                wait_until(lambda: "*" in x.title(window), RUN_TIMEOUT_S, "the result")  # noqa: B023
                x.key("ctrl+q")
                x.wait_window("^Unsaved result$", 10)
                x.screenshot(screens / f"{number:02d}-{how}-asks.png")
                x.key("alt+q")  # "Quit without saving"
            else:
                time.sleep(0.5)
                x.key("alt+F4")
                wait_until(
                    lambda: app.process.poll() is not None or x.windows("^Unsaved result$"),  # noqa: B023
                    60,
                    "the app closing (or asking about a result that came first)",
                )
                if app.process.poll() is None:  # the run finished first: "Quit without saving"
                    x.key("alt+q")
        try:
            status = app.wait(60)
        finally:
            x.screenshot(screens / f"{number:02d}-{how}-after-quit.png")
        assert status == 0, f"cycle {number} ({how}): exit {status}\n{app.stderr}"
        assert not any(sign in app.stderr for sign in CRASH_SIGNS), f"cycle {number} ({how}):\n{app.stderr}"
