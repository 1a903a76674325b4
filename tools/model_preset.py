"""What a checkpoint says about how to run it: `sva_preset.json` beside its weights, and the `demo` alias.

A model trained on 4-fps, 3-second clips of 160x120 frames (the shipped demo model) is only itself when it is
indexed that way, and a model that never learnt to answer yes/no must not be gated on its P(yes). Those facts
belong to the model, not to the one command that happened to know them, so the checkpoint carries them and
`sva index`, `sva query`, `sva demo` and the dashboard all start from them. A flag the user gives still wins.
Official checkpoints have no preset file and run on the project's defaults.

    {"index": {"sample_fps": 4.0, "chunk_s": 3.0, ...}, "query": {"threshold": 0.0, ...}}

Keys are IndexSettings / QuerySettings field names (agent/indexing/index_settings.py, agent/query/query_answer.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from sa2va_engine.user_error import UserError

PRESET_FILE = "sva_preset.json"
# `--model demo`: the tiny Sa2VA shipped inside the package (sa2va_engine/demo_model/).
DEMO_ALIAS = "demo"


class PresetError(UserError):
    """A checkpoint's sva_preset.json is unreadable or names settings that do not exist."""


class ModelPreset(BaseModel):
    index: dict[str, Any] = Field(default_factory=dict, description="IndexSettings fields")
    query: dict[str, Any] = Field(default_factory=dict, description="QuerySettings fields")


def resolve_alias(model: str) -> str:
    """`demo` -> the shipped demo model's directory; anything else as given."""
    if model.strip().lower() == DEMO_ALIAS:
        from sa2va_engine.demo_checkpoint import demo_model_path

        return str(demo_model_path())
    return model


def installed_model(recorded: str) -> str:
    """A model name an index recorded, as this install can load it: the shipped demo model's directory of another
    install (a missing `.../sa2va_engine/demo_model`: sva reinstalled in a new environment, or a clone moved) is
    this install's demo model; anything else as recorded. Why: the index records the directory it loaded, and
    `sva query` on an index built with `--model demo` would otherwise fail once that directory is gone."""
    path = Path(recorded)
    if path.parts[-2:] == ("sa2va_engine", "demo_model") and not path.exists():
        return resolve_alias(DEMO_ALIAS)
    return recorded


def load_preset(model: str | None) -> ModelPreset:
    """The preset of a local checkpoint directory; an empty one for hub ids and directories without the file."""
    if not model:
        return ModelPreset()
    path = Path(model) / PRESET_FILE
    if not path.is_file():
        return ModelPreset()
    try:
        return ModelPreset.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PresetError(f"{path}: not a valid preset ({first}); fix or delete the file") from None
