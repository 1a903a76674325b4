"""Refuse to load a checkpoint that does not fit, instead of being killed by the OS halfway through.

The need is estimated from the safetensors headers (no tensor is read): parameters x bytes per parameter in the
dtype it will run in, plus 10% and 1 GiB for activations, the processor and the allocator. A model bound for a
GPU is built on the host first, so the host must hold it too. Set SVA_SKIP_MEMORY_CHECK=1 to try anyway (swap,
an estimate that is wrong for an unusual checkpoint).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from sa2va_engine.checkpoint import shard_files
from sa2va_engine.errors import CheckpointError
from sa2va_engine.settings import settings

GIB = 1024**3


class InsufficientMemoryError(CheckpointError):
    """The checkpoint needs more memory in its dtype than the device has free."""


def parameter_count(directory: Path) -> int:
    """Elements of every tensor in the checkpoint's shards, from their headers."""
    total = 0
    for file in shard_files(directory):
        try:
            with safe_open(str(file), framework="pt") as shard:
                total += sum(math.prod(shard.get_slice(key).get_shape()) for key in shard.keys())
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{file}: unreadable or truncated safetensors shard ({str(exc).splitlines()[0][:120]})") from exc
    return total


def needed_bytes(parameters: int, dtype: torch.dtype) -> int:
    return int(parameters * dtype.itemsize * 1.1) + GIB


def available_bytes(device: torch.device) -> int:
    """Free memory where the model will live: the GPU's for CUDA, else the host's (MPS shares it)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits(directory: Path, name: str, device: torch.device, dtype: torch.dtype) -> None:
    """Raise InsufficientMemoryError, naming the checkpoint, the need, what is free and what to do."""
    if settings().skip_memory_check:
        return
    parameters = parameter_count(directory)
    need = needed_bytes(parameters, dtype)
    places = [device] if device.type == "cpu" else [device, torch.device("cpu")]
    for place in places:
        free = available_bytes(place)
        if need <= free:
            continue
        where = "GPU" if place.type == "cuda" else "host"
        ways = ["close other programs"]
        if dtype == torch.float32:
            ways.append("use --dtype bfloat16 (half the memory of float32)")
        ways += ["use a smaller checkpoint (--model DIR, or --model demo)", "or set SVA_SKIP_MEMORY_CHECK=1 to try anyway"]
        raise InsufficientMemoryError(
            f"{name}: needs about {need / GIB:.1f} GiB of {where} memory ({parameters / 1e9:.2f} B parameters in "
            f"{str(dtype).removeprefix('torch.')}), only {free / GIB:.1f} GiB is free; {', '.join(ways)}"
        )
