"""A checkpoint that does not fit is refused before it is built, with the need, what is free and what to do;
`--dtype bfloat16` halves the need and loads the model in bfloat16."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from agent.cli.main import app
from sa2va_engine import memory_check
from sa2va_engine.memory_check import InsufficientMemoryError, needed_bytes, parameter_count
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.user_error import UserError
from tools.engine_session import load_engine, parse_dtype


def test_the_parameter_count_is_read_from_the_headers(tiny_checkpoints):
    directory = tiny_checkpoints("qwen3_vl")
    engine = Sa2VA.from_pretrained(directory, device="cpu")
    stored = {p.data_ptr(): p.numel() for p in engine.model.state_dict().values()}  # tied tensors once
    assert parameter_count(directory) == sum(stored.values())


def _free_memory(monkeypatch, free: int) -> list[int]:
    built = []
    monkeypatch.setattr(memory_check, "available_bytes", lambda device: free)
    original = Sa2VA.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Sa2VA, "__init__", counting_init)
    return built


def test_float32_that_does_not_fit_is_refused_and_bfloat16_that_fits_loads(tiny_checkpoints, monkeypatch):
    directory = tiny_checkpoints("qwen3_vl")
    parameters = parameter_count(directory)
    built = _free_memory(monkeypatch, needed_bytes(parameters, torch.bfloat16) + 1)
    with pytest.raises(InsufficientMemoryError) as info:
        Sa2VA.from_pretrained(directory, device="cpu")
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(directory))
    assert "float32" in message and "--dtype bfloat16" in message and "SVA_SKIP_MEMORY_CHECK" in message
    assert not built, "refused before the model was built"
    engine = Sa2VA.from_pretrained(directory, device="cpu", dtype=torch.bfloat16)
    assert engine.dtype == torch.bfloat16 and next(engine.model.parameters()).dtype == torch.bfloat16
    with pytest.raises(InsufficientMemoryError) as info:  # too little even for bfloat16: no dtype advice
        _free_memory(monkeypatch, needed_bytes(parameters, torch.bfloat16) - 1)
        Sa2VA.from_pretrained(directory, device="cpu", dtype=torch.bfloat16)
    assert "--dtype" not in str(info.value) and "--model demo" in str(info.value)
    monkeypatch.setenv("SVA_SKIP_MEMORY_CHECK", "1")
    assert Sa2VA.from_pretrained(directory, device="cpu", dtype=torch.bfloat16).dtype == torch.bfloat16


def test_dtype_names(monkeypatch):
    monkeypatch.delenv("SVA_DTYPE", raising=False)
    assert parse_dtype(None) is None and parse_dtype("auto") is None and parse_dtype("BFloat16") == torch.bfloat16
    monkeypatch.setenv("SVA_DTYPE", "float16")
    assert parse_dtype(None) == torch.float16 and parse_dtype("float32") == torch.float32
    with pytest.raises(UserError, match=r"dtype 'fp8': not one of auto, float32, bfloat16, float16"):
        parse_dtype("fp8")


def test_load_engine_takes_the_dtype(tiny_checkpoints):
    assert load_engine(str(tiny_checkpoints("qwen3_vl")), "cpu", "bfloat16").dtype == torch.bfloat16


def test_sva_index_that_would_run_out_of_memory_says_so_and_writes_nothing(tiny_checkpoints, shared_videos,
                                                                          tmp_path, monkeypatch):
    _free_memory(monkeypatch, 1024**2)
    db = tmp_path / "index.duckdb"
    result = CliRunner().invoke(app, ["index", str(shared_videos / "01_dog.mp4"), "--db", str(db), "--model",
                                      str(tiny_checkpoints("qwen3_vl")), "--dtype", "bfloat16"])
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("sva: ") and "GiB of host memory" in line and "bfloat16" in line and "\n" not in line
    assert not db.exists()
    bad = CliRunner().invoke(app, ["index", str(shared_videos / "01_dog.mp4"), "--db", str(db), "--dtype", "int4"])
    assert bad.exit_code == 2 and "dtype 'int4'" in bad.output and not db.exists()
