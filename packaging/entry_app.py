"""PyInstaller entry point of the bundled desktop app (`photomend-app`)."""

import sys

from desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
