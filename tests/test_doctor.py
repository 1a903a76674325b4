"""`sva doctor`: one line per piece, a missing or broken piece is a problem with a fix and exit 1, and the
doctor writes nothing (an older index stays as it was)."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from agent.cli.main import app
from index.schema import CURRENT_VERSION
from sa2va_engine import hub, memory_check
from tests.hub_standin import HubStandIn, StandInRepo

CHECKS = ["python", "ffmpeg", "torch", "model", "memory", "index", "chromium"]


@pytest.fixture
def doctor(monkeypatch):
    for name in ("SVA_MODEL", "SVA_DB", "SVA_DTYPE"):
        monkeypatch.delenv(name, raising=False)
    yield lambda *args: CliRunner().invoke(app, ["doctor", *args])


def _lines(result) -> dict[str, tuple[str, str]]:
    out = {}
    for line in result.output.splitlines():
        status, check, rest = line.split(maxsplit=2)
        assert status in ("ok", "warn", "problem") and check not in out
        out[check] = (status, rest)
    return out


def test_a_working_installation_is_all_ok(doctor, tmp_path):
    result = doctor("--model", "demo", "--db", str(tmp_path / "new.duckdb"))
    lines = _lines(result)
    assert list(lines) == CHECKS
    assert all(status == "ok" for check, (status, _) in lines.items() if check != "chromium")
    assert result.exit_code == 0
    assert "keys and shapes match the model (strict)" in lines["model"][1]
    assert "none yet" in lines["index"][1] and "GiB free" in lines["index"][1]
    assert not (tmp_path / "new.duckdb").exists()


def test_a_missing_h264_encoder_is_a_problem_with_a_fix(doctor, tmp_path, monkeypatch):
    from tools import overlay_video

    monkeypatch.setattr(overlay_video, "H264_ENCODER", "no-such-h264-encoder")
    result = doctor("--model", "demo", "--db", str(tmp_path / "i.duckdb"))
    status, text = _lines(result)["ffmpeg"]
    assert status == "problem" and "no-such-h264-encoder" in text and "to fix:" in text and result.exit_code == 1


def test_a_missing_or_broken_checkpoint_is_a_problem(doctor, tmp_path, tiny_checkpoints):
    result = doctor("--model", str(tmp_path / "nope"), "--db", str(tmp_path / "i.duckdb"))
    assert _lines(result)["model"][0] == "problem" and result.exit_code == 1
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoints("qwen3_vl"), broken)
    from safetensors.torch import load_file, save_file

    weights = load_file(broken / "model.safetensors")
    weights.pop(sorted(k for k in weights if k.startswith("text_hidden_fcs."))[0])
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    status, text = _lines(doctor("--model", str(broken), "--db", str(tmp_path / "i.duckdb")))["model"]
    assert status == "problem" and "missing from the checkpoint: text_hidden_fcs." in text


def test_a_model_that_does_not_fit_is_a_problem_that_names_bfloat16(doctor, tmp_path, monkeypatch):
    monkeypatch.setattr(memory_check, "available_bytes", lambda device: 1024**2)
    result = doctor("--model", "demo", "--db", str(tmp_path / "i.duckdb"))
    status, text = _lines(result)["memory"]
    assert status == "problem" and "float32" in text and "--dtype bfloat16" in text and result.exit_code == 1


def test_a_hub_checkpoint_offline_and_not_cached_is_a_problem_and_cached_is_ok(doctor, tmp_path, monkeypatch,
                                                                              tiny_checkpoints):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status, text = _lines(doctor("--model", "acme/tiny", "--db", str(tmp_path / "i.duckdb")))["model"]
    assert status == "problem" and "acme/tiny@main is not in the Hugging Face cache" in text and "HF_HUB_OFFLINE" in text
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert _lines(doctor("--model", "acme/tiny", "--db", str(tmp_path / "i.duckdb")))["model"][0] == "warn"
    # Downloaded once (through a stand-in hub), the doctor finds it at its commit and checks it.
    import huggingface_hub.constants
    from huggingface_hub.utils import reset_sessions

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    reset_sessions()
    commit = "3" * 40
    with HubStandIn({"acme/tiny": StandInRepo({commit: tiny_checkpoints("qwen3_vl")}, refs={"main": commit})}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        hub.download(hub.parse_ref("acme/tiny"))
    reset_sessions()
    status, text = _lines(doctor("--model", "acme/tiny", "--db", str(tmp_path / "i.duckdb")))["model"]
    assert status == "ok" and f"acme/tiny at {commit[:12]} (cached)" in text


def test_index_problems_are_named_and_the_doctor_writes_nothing(doctor, tmp_path):
    newer = tmp_path / "newer.duckdb"
    with duckdb.connect(str(newer)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (99)")
    status, text = _lines(doctor("--model", "demo", "--db", str(newer)))["index"]
    assert status == "problem" and "schema v99, newer than this sva" in text and "upgrade sva" in text
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"this is not a database" * 1000)
    result = doctor("--model", "demo", "--db", str(garbage))
    status, text = _lines(result)["index"]
    assert status == "problem" and "not a readable sva index" in text and result.exit_code == 1
    assert garbage.read_bytes() == b"this is not a database" * 1000
    older = tmp_path / "older.duckdb"
    with duckdb.connect(str(older)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (4);"
                    "CREATE TABLE videos (video_id BIGINT)")
    before = older.read_bytes()
    status, text = _lines(doctor("--model", "demo", "--db", str(older)))["index"]
    assert status == "ok" and f"schema v4, upgraded to v{CURRENT_VERSION} when next opened" in text
    assert older.read_bytes() == before


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl", "internvl"])
def test_checking_a_checkpoint_without_loading_finds_what_loading_finds(tiny_checkpoints, family, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sa2va_engine.errors import CheckpointError
    from sa2va_engine.sa2va import Sa2VA

    directory = tiny_checkpoints(family)
    files = sorted(directory.glob("*.safetensors"))
    stored = 0
    for file in files:
        with safe_open(str(file), framework="pt") as shard:
            stored += len(list(shard.keys()))
    assert Sa2VA.check_pretrained(directory) == stored
    broken = tmp_path / "broken"
    shutil.copytree(directory, broken)
    [single] = sorted(broken.glob("*.safetensors"))
    weights = load_file(single)
    key = sorted(k for k in weights if k.startswith("text_hidden_fcs.") and k.endswith("weight"))[0]
    weights[key] = weights[key][:, :-1].contiguous()
    save_file(weights, single, metadata={"format": "pt"})
    with pytest.raises(CheckpointError) as loading:
        Sa2VA.from_pretrained(broken, device="cpu")
    with pytest.raises(CheckpointError) as checking:
        Sa2VA.check_pretrained(broken)
    assert str(checking.value) == str(loading.value) and key in str(checking.value)
