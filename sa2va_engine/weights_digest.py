"""Which weights a run used: one SHA-256 over a checkpoint's safetensors files, recorded in the index's jobs.

A hub download is read without hashing: the cache stores each weight file as a blob named by its SHA-256 (the
hub's LFS object id, checked by huggingface_hub when it downloaded the file), linked from the snapshot folder.
Any other folder is hashed by streaming its shards. Several shards give the SHA-256 of their `name digest` lines.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sa2va_engine.checkpoint import shard_files

_SHA256 = re.compile(r"[0-9a-f]{64}")


def weights_sha256(directory: str | Path) -> str:
    digests = [(file.name, file_sha256(file)) for file in shard_files(Path(directory))]
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{name} {digest}\n" for name, digest in digests).encode()).hexdigest()


def file_sha256(file: Path) -> str:
    target = file.resolve()
    if file.is_symlink() and target.parent.name == "blobs" and _SHA256.fullmatch(target.name):
        return target.name
    digest = hashlib.sha256()
    with open(target, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()
