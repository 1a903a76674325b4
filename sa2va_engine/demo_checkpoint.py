"""Where the shipped demo model's weights are: `sa2va_engine/demo_model/` (package data, the official on-disk
layout, ~14 MB). Built by `sa2va_engine/synthetic/demo_recipe.py`; this module only finds them, so loading the
demo model never imports the recipe (training and the synthetic world)."""

from __future__ import annotations

from pathlib import Path

from sa2va_engine.errors import CheckpointError

DEMO_DIR = Path(__file__).resolve().parent / "demo_model"


def demo_model_path() -> Path:
    if not (DEMO_DIR / "config.json").exists():
        raise CheckpointError(f"{DEMO_DIR}: the demo model is not in this install; build it with "
                              f"`python -m sa2va_engine.synthetic.demo_recipe --out {DEMO_DIR}`")
    return DEMO_DIR
