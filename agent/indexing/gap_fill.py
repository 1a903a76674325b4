"""The second tracking pass: once a video's chunks are all done, each stored object is tracked again, by its label,
through the chunks of the video that have no track of it, and the tracks that find it are added to it.

Why: a chunk tracks what its own grounded caption and key frames name, and a small model leaves objects out of
chunks where they are plainly in view (the red dog of the bench's world 1020001 was tracked in 1 chunk of 20). Once
the video's objects are known, their labels can be looked for everywhere. Measured on the 30 unseen minutes of
`bench.every_moment` (bench/README.md): of 319 tracks this pass made for objects that follow a true one, 191 found
that object where no stored track had it, 95 found it inside another object's mask, 31 found another object inside
a stored track, and 2 found another object where nothing was stored; kept by the rule below, jump recall went from
0.872 to 0.949, enters and leaves from 0.636 to 0.727, object recall from 0.768 to 0.893, for 45 s of model time
against 7 min of indexing.

The rule for keeping a track is the sweep's (agent/indexing/object_links.py): present on at least `MIN_SAMPLES`
samples, its median mask at least `SWEEP_MIN_AREA` of the frame, and on average less than `SWEEP_MAX_INSIDE` of it
inside any track the chunk stored or the pass kept there before it: a label that picks an object already tracked
there adds nothing, and two labels that find one object add it once. A stored mask with a sizeable part apart from
the find does not hold it on that frame: it is a mask over the find's object and another, stored under the other's
label (`sva demo --seed 6000`: the red ball's jump was inside "the yellow dog"'s mask over both balls, and the red
ball's own track there was dropped, so its stored object had no jump). A kept track goes to the object of that label
seen nearest in time to the chunk. A label that an object tracked in the chunk carries is not looked for there: it
would find that object.

The pass runs after the run's chunks (it needs every chunk's objects, which the chunk workers do not have), one
video at a time, and stores each video's finds in one transaction with a mark that it ran (index/gap_rows.py): a
run killed during it stores nothing of that video's pass, and the next `sva index` over the video does it. A Ray run
does the pass in the driver once its actors are closed (agent/indexing/indexer.py), so it stores what a run without
Ray stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.indexing.index_settings import IndexSettings
from agent.indexing.object_links import new_finds
from agent.indexing.video_passes import each_video
from index.gap_rows import ChunkGaps, Fill, VideoGaps
from index.writer import IndexWriter
from sa2va_engine.masklet import SAME_FRAME_S, Masklet, TrackPoint
from sa2va_engine.sa2va import Sa2VA
from sa2va_engine.user_error import UserError
from tools.clip import decode_clip
from tools.sa2va_track import TrackRequest, track_clips

# A track seen on fewer samples than this is a flicker of the model, not an object found.
MIN_SAMPLES = 2


def fill_gaps(engine: Callable[[], Sa2VA], writer: IndexWriter, paths: Sequence[str],
              settings: IndexSettings) -> tuple[int, list[str]]:
    """The pass over each of `paths` that is finished and has not had it: (tracks added, one line per video it
    failed on, `video_passes.each_video`; a video it fails on keeps what its chunks stored)."""

    def run(video_id: int, path: str) -> int:
        fills = find_fills(engine, writer.video_gaps(video_id, path), settings)
        writer.store_fills(video_id, fills)
        return len(fills)

    return each_video(writer.unfilled_videos(paths), run, "second tracking pass")

def find_fills(engine: Callable[[], Sa2VA], gaps: VideoGaps, settings: IndexSettings) -> list[Fill]:
    """The tracks the pass keeps for one video (nothing stored here)."""
    max_side = _stored_max_side(gaps) or settings.max_side
    fills = []
    for chunk in gaps.chunks:
        carried = {gaps.labels[o] for o in chunk.stored}
        wanted = sorted({gaps.labels[o] for o in chunk.missing if gaps.labels[o] and gaps.seen_s.get(o)} - carried)
        if not wanted:
            continue
        try:
            clip = decode_clip(gaps.path, chunk.start_s, chunk.end_s, sample_fps=settings.sample_fps,
                               max_side=max_side)
        except UserError:
            continue  # the file changed or broke since: the chunks it still decodes are looked at
        request = TrackRequest(clip=clip, expressions=wanted, key_frames=settings.key_frames,
                               prompt_every_frame=settings.prompt_every_frame)
        masklets = track_clips(engine(), [request], settings.sam2_frame_batch())[0].masklets
        for label, masklet in _found(zip(wanted, masklets), chunk.stored):
            owner = _nearest(chunk, gaps, label)
            seen = {round(t / SAME_FRAME_S) for t in gaps.seen_s[owner]}
            points = [p for p in _present(masklet) if round(p.time_s / SAME_FRAME_S) not in seen]  # overlap frames
            if points:
                fills.append(Fill(object_id=owner, chunk_index=chunk.chunk_index, points=points))
    return fills


def new_object_points(masklet: Masklet, stored: dict[int, list[TrackPoint]]) -> list[TrackPoint] | None:
    """The masklet's present points if it finds an object the chunk's stored tracks do not hold, else None."""
    return _present(masklet) if _found([("", masklet)], stored) else None


def _found(tracked, stored: dict[int, list[TrackPoint]]) -> list[tuple[str, Masklet]]:
    """Of the (label, masklet) pairs tracked in a chunk, those that find an object: the rule of the module docstring,
    which is `new_finds` with the chunk's stored tracks laid on the masklets' frames as the tracks kept before them
    (so two labels that find the same new object add it once, under the first)."""
    tracked = [(label, m) for label, m in tracked if len(_present(m)) >= MIN_SAMPLES]
    if not tracked:
        return []
    times = [p.time_s for p in tracked[0][1].points]
    kept = [_on_frames(points, times) for points in stored.values()]
    finds = {id(m) for m in new_finds([*kept, *(m for _, m in tracked)], len(kept), apart_only=True)[len(kept):]}
    return [(label, m) for label, m in tracked if id(m) in finds]


def _present(masklet: Masklet) -> list[TrackPoint]:
    return [p for p in masklet.points if p.present and p.mask is not None and p.box is not None]


def _on_frames(points: list[TrackPoint], times: list[float]) -> Masklet:
    """Stored points (present ones only) as a masklet over the frames at `times`: absent where none was stored."""
    by_time = {round(p.time_s / SAME_FRAME_S): p for p in points}
    absent = TrackPoint(time_s=0.0, present=False, score=0.0)
    return Masklet(expression="", points=[by_time.get(round(t / SAME_FRAME_S), absent) for t in times])


def _nearest(chunk: ChunkGaps, gaps: VideoGaps, label: str) -> int:
    """Of the objects the chunk lacks that carry `label`, the one seen nearest in time to the chunk."""
    middle = (chunk.start_s + chunk.end_s) / 2
    owners = [o for o in chunk.missing if gaps.labels[o] == label and gaps.seen_s.get(o)]
    return min(owners, key=lambda o: (min(abs(t - middle) for t in gaps.seen_s[o]), o))


def _stored_max_side(gaps: VideoGaps) -> int | None:
    """The long side the indexer decoded at (the stored masks' size), so the masks compare pixel for pixel."""
    for chunk in gaps.chunks:
        for points in chunk.stored.values():
            for p in points:
                if p.mask is not None:
                    return max(p.mask.size)
    return None
