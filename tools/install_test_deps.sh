#!/bin/sh
# The system packages the real-window tests (tests/desktop/test_real_window.py) need, installed with apt-get
# when they are missing: an X server (Xvfb), a window manager (openbox), real key and mouse events
# (xdotool), window queries (xwininfo, xprop), screen grabs (ImageMagick's import), python3-xlib for the
# stand-in file manager that drags a folder onto the app (tests/desktop/xdnd_source.py), and the libraries
# Qt's xcb platform plugin links against (as desktop/platform_check.py finds them missing).
#
# Run as root, or as a user with password-less sudo; otherwise it only prints what is missing and the
# real-window tests skip, naming it. It never fails the command it is part of.
set -u
cd "$(dirname "$0")/.."

PYTHON=.venv/bin/python
[ -x "$PYTHON" ] || PYTHON=python3

missing=""
need() {  # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need Xvfb xvfb
need openbox openbox
need xdotool xdotool
need xwininfo x11-utils
need xprop x11-utils
need import imagemagick
/usr/bin/python3 -c "import Xlib" >/dev/null 2>&1 || missing="$missing python3-xlib"
qt_packages=$("$PYTHON" -m desktop.platform_check --debian-packages 2>/dev/null || true)
for package in $qt_packages; do
    missing="$missing $package"
done
missing=$(printf '%s\n' $missing | sort -u | tr '\n' ' ' | sed 's/ *$//')

if [ -z "$missing" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_test_deps: no apt-get here; the real-window tests need: $missing (Debian names)" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "install_test_deps: not root and no password-less sudo; the real-window tests will skip." >&2
    echo "install_test_deps: to run them: sudo apt-get install --no-install-recommends $missing" >&2
    exit 0
fi
echo "install_test_deps: apt-get install $missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # one word per package
if ! $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null; then
    # A fresh machine may have no package lists yet.
    $sudo apt-get update -q >/dev/null 2>&1
    $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null ||
        echo "install_test_deps: apt-get failed; the real-window tests will skip." >&2
fi
exit 0
