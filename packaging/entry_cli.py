"""PyInstaller entry point of the bundled command line (`photomend`)."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
