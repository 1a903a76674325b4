#!/usr/bin/env bash
# Installs sva and everything it needs into ./.venv (or $SVA_VENV) on a fresh machine.
# Order matters: sam2 is an sdist whose setup.py imports torch, so torch goes in first and sam2 is
# built against it without build isolation (its optional CUDA extension is skipped: SAM2_BUILD_CUDA=0).
set -euo pipefail
cd "$(dirname "$0")"
VENV="${SVA_VENV:-.venv}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade "pip>=24" "setuptools>=68" wheel
$PIP install -q "torch==2.14.1" "torchvision==0.29.1"
SAM2_BUILD_CUDA=0 $PIP install -q --no-build-isolation "sam2==1.1.0"
$PIP install -q -e ".[test,ray]"
# The dashboard's browser test (tests/test_ui_browser.py) drives Debian's Chromium through Playwright;
# `playwright install` (a browser download) is never used. Skipped when Chromium is already there.
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -q
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
    else
        echo "install.sh: no apt-get; install Chromium at /usr/bin/chromium for the dashboard's browser test" >&2
    fi
fi
echo "install.sh: ok ($VENV)"
