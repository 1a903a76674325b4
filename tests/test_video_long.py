"""A 60-minute video (the shared clip looped at 160x90) streams through in constant memory with exact times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.video_fixtures import clip, media, one_minute, sixty_minutes  # noqa: F401
from tools.video_prober import probe_video

REPO = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter so that its peak RSS is the decode's alone: probe, plan, decode and deal
# every frame to its chunks, checking times on the way, holding nothing but the open chunks.
_CHILD = """
import json, resource, sys
from tools.video_chunks import iter_chunk_frames, plan_chunks
from tools.video_decode import decode_frames
from tools.video_prober import probe_video
probe = probe_video(sys.argv[1])
chunks = plan_chunks(probe, chunk_s=10.0, overlap_s=1.0, sample_fps=2.0)
stream = decode_frames(sys.argv[1], sample_fps=2.0, max_side=160, probe=probe)
last, bad_steps, dealt, frames_in_chunks = -1.0, 0, 0, 0
for part in iter_chunk_frames(stream, chunks):
    dealt += 1
    frames_in_chunks += len(part.frames)
    for frame in part.frames:
        if frame.time_s > last and abs(frame.time_s - last - 0.5) > 1e-6 and last >= 0:
            bad_steps += 1
        last = max(last, frame.time_s)
print(json.dumps({
    "frames": stream.frames_decoded, "last_s": stream.last_time_s, "bad_steps": bad_steps,
    "chunks": len(chunks), "dealt": dealt, "frames_in_chunks": frames_in_chunks, "warnings": stream.warnings,
    "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def _run_child(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_sixty_minutes_probe(sixty_minutes: Path) -> None:
    probe = probe_video(sixty_minutes)
    assert probe.duration_s == pytest.approx(3600.0, abs=0.2)
    assert (probe.width, probe.height, probe.avg_fps) == (160, 90, 8.0)


def test_sixty_minutes_streams_in_constant_memory(sixty_minutes: Path, one_minute: Path) -> None:
    long = _run_child(sixty_minutes)
    short = _run_child(one_minute)
    assert long["frames"] == 7200 and long["last_s"] == pytest.approx(3599.5)
    assert long["bad_steps"] == 0  # every sample exactly 0.5 s after the one before, for an hour
    assert long["chunks"] == long["dealt"] == 360
    assert long["frames_in_chunks"] == 7200 + 2 * 359  # overlap frames go to two chunks
    assert long["warnings"] == [] and short["frames"] == 120
    assert long["maxrss_kib"] <= 1.25 * short["maxrss_kib"], (long, short)
