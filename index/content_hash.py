"""A video's identity in the index: blake2b-160 over every byte of the file.

Sampling (first/last MB) would be faster, but an edited or re-muxed file can keep its size and both ends;
a full hash streams at about 1 GB/s, small next to the model time per video. Reruns over an unchanged library
skip even that: the writer trusts the stored hash while the file's size and mtime_ns are unchanged (what
make and rsync trust too).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_BLOCK = 1 << 20


def content_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return "blake2b:" + digest.hexdigest()


def file_stamp(path: Path) -> tuple[int, int]:
    """(size in bytes, mtime in ns): the cheap change test that decides whether to re-hash."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
