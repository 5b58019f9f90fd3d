#!/usr/bin/env bash
# Smoke test of a built bundle: the app starts offscreen (opening the sample photo) and quits by itself;
# the bundled CLI restores the sample photo; no torch, training code or Ray/pyarrow (packaging/README.md) went in.
#
#   packaging/smoke_test.sh [dist/PhotoMend]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$(cd "${1:-$ROOT/dist/PhotoMend}" && pwd)"
APP="$BUNDLE/photomend-app"
CLI="$BUNDLE/photomend"
SAMPLE="$(ls "$BUNDLE"/_internal/resources/samples/*.jpg 2>/dev/null | head -n 1 || true)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }

[ -x "$APP" ] || fail "$APP missing"
[ -x "$CLI" ] || fail "$CLI missing"
[ -n "$SAMPLE" ] || fail "no sample photo under $BUNDLE/_internal/resources/samples"
if find "$BUNDLE" -maxdepth 3 \( -iname 'torch' -o -iname 'libtorch*' -o -iname 'training' \) | grep -q .; then
    fail "torch or training code found in the bundle"
fi
if find "$BUNDLE" -maxdepth 2 \( -name 'ray' -o -name 'pyarrow' \) | grep -q .; then
    fail "Ray or pyarrow (the cluster extra) found in the bundle"
fi

# Per-user files of the smoke run go to the scratch folder, not the tester's home.
export XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data" XDG_CACHE_HOME="$WORK/cache"

echo "== app starts offscreen, opens the sample, quits"
rc=0
QT_QPA_PLATFORM=offscreen timeout 120 "$APP" --quit-after 4000 "$SAMPLE" > "$WORK/app.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/app.log"; fail "photomend-app exited with $rc"; }
if grep -q "Traceback" "$WORK/app.log"; then cat "$WORK/app.log"; fail "photomend-app printed a traceback"; fi
echo "   ok"

echo "== CLI: info"
timeout 120 "$CLI" info || fail "photomend info failed"

echo "== CLI: restore the sample photo"
rc=0
timeout 600 "$CLI" restore "$SAMPLE" --prompt "remove the noise" --output "$WORK/out" --json > "$WORK/restore.json" \
    || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/restore.json"; fail "photomend restore exited with $rc"; }
RESTORED="$(find "$WORK/out" -type f ! -name '.*' | head -n 1)"
[ -n "$RESTORED" ] || fail "no restored file in $WORK/out"
if cmp -s "$SAMPLE" "$RESTORED"; then fail "restored file is identical to the input"; fi
echo "   ok: $(basename "$RESTORED") ($(du -h "$RESTORED" | cut -f1))"
echo "SMOKE OK"
