"""How a video is named in the index: its absolute, symlink-resolved path, so `./a.mp4` and `/data/a.mp4`
are one video. Moving a file makes it a new video (its content hash is kept, not used as identity)."""

from __future__ import annotations

from pathlib import Path


def canonical_video_path(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())
