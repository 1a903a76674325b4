"""The layers import one way (pyproject.toml's import-linter contracts): ui -> agent -> index -> tools ->
sa2va_engine, a module never imports from a layer above its own; the engine's inference modules never import
its training, synthetic world or test checkpoints; and no two files import each other, directly or round a
longer loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

from tests.agent_fixtures import REPO

_LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports({}, no_cache=True, no_logo=True))"


PACKAGES = ("sa2va_engine", "tools", "index", "agent", "ui")


def _lint(config: str | None = None, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:  # packages written for the test, found before the project's
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-c", _LINT.format(repr(config))], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)


def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        file = root / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)


def file_cycles(*packages: str) -> list[list[str]]:
    """Every set of modules that import each other round a loop (strongly connected, more than one module, or
    one that imports itself), each sorted, found on grimp's graph of direct imports (lazy ones included)."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    # Tarjan's strongly connected components, iterative (a deep package would overflow recursion).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    cycles.append(sorted(component))
    return sorted(cycles)


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


def test_inference_never_imports_training_synthetic_or_testing():
    result = _lint()
    assert "inference never imports training, the synthetic world or the test checkpoints KEPT" in result.stdout


def test_the_check_sees_inference_importing_training(tmp_path):
    # A copy of the contract on a small engine whose model module reaches into its trainer: it must break.
    _write_package(tmp_path, {"eng/__init__.py": "", "eng/model.py": "from eng.training import train\n",
                              "eng/training/__init__.py": "", "eng/training/train.py": "import eng.model\n"})
    config = tmp_path / "protected.ini"
    config.write_text("[importlinter]\nroot_packages =\n    eng\n\n"
                      "[importlinter:contract:inference]\nname = inference\ntype = protected\n"
                      "protected_modules =\n    eng.training\nallowed_importers =\n    eng.training\n")
    result = _lint(str(config), path=tmp_path)
    assert result.returncode == 1 and "inference BROKEN" in result.stdout
    assert "eng.model" in result.stdout


def test_no_file_imports_itself_round_a_loop():
    assert file_cycles(*PACKAGES) == []


def test_the_cycle_check_sees_a_loop(tmp_path, monkeypatch):
    # a -> b -> c -> a, plus d on its own (no loop) and e importing itself.
    _write_package(tmp_path, {"loopy/__init__.py": "", "loopy/a.py": "from loopy import b\n",
                              "loopy/b.py": "def f():\n    from loopy import c\n",
                              "loopy/c.py": "import loopy.a\n", "loopy/d.py": "import loopy.a\n",
                              "loopy/e.py": "import loopy.e\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert file_cycles("loopy") == [["loopy.a", "loopy.b", "loopy.c"], ["loopy.e"]]
