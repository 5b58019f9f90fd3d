"""Batch (GIMP GUI under Xvfb): enlarge into a new layer (the image is scaled), then one Ctrl+Z."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.environ["PHOTOMEND_BATCH_DIR"])
from common import ARGS, Gimp, emit, layer_names, load, run_procedure  # noqa: E402

HELPER = os.path.join(os.environ["PHOTOMEND_BATCH_DIR"], "x11_helper.py")


def sizes(image: Gimp.Image) -> dict:
    source = image.get_layers()[-1]  # the bottom layer: the one PhotoMend ran on
    return {
        "layers": layer_names(image),
        "image_size": [image.get_width(), image.get_height()],
        "source_size": [source.get_width(), source.get_height()],
    }


image = load(ARGS["photo"])
source = image.get_layers()[0]
display = Gimp.Display.new(image)
Gimp.displays_flush()
before = sizes(image)
# Non-interactive: no dialog to fill in; the undo group is the same whatever the run mode.
status, values = run_procedure(
    "plug-in-photomend-restore",
    image,
    source,
    Gimp.RunMode.NONINTERACTIVE,
    instruction=ARGS["instruction"],
    output="new-layer",
)
after_run = sizes(image)
Gimp.displays_flush()
if ARGS.get("result_screenshot"):
    subprocess.run(["python3", HELPER, "shot", ARGS["result_screenshot"]], timeout=60)
undo_code = subprocess.run(["python3", HELPER, "undo", ARGS["window_title"]], timeout=120).returncode
deadline = time.monotonic() + 30
while len(image.get_layers()) != 1 and time.monotonic() < deadline:
    time.sleep(0.5)
emit(
    status=status,
    error=values[0] if values and status != "success" else "",
    undo_helper=undo_code,
    before=before,
    after_run=after_run,
    after_undo=sizes(image),
)
image.clean_all()  # --quit must not stop at "discard changes?"
display.delete()
