"""The demo model's recipe, at a few steps a stage: it runs end to end into a loadable checkpoint in the
official layout, and a run started from a saved text stage gives the very same weights as the whole run
(how the shipped weights can be rebuilt after changing only the later stages)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from sa2va_engine.synthetic import demo_recipe
from sa2va_engine.sa2va import Sa2VA


@pytest.fixture
def few_steps(monkeypatch):
    for name in ("PICK_STEPS", "REFER_STEPS", "POLISH_STEPS"):
        monkeypatch.setattr(demo_recipe, name, 2)
    monkeypatch.setattr(demo_recipe, "NAME_STAGES", [(2, lr, weights) for _, lr, weights in demo_recipe.NAME_STAGES])
    threads = torch.get_num_threads()
    yield {"steps": 2, "text_steps": 2, "easy_steps": 2, "log": None}
    torch.set_num_threads(threads)


def test_resuming_from_a_saved_text_stage_gives_the_same_weights(tmp_path, few_steps):
    whole = demo_recipe.build_and_train(tmp_path / "whole", save_text_stage=tmp_path / "text", **few_steps)
    resumed = demo_recipe.build_and_train(tmp_path / "resumed", text_stage=tmp_path / "text", **few_steps)
    assert not whole["text_stage_loaded"] and resumed["text_stage_loaded"]
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # The mask stages did train: the result is not the text stage's weights.
    text = load_file(tmp_path / "text" / "model.safetensors")
    assert any(not torch.equal(a[k], text[k].to(a[k].dtype)) for k in a if k.startswith("grounding_encoder"))
    assert json.loads((tmp_path / "whole" / "training.json").read_text())["polish_steps"] == 2
    engine = Sa2VA.from_pretrained(tmp_path / "resumed")
    assert engine.segment(np.zeros((96, 128, 3), np.uint8), "the red box").masks.shape == (1, 96, 128)


def test_the_naming_stage_alone_from_a_saved_model_gives_the_same_weights(tmp_path, few_steps):
    whole = demo_recipe.build_and_train(tmp_path / "whole", save_before_names=tmp_path / "masks", **few_steps)
    alone = demo_recipe.build_and_train(tmp_path / "alone", before_names=tmp_path / "masks", **few_steps)
    assert whole["name_stages"] == alone["name_stages"] and [p[0] for p in alone["name_stages"]] == [2] * len(
        demo_recipe.NAME_STAGES)
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "alone" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    before = load_file(tmp_path / "masks" / "model.safetensors")
    assert any(not torch.equal(a[k], before[k]) for k in a if k.startswith("model."))  # the stage trained the LLM
    config = json.loads((tmp_path / "alone" / "config.json").read_text())
    assert config["sva_region_zoom"] == demo_recipe.DEMO_ZOOM
    # The last part that set a budget for regions showed them at it, and the checkpoint keeps it, frames at theirs.
    region_pixels = [px for _, px in demo_recipe.NAME_VIEWS[:len(demo_recipe.NAME_STAGES)] if px is not None][-1]
    processor_config = json.loads((tmp_path / "alone" / "preprocessor_config.json").read_text())
    assert processor_config["size"]["longest_edge"] == region_pixels
    assert config["sva_frame_pixels"] == demo_recipe.FRAME_PIXELS
    assert json.loads((tmp_path / "alone" / "sva_preset.json").read_text())["index"]["name_objects"] is True
    engine = Sa2VA.from_pretrained(tmp_path / "alone")
    assert len(engine.region_names([(np.zeros((96, 128, 3), np.uint8), (10, 10, 40, 40))], max_new_tokens=3)) == 1


@pytest.mark.parametrize("args, message", [
    (["--text-stage", "{tmp}/missing"], "missing: no such checkpoint directory"),
    (["--out", "/proc/no_such/out"], "--out /proc/no_such/out:"),
])
def test_bad_folders_are_one_line_errors_before_any_training(tmp_path, args, message):
    argv = [a.format(tmp=tmp_path) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    result = subprocess.run([sys.executable, "-m", "sa2va_engine.synthetic.demo_recipe", *argv], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo_model:") and message in lines[0]


def test_the_naming_stage_resumed_after_its_first_parts_gives_the_same_weights(tmp_path, few_steps, monkeypatch):
    """How a part added to the naming stage is trained on the weights shipped with the parts before it."""
    demo_recipe.build_and_train(tmp_path / "whole", save_before_names=tmp_path / "masks", **few_steps)
    stages = demo_recipe.NAME_STAGES
    assert len(stages) >= 2
    monkeypatch.setattr(demo_recipe, "NAME_STAGES", stages[:-1])
    demo_recipe.build_and_train(tmp_path / "first", before_names=tmp_path / "masks", **few_steps)
    monkeypatch.setattr(demo_recipe, "NAME_STAGES", stages)
    demo_recipe.build_and_train(tmp_path / "rest", before_names=tmp_path / "first", names_from_part=len(stages) - 1,
                                **few_steps)
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "rest" / "model.safetensors")
    first = load_file(tmp_path / "first" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(b[k], first[k]) for k in b if k.startswith("model."))  # the last part did train
