"""Fixtures shared by all test files: the shared real videos and tiny Sa2VA checkpoints."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Under pytest-xdist (README: `-n auto`) each worker process runs tests side by side with the other: one torch/OpenMP
# thread each (and in the `sva` subprocesses they start), so two workers fill two cores instead of spinning four
# threads on them. Set before anything imports torch.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEOS = REPO.parent / "shared" / "videos"


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    if not SHARED_VIDEOS.is_dir():
        pytest.fail(f"shared test videos not found at {SHARED_VIDEOS}")
    return SHARED_VIDEOS


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """family -> directory of a seeded tiny checkpoint in the official layout (written once per session)."""
    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint

    cache: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in cache:
            cache[family] = write_tiny_checkpoint(tmp_path_factory.mktemp(f"ckpt_{family}"), family, seed=0)
        return cache[family]

    return get


@pytest.fixture
def checkpoint_copy(tmp_path):
    """A writable copy of a checkpoint directory, to break on purpose."""

    def copy(directory: Path, name: str = "broken") -> Path:
        return Path(shutil.copytree(directory, tmp_path / name))

    return copy


@pytest.fixture(scope="session")
def tracking_checkpoint(tmp_path_factory) -> Path:
    """A tiny Qwen3-VL checkpoint whose SAM-2 scores every object present, so pipelines have tracks to store."""
    from sa2va_engine.testing.tiny_checkpoint import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt_tracking"), "qwen3_vl", seed=0, objects_present=True)


@pytest.fixture(scope="session")
def indexed_library(tmp_path_factory, shared_videos, tracking_checkpoint):
    """Three shared videos indexed once by `sva index` (uninterrupted): (db path, video paths, the run's result)."""
    from tests.agent_fixtures import VIDEOS, index_args, run_sva

    db = tmp_path_factory.mktemp("library") / "index.duckdb"
    videos = [shared_videos / name for name in VIDEOS]
    result = run_sva(*index_args(db, tracking_checkpoint, videos), "--json")
    assert result.returncode == 0, result.stderr
    return db, videos, result
