"""Which Sa2VA checkpoint a command uses, and loading it once per process.

The default is a real official checkpoint (hub id); `SVA_MODEL` or `--model` override it with another hub id
or a local directory. Nothing here falls back to random weights: a checkpoint that cannot be loaded is a
one-line CheckpointError.
"""

from __future__ import annotations

import os
from functools import lru_cache

from sa2va_engine.sa2va import Sa2VA
from tools.model_preset import resolve_alias

DEFAULT_MODEL = "ByteDance/Sa2VA-Qwen3-VL-4B"


def model_name(model: str | None = None) -> str:
    """The checkpoint to use: the argument, else $SVA_MODEL, else the official default; `demo` is the shipped
    demo model (tools/model_preset.py)."""
    return resolve_alias(model or os.environ.get("SVA_MODEL") or DEFAULT_MODEL)


@lru_cache(maxsize=2)
def _load(name: str, device: str | None) -> Sa2VA:
    return Sa2VA.from_pretrained(name, device=device)


def load_engine(model: str | None = None, device: str | None = None) -> Sa2VA:
    """The engine for `model` (see `model_name`), loaded once per process and device."""
    return _load(model_name(model), device)
