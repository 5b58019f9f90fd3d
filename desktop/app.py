"""`photomend-app [FILES]`: start the PhotoMend desktop window (the gui-script entry point)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from engine import __version__


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="photomend-app", description="PhotoMend desktop app")
    parser.add_argument("files", nargs="*", type=Path, help="photos to open (more than one: the batch queue)")
    parser.add_argument("--version", action="version", version=f"PhotoMend {__version__}")
    parser.add_argument(
        "--quit-after",
        type=int,
        metavar="MS",
        help="close the window after MS milliseconds (smoke tests of the bundle)",
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Qt is imported only here so `--version`/`--help` work without a display.
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.platform_check import platform_problem

    if QApplication.instance() is None:
        # Qt's own failure is a generic "could not load the Qt platform plugin" and an abort.
        problem = platform_problem()
        if problem is not None:
            print(problem.message(), file=sys.stderr)
            return 1

    from desktop.qt_gc import GuiThreadCollector
    from desktop.qt_images import quiet_image_decoders
    from desktop.qt_main_window import QtMainWindow, app_icon
    from desktop.qt_workers import wait_for_workers

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("PhotoMend")
    app.setOrganizationName("PhotoMend")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    quiet_image_decoders()
    collector = GuiThreadCollector(app)  # garbage is collected in this thread only (desktop/qt_gc.py)
    collector.start()
    window = QtMainWindow()
    window.show()
    if args.files:
        window.open_paths(args.files)
    if args.quit_after is not None:
        window.confirm_close = False
        QTimer.singleShot(args.quit_after, window.close)
    try:
        return app.exec()
    finally:
        # The window cancelled its run and batch when it closed; whatever a worker still does (a thumbnail,
        # a detection) ends before Python and Qt tear down the objects it reports to.
        wait_for_workers(60_000)
        collector.stop()


if __name__ == "__main__":
    sys.exit(main())
