"""A small index over real shared videos for the dashboard tests, written with IndexWriter and the real
MiniLM embedder (the dashboard searches with it), so pages can search it, decode frames and draw masks.

Library states it covers: a fully indexed video (01_dog), one still indexing (08_driving: one of two chunks
committed), one whose file moved after indexing (a copy of 06_pingpong, deleted), one that failed.
Masks are drawn at the video's own size (1280x720), as the indexer stores them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from index.video_plan import VideoFacts
from index.writer import IndexWriter
from sa2va_engine.masklet import Masklet, TrackPoint
from tools.chunk_analysis import ChunkAnalysis, GroundedPhrase
from tools.video_prober import probe_video

CHUNK_S = 5.0
SAMPLE_FPS = 2.0

# (caption, [(phrase, (x0 fraction, y0 fraction) of a box that drifts right)]) per chunk
DOG_CHUNKS = [
    ("a brown dog jumps over a wooden fence in a sunny yard",
     [("a brown dog", (0.2, 0.4)), ("a wooden fence", (0.1, 0.7))]),
    ("the dog runs across the green grass and jumps to catch a ball",
     [("a brown dog", (0.4, 0.45)), ("a red ball", (0.6, 0.2))]),
]
DRIVING_CHUNKS = [
    ("a white car drives along a highway under a cloudy sky", [("a white car", (0.3, 0.5))]),
    ("the car passes a truck on the left lane", [("a truck", (0.5, 0.5))]),
]
PINGPONG_CHUNKS = [
    ("two players hit a ping pong ball across the table", [("a player in a black shirt", (0.2, 0.3))]),
    ("a player serves the ball and the other returns it", [("a ping pong table", (0.3, 0.6))]),
]


class UiIndex(BaseModel):
    db: Path
    dog: str  # canonical paths, as stored
    driving: str
    moved: str
    failed: str


def _mask(height: int, width: int, origin: tuple[float, float], step: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    x0 = int((origin[0] + 0.02 * step) * width) % (width - width // 5)
    y0 = int(origin[1] * height)
    mask[y0 : y0 + height // 4, x0 : x0 + width // 6] = True
    return mask


def _analysis(video: str, k: int, end_s: float, caption: str, phrases, height: int, width: int) -> ChunkAnalysis:
    start = k * CHUNK_S
    times = [round(start + j / SAMPLE_FPS, 3) for j in range(int((end_s - start) * SAMPLE_FPS))]
    grounded = []
    for phrase, origin in phrases:
        points = [TrackPoint.from_mask(t, _mask(height, width, origin, j), 0.9) if j % 5 != 4
                  else TrackPoint(time_s=t, present=False, score=0.1) for j, t in enumerate(times)]
        grounded.append(GroundedPhrase(phrase=phrase, masklet=Masklet(expression=phrase, points=points)))
    return ChunkAnalysis(video_path=video, chunk_index=k, start_s=start, end_s=end_s, frame_times=times,
                         caption=caption, grounded_caption=" ".join(f"<p>{p}</p> [SEG]" for p, _ in phrases),
                         phrases=grounded)


def _index_video(writer: IndexWriter, job: int, path: Path, chunks, commit: int | None = None) -> None:
    probe = probe_video(path)
    duration = float(probe.duration_s)
    spans = [(k * CHUNK_S, min(duration, (k + 1) * CHUNK_S)) for k in range(len(chunks))]
    facts = VideoFacts(duration_s=duration, fps=probe.avg_fps, width=probe.display_width, height=probe.display_height)
    plan = writer.begin_video(path, facts, spans, job_id=job)
    previous: list[int] = []
    for k, (caption, phrases) in enumerate(chunks[:commit]):
        analysis = _analysis(plan.path, k, spans[k][1], caption, phrases, probe.display_height, probe.display_width)
        # the first phrase continues the previous chunk's first object when the names agree (the dog)
        links = [previous[0] if (i == 0 and previous and phrases[0][0] == chunks[k - 1][1][0][0]) else None
                 for i in range(len(phrases))]
        descriptions = [f"{phrases[0][0]} seen in chunk {k}"] + [None] * (len(phrases) - 1)
        previous = writer.commit_chunk(plan.video_id, analysis, links=links, descriptions=descriptions, job_id=job)


def build_ui_index(folder: Path, videos: Path) -> UiIndex:
    """Write the index into ``folder`` (index.duckdb) over the shared ``videos``; returns what is where."""
    db = folder / "index.duckdb"
    writer = IndexWriter(db)
    job = writer.start_job(f"sva index {videos}", videos_total=4)
    dog, driving = videos / "01_dog.mp4", videos / "08_driving.mp4"
    moved = Path(shutil.copyfile(videos / "06_pingpong.mp4", folder / "pingpong_copy.mp4"))
    _index_video(writer, job, dog, DOG_CHUNKS)
    _index_video(writer, job, moved, PINGPONG_CHUNKS)
    _index_video(writer, job, driving, DRIVING_CHUNKS, commit=1)
    failed = folder / "broken.mp4"
    failed.write_bytes(b"not a video")
    writer.mark_video_failed(failed, f"{failed}: moov atom not found\nffmpeg said more", job_id=job)
    writer.finish_job(job, "partial", error="1 video failed")
    moved_path = str(moved.resolve())
    moved.unlink()  # the file moved away after indexing
    return UiIndex(db=db, dog=str(dog.resolve()), driving=str(driving.resolve()), moved=moved_path,
                   failed=str(failed.resolve()))


def build_short_index(folder: Path, video: Path, length_s: float = 1.5) -> Path:
    """One video with one chunk of ``length_s`` seconds: the least a real verification (decode, yes/no,
    track) has to do, for tests that run the tiny model through the query graph."""
    db = folder / "short.duckdb"
    writer = IndexWriter(db)
    probe = probe_video(video)
    facts = VideoFacts(duration_s=float(probe.duration_s), fps=probe.avg_fps, width=probe.display_width,
                       height=probe.display_height)
    plan = writer.begin_video(video, facts, [(0.0, length_s)])
    caption, phrases = DOG_CHUNKS[0]
    writer.commit_chunk(plan.video_id, _analysis(plan.path, 0, length_s, caption, phrases, probe.display_height,
                                                 probe.display_width))
    return db
