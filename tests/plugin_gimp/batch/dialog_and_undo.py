"""Batch (GIMP GUI under Xvfb): the procedure's dialog, screenshot, OK; then Ctrl+Z must remove the layer."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.environ["PHOTOMEND_BATCH_DIR"])
from common import ARGS, Gimp, emit, layer_names, load, run_procedure  # noqa: E402

HELPER = os.path.join(os.environ["PHOTOMEND_BATCH_DIR"], "x11_helper.py")

image = load(ARGS["photo"])
source = image.get_layers()[0]
display = Gimp.Display.new(image)
Gimp.displays_flush()
helper = subprocess.Popen(
    ["python3", HELPER, "dialog", ARGS["dialog_title"], ARGS["window_title"], ARGS["screenshot"]]
)
status, values = run_procedure(ARGS["procedure"], image, source, Gimp.RunMode.INTERACTIVE)
helper_code = helper.wait(timeout=60)
after_run = layer_names(image)
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
    helper=helper_code,
    undo_helper=undo_code,
    after_run=after_run,
    after_undo=layer_names(image),
)
image.clean_all()  # --quit must not stop at "discard changes?"
display.delete()
