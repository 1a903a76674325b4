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
$PIP install -q -e ".[test]"
echo "install.sh: ok ($VENV)"
