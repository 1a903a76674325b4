"""Checkpoints from the hub, through a stand-in hub on 127.0.0.1 (tests/hub_standin.py) and the real
huggingface_hub download path: pinned revisions, only the files Sa2VA reads, the cache, the identity a job
records, and the hub still reachable after the text embedder loaded."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from sa2va_engine import hub
from sa2va_engine.errors import CheckpointError
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import REPO, sva_cmd, sva_env
from tests.hub_standin import HubStandIn, StandInRepo

OLD, NEW = "1" * 40, "2" * 40
# What a published repository holds besides the model: none of it is needed, so none of it may be fetched.
EXTRAS = {"README.md": "# model card", "modeling_sa2va.py": "raise SystemExit('remote code')",
          "assets/demo.json": "{}", "unused-experiment.safetensors": "not weights"}


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_checkpoints):
    """Two commits of a repository: OLD is the tiny Qwen3-VL checkpoint, NEW the Qwen2.5-VL one; both with the
    extras a model repository carries."""
    root = tmp_path_factory.mktemp("published")
    commits = {}
    for commit, family in ((OLD, "qwen3_vl"), (NEW, "qwen2_5_vl")):
        folder = root / commit
        shutil.copytree(tiny_checkpoints(family), folder)
        for name, text in EXTRAS.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        commits[commit] = folder
    return commits


@pytest.fixture
def standin(published, tmp_path, monkeypatch):
    repos = {"acme/tiny-sa2va": StandInRepo(dict(published), refs={"main": NEW}),
             "ByteDance/Sa2VA-Qwen3-VL-4B": StandInRepo({hub.PINNED["ByteDance/Sa2VA-Qwen3-VL-4B"]: published[OLD],
                                                         NEW: published[NEW]}, refs={"main": NEW})}
    # The test session runs offline (conftest), and huggingface_hub reads that when it is imported, as it would
    # in a user's process started without HF_HUB_OFFLINE: this one is put in that state.
    import huggingface_hub.constants
    from huggingface_hub.utils import reset_sessions

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    reset_sessions()
    with HubStandIn(repos) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
        monkeypatch.delenv("HF_HUB_CACHE", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)  # huggingface_hub reads it as HF_HUB_OFFLINE
        yield server
    monkeypatch.undo()
    reset_sessions()


def _files(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_hub_id_downloads_only_the_files_sa2va_reads_at_the_revision_asked(standin, published, tmp_path):
    engine = Sa2VA.from_pretrained(f"acme/tiny-sa2va@{OLD}", device="cpu")
    assert engine.directory == tmp_path / "hf" / "hub" / "models--acme--tiny-sa2va" / "snapshots" / OLD
    assert engine.family.name == Sa2VA.from_pretrained(published[OLD], device="cpu").family.name
    fetched = standin.downloaded("acme/tiny-sa2va")
    assert fetched == _files(published[OLD]) - set(EXTRAS), "config, tokenizer, processor and the weights only"
    assert {c for _, c, _ in standin.downloads} == {OLD}
    # Without a revision a repository follows main; with one it is pinned.
    assert Sa2VA.from_pretrained("acme/tiny-sa2va", device="cpu").directory.name == NEW


def test_the_official_default_resolves_at_its_pinned_commit_and_revision_overrides_it(standin):
    from tools.engine_session import DEFAULT_MODEL, model_name

    pinned = hub.PINNED[DEFAULT_MODEL]
    assert len(pinned) == 40 and pinned != NEW
    assert Sa2VA.from_pretrained(model_name(), device="cpu").directory.name == pinned, "main has moved on"
    assert Sa2VA.from_pretrained(model_name(revision="main"), device="cpu").directory.name == NEW


def test_a_downloaded_checkpoint_loads_offline_from_the_cache(standin, tmp_path, monkeypatch):
    Sa2VA.from_pretrained(f"acme/tiny-sa2va@{OLD}", device="cpu")
    served = len(standin.downloads)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: any request would fail
    assert Sa2VA.from_pretrained(f"acme/tiny-sa2va@{OLD}", device="cpu").directory.name == OLD
    assert len(standin.downloads) == served
    assert hub.cached_snapshot(hub.parse_ref(f"acme/tiny-sa2va@{OLD}")).name == OLD
    assert hub.cached_snapshot(hub.parse_ref(f"acme/tiny-sa2va@{NEW}")) is None


def test_a_wrong_id_or_revision_is_one_line_with_the_reason_and_the_ways_forward(standin):
    for spec, reason in (("acme/no-such-model", "RepositoryNotFoundError"), (f"acme/tiny-sa2va@{'9' * 40}", "Revision")):
        with pytest.raises(CheckpointError) as info:
            Sa2VA.from_pretrained(spec, device="cpu")
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"{spec}: not a local directory") and reason in message
        for way in ("HF_HOME", "HF_HUB_OFFLINE", "--revision", "--model DIR", "--model demo"):
            assert way in message


def test_the_hub_is_reachable_after_the_text_embedder_loaded_here_and_in_a_child(standin):
    from index.embedder import MiniLmEmbedder

    MiniLmEmbedder().embed(["a red ball"])
    assert hub.download(hub.parse_ref(f"acme/tiny-sa2va@{OLD}")).name == OLD
    # A child started now (the dashboard's indexer, `sva query`) inherits this environment.
    child = subprocess.run(
        [sys.executable, "-c", "from sa2va_engine import hub; print(hub.download(hub.parse_ref('acme/tiny-sa2va')).name)"],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == NEW


def test_sva_index_records_the_commit_and_the_weights_hash_of_a_hub_checkpoint(standin, published, shared_videos,
                                                                               tmp_path):
    db = tmp_path / "index.duckdb"
    env = dict(sva_env(), HF_ENDPOINT=standin.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0", TRANSFORMERS_OFFLINE="0")
    run = subprocess.run(
        sva_cmd("index", str(shared_videos / "01_dog.mp4"), "--db", str(db), "--model", "acme/tiny-sa2va",
                "--revision", OLD, "--no-caption", "--no-ground", "--no-describe", "--watch", "the dog",
                "--chunk-s", "5", "--overlap-s", "1", "--max-side", "128", "--sample-fps", "1", "--json"),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    weights = hashlib.sha256((published[OLD] / "model.safetensors").read_bytes()).hexdigest()
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT model, model_revision, weights_sha256, status FROM jobs").fetchall()
    assert row == [(f"acme/tiny-sa2va@{OLD}", OLD, weights, "done")]
    # The same checkpoint from a local folder: no commit, the same hash (computed from the file this time).
    rerun = subprocess.run(
        sva_cmd("index", str(shared_videos / "06_pingpong.mp4"), "--db", str(db), "--model", str(published[OLD]),
                "--no-caption", "--no-ground", "--no-describe", "--watch", "the ball", "--chunk-s", "5",
                "--overlap-s", "1", "--max-side", "128", "--sample-fps", "1", "--json"),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["job_id"] == 2
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT model_revision, weights_sha256 FROM jobs WHERE job_id = 2").fetchone() == (None, weights)


def test_sva_index_with_an_unknown_hub_id_writes_nothing(standin, shared_videos, tmp_path):
    db = tmp_path / "index.duckdb"
    env = dict(sva_env(), HF_ENDPOINT=standin.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0", TRANSFORMERS_OFFLINE="0")
    run = subprocess.run(sva_cmd("index", str(shared_videos / "01_dog.mp4"), "--db", str(db), "--model", "acme/nope"),
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("sva: acme/nope") and run.stderr.count("\n") == 1
    assert not db.exists()
