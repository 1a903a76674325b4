"""What the passes that name regions of a finished video's tracks share (agent/indexing/event_parts.py,
agent/indexing/object_views.py): running over the videos that need them, one video's failure not stopping the others,
and naming a video's regions up close in one batched generation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.indexing.chunk_analyser import FATAL_ERRORS
from index.track_region import RegionName, TrackRegion
from sa2va_engine.sa2va import Sa2VA
from tools.sa2va_region import RegionRequest, name_regions
from tools.sampled_frame import sampled_frame


def each_video(videos: Sequence[tuple[int, str]], run: Callable[[int, str], int], what: str) -> tuple[int, list[str]]:
    """`run(video_id, path)` on each video: (the sum of what it returns, one line per video it failed on, naming
    `what` the pass does). A video it fails on keeps what it had, unmarked, and the next run tries again; the other
    videos go on. A checkpoint that cannot load or a full disk stops it (they would fail every video)."""
    done, errors = 0, []
    for video_id, path in videos:
        try:
            done += run(video_id, path)
        except FATAL_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - this video's pass fails; its rows stay as they were
            errors.append(f"{path}: {what}: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
    return done, errors


def name_track_regions(engine: Callable[[], Sa2VA], path: str, regions: Sequence[TrackRegion],
                       sample_fps: float) -> list[RegionName]:
    """Each region's frame decoded again at the size its mask was stored at (once per time), and the regions named in
    one generation; a region whose frame no longer decodes (the file changed or broke since) is left out."""
    frames = {t: sampled_frame(path, t, max(r.frame_size), sample_fps)
              for t, r in {r.time_s: r for r in regions}.items()}
    asked = [r for r in regions if frames[r.time_s] is not None]
    if not asked:
        return []
    names = name_regions(engine(), [RegionRequest(frame=frames[r.time_s], box=r.box) for r in asked])
    return [RegionName(object_id=r.object_id, time_s=r.time_s, box=r.box, name=n) for r, n in zip(asked, names)]
