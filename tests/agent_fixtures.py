"""Helpers for the agent tests: the `sva` command as a subprocess and small indexing settings."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDEOS = ("01_dog.mp4", "06_pingpong.mp4", "11_polevault.mp4")
# Small enough to keep a three-video run in seconds on two cores; 4 s chunks give each video three chunks. Without the
# sweep: a tiny random model generates every token it may, so grounding each key frame alone tripled the ground stage
# of these runs (measured: 19 s -> 25 s for the three videos) and the suite's time by minutes. What the sweep does is
# tested in tests/test_sweep.py, and `sva index` with it on (the default) end to end in tests/test_every_moment.py.
INDEX_ARGS = ("--chunk-s", "4", "--overlap-s", "1", "--max-side", "256", "--watch", "the dog", "--no-sweep")


def sva_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli", *args]


def sva_env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="ignore")
    env.pop("SVA_DB", None)
    env.pop("SVA_MODEL", None)
    return env


def run_sva(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sva_cmd(*args), cwd=REPO, env=sva_env(), capture_output=True, text=True, timeout=timeout)


def index_args(db: Path, model: Path, videos: list[Path]) -> list[str]:
    return ["index", *map(str, videos), "--db", str(db), "--model", str(model), *INDEX_ARGS]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """One torch/OpenMP thread for this process and the `sva` subprocesses it starts, restored afterwards: on a
    small shared machine the default (a thread per core) spins against other processes and runs many times slower."""
    import torch

    before, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env
