"""Prints the GIMP bridge's cost on a 12 MP layer (export + worker start + import) beside the engine's time.

    .venv/bin/python -m tests.plugin_gimp.bench_roundtrip [--size 4000x3000] [--no-restore]

Runs in the same GIMP 3 as the tests (native, or the Debian 13 root). Not part of the test run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from plugin_gimp.install import install
from tests.plugin_gimp import gimp_root
from tests.plugin_gimp.conftest import REPO, Gimp, _binds


def summarise(result: dict) -> str:
    t = result["report"].get("timings", {})
    if result["status"] != "success":
        return f"{result['procedure']}: {result['status']}: {result['report'].get('error', '')[:200]}"
    compute = t.get("restore_s", t.get("analyze_s", 0.0))
    spawn = t["worker_wall_s"] - t["worker_total_s"]  # process start + interpreter start-up
    start = spawn + t["engine_import_s"]
    files = t["read_s"] + t["write_s"] + t.get("convert_s", 0.0)
    overhead = t["export_s"] + start + files + t["import_s"]
    other = result["wall_s"] - compute - overhead
    return (
        f"{result['procedure']} on {result['megapixels']:.1f} MP: whole call {result['wall_s']:.2f} s = "
        f"engine {compute:.2f} s + bridge {overhead:.2f} s "
        f"(GIMP export {t['export_s']:.2f} s, worker start {start:.2f} s [spawn {spawn:.2f} + imports "
        f"{t['engine_import_s']:.2f}], worker file read/write + layout {files:.2f} s, GIMP import "
        f"{t['import_s']:.2f} s) + {other:.2f} s GIMP starting the plug-in and making the layer"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="4000x3000")
    parser.add_argument("--no-restore", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    base = Path(tempfile.mkdtemp(prefix="photomend-bench-gimp-"))
    try:
        home = base / "home"
        install(home / ".config/GIMP/3.0/plug-ins", python=Path(sys.executable).absolute())
        root = None if gimp_root.native_gimp_console() else gimp_root.build_root()
        gimp = Gimp(root=root, home=home, binds=_binds(REPO, Path(sys.prefix), Path(sys.base_prefix), base))
        runs = [["plug-in-photomend-blur-map", {}]]
        if not args.no_restore:
            runs.append(["plug-in-photomend-restore", {"instruction": "remove the noise"}])
        run = gimp.run("roundtrip_12mp.py", {"width": width, "height": height, "runs": runs})
        if not run.results:
            print(run.stdout[-3000:], run.stderr[-3000:])
            return 1
        for result in run.results:
            print(summarise(result))
        print(f"GIMP session (start, make the layer, all runs, quit): {run.seconds:.1f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
