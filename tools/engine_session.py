"""Which Sa2VA checkpoint a command uses, in which dtype, and loading it once per process.

The default is a real official checkpoint, pinned to a commit (sa2va_engine/hub.py); `SVA_MODEL` or `--model`
override it with another hub id (`owner/name[@revision]`, or `--revision`) or a local directory. `SVA_DTYPE` or
`--dtype` choose the dtype (default: bfloat16 on CUDA, float32 elsewhere). Nothing here falls back to random
weights: a checkpoint that cannot be loaded, or does not fit in memory, is a one-line CheckpointError.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

from pydantic import BaseModel

from sa2va_engine import hub
from sa2va_engine.errors import CheckpointError
from sa2va_engine.settings import settings
from sa2va_engine.user_error import UserError
from tools.model_preset import resolve_alias

if TYPE_CHECKING:  # torch and the engine load with the first model, not with the settings that name it
    import torch

    from sa2va_engine.sa2va import Sa2VA

DEFAULT_MODEL = "ByteDance/Sa2VA-Qwen3-VL-4B"
DTYPES = ("float32", "bfloat16", "float16")  # torch dtype names


class CheckpointIdentity(BaseModel):
    """What an indexing job records about its model: the name it was given, the hub commit it resolved to and
    the SHA-256 of its weights (None where the files are not on this machine)."""

    model: str
    revision: str | None = None
    weights_sha256: str | None = None


def model_name(model: str | None = None, revision: str | None = None) -> str:
    """The checkpoint to use: the argument, else $SVA_MODEL, else the official default; `demo` is the shipped
    demo model (tools/model_preset.py); `revision` pins a hub id (`owner/name@revision`)."""
    return hub.with_revision(resolve_alias(model or settings().model or DEFAULT_MODEL), revision)


def parse_dtype(name: str | None) -> "torch.dtype | None":
    """`--dtype` / $SVA_DTYPE -> a torch dtype; None (and `auto`) leaves it to the device."""
    name = (name or settings().dtype or "auto").strip().lower()
    if name == "auto":
        return None
    if name not in DTYPES:
        raise UserError(f"dtype {name!r}: not one of auto, {', '.join(DTYPES)}; e.g. --dtype bfloat16")
    import torch

    return getattr(torch, name)


@lru_cache(maxsize=2)
def _load(name: str, device: str | None, dtype: "torch.dtype | None") -> "Sa2VA":
    from sa2va_engine.sa2va import Sa2VA

    return Sa2VA.from_pretrained(name, device=device, dtype=dtype)


def load_engine(model: str | None = None, device: str | None = None, dtype: str | None = None) -> "Sa2VA":
    """The engine for `model` (see `model_name`), loaded once per process, device and dtype."""
    return _load(model_name(model), device, parse_dtype(dtype))


def checkpoint_identity(model: str) -> CheckpointIdentity:
    """The identity of `model` from what is on this machine (a local folder, or the hub cache): no download."""
    path = Path(model).expanduser()
    ref = None if path.is_dir() else hub.parse_ref(model)
    folder = path if path.is_dir() else (hub.cached_snapshot(ref) if ref else None)
    if folder is None:
        return CheckpointIdentity(model=model)
    from sa2va_engine.weights_digest import weights_sha256  # reads shard indexes with the engine's loader

    try:
        digest = weights_sha256(folder)
    except (CheckpointError, OSError):
        digest = None
    return CheckpointIdentity(model=model, revision=hub.snapshot_commit(folder), weights_sha256=digest)
