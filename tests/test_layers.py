"""The layers import one way (pyproject.toml's import-linter contract): ui -> agent -> index -> tools ->
sa2va_engine; a module never imports from a layer above its own."""

from __future__ import annotations

import subprocess
import sys

from tests.agent_fixtures import REPO

_LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports({}, no_cache=True, no_logo=True))"


def _lint(config: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _LINT.format(repr(config))], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_the_layers_import_one_way():
    result = _lint()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout


def test_the_check_sees_an_import_against_the_order(tmp_path):
    # The same packages with the order turned over: ui imports the engine, so this contract must break.
    config = tmp_path / "reversed.ini"
    config.write_text("[importlinter]\nroot_packages =\n    sa2va_engine\n    ui\n\n"
                      "[importlinter:contract:reversed]\nname = reversed\ntype = layers\nlayers =\n"
                      "    sa2va_engine\n    ui\n")
    result = _lint(str(config))
    assert result.returncode == 1 and "reversed BROKEN" in result.stdout
    assert "ui is not allowed to import sa2va_engine" in result.stdout
