"""Linking a chunk's tracks to the previous chunk's objects by mask IoU on the overlap frames."""

from __future__ import annotations

import numpy as np

from agent.indexing.object_links import link_objects, track_iou
from sa2va_engine.masklet import Masklet, TrackPoint


def square(x: int, size: int = 20, shape=(64, 96)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[10:10 + size, x:x + size] = True
    return mask


def track(name: str, xs: dict[float, int | None]) -> Masklet:
    points = [TrackPoint.from_mask(t, square(x) if x is not None else np.zeros((64, 96), bool), 0.9 if x is not None else 0.1)
              for t, x in xs.items()]
    return Masklet(expression=name, points=points)


def stored(xs: dict[float, int]) -> list[TrackPoint]:
    return [TrackPoint.from_mask(t, square(x), 0.9) for t, x in xs.items()]


OVERLAP = (4.0, 5.0)


def test_same_place_on_the_overlap_links_and_each_old_object_is_used_once():
    previous = {7: stored({4.0: 10, 4.5: 12, 5.0: 14}), 9: stored({4.0: 60, 4.5: 60, 5.0: 60})}
    new = [
        track("a dog", {4.0: 60, 4.5: 60, 5.0: 60, 5.5: 70}),  # is object 9
        track("the dog", {4.0: 10, 4.5: 12, 5.0: 14}),  # is object 7
        track("a dog again", {4.0: 11, 4.5: 12, 5.0: 14}),  # also looks like 7, but 7 is taken by a better match
        track("elsewhere", {4.0: 40, 4.5: 40, 5.0: 40}),
    ]
    assert link_objects(new, previous, OVERLAP, min_iou=0.5) == [9, 7, None, None]


def test_frames_outside_the_overlap_do_not_count_and_absence_counts_against():
    old = stored({4.0: 10, 4.5: 10})
    assert track_iou(track("x", {3.5: 70, 4.0: 10, 4.5: 10, 6.0: 70}), old, *OVERLAP) == 1.0
    # Present in one track only on one of the two overlap frames: mean IoU (1 + 0) / 2.
    assert track_iou(track("x", {4.0: 10, 4.5: None}), old, *OVERLAP) == 0.5
    assert link_objects([track("x", {4.0: 10, 4.5: None})], {1: old}, OVERLAP, min_iou=0.6) == [None]


def test_nothing_to_link_to():
    new = [track("x", {4.0: 10})]
    assert link_objects(new, {}, OVERLAP) == [None]
    assert link_objects(new, {1: stored({4.0: 10})}, (5.0, 4.0)) == [None]


def _last(oid: int, label: str, t: float, x: int, size: int = 20) -> "LastSeen":
    from index.summaries import LastSeen

    return LastSeen(object_id=oid, label=label, point=TrackPoint.from_mask(t, square(x, size), 0.9))


def test_reidentify_joins_a_track_that_began_after_a_same_named_object_was_lost():
    from agent.indexing.object_links import reidentify

    new = [track("the red ball", {6.0: None, 6.5: 30, 7.0: 32}), track("the white ball", {6.0: 60, 6.5: 60})]
    recent = [_last(1, "a red ball", 4.5, 28), _last(2, "the red dog", 5.5, 30), _last(3, "the white ball", 5.0, 10),
              _last(4, "the white ball", 5.5, 58)]
    # The red ball: not the red dog, whatever its place. The white ball: the nearer of the two white balls.
    assert reidentify(new, [None, None], recent) == [1, 4]


def test_a_name_that_changed_kind_is_joined_by_its_colours_when_no_same_named_object_fits():
    from agent.indexing.object_links import reidentify

    new = [track("the red dog", {6.0: 30, 6.5: 32})]
    # Only a red object of another kind was lost just before: the same thing, named up close as something else.
    assert reidentify(new, [None], [_last(1, "the red ball", 5.0, 28), _last(2, "the blue dog", 5.5, 30)]) == [1]
    # A same-named one wins over a nearer one of the same colours.
    assert reidentify(new, [None], [_last(1, "the red ball", 5.5, 30), _last(3, "a red dog", 5.0, 50)]) == [3]
    # Names without colours must agree on the noun.
    assert reidentify([track("a man", {6.0: 30})], [None], [_last(4, "a person", 5.5, 30)]) == [None]


def test_reidentify_leaves_alone_what_the_overlap_linked_and_what_does_not_fit():
    from agent.indexing.object_links import REID_GAP_S, reidentify

    new = [track("the red ball", {20.0: 30}), track("the red ball", {20.0: 30})]
    recent = [_last(1, "the red ball", 20.0 - REID_GAP_S - 0.5, 30),  # lost too long ago
              _last(2, "the red ball", 19.0, 30, size=6),             # a tenth of the area: another thing
              _last(3, "the red ball", 19.5, 30)]
    assert reidentify(new, [7, None], recent) == [7, 3]
    assert reidentify(new, [None, None], recent[:2]) == [None, None]


def test_a_phrase_never_seen_in_its_chunk_names_the_object_seen_last():
    from agent.indexing.object_links import reidentify

    unseen = [track("the red ball", {6.0: None, 6.5: None})]
    assert reidentify(unseen, [None], [_last(1, "the red ball", 3.0, 30), _last(2, "the red ball", 5.0, 60)]) == [2]
    assert reidentify(unseen, [None], [_last(3, "the blue ball", 5.0, 60)]) == [None]


def test_two_phrases_tracking_one_object_in_a_chunk_are_one_object():
    from agent.indexing.object_links import same_object_as

    chunk = {5.0: 10, 5.5: 14, 6.0: 18, 6.5: 22}
    new = [
        track("the yellow ball", chunk),
        track("the red box", {5.0: 60, 5.5: 60, 6.0: 60, 6.5: 60}),
        track("the yellow dog", chunk),  # the first one's object under another name
        track("passes by", {5.0: 10, 5.5: 40, 6.0: 60, 6.5: 80}),  # meets it once: not the same
    ]
    assert same_object_as(new, [None] * 4) == [None, None, 0, None]
    # The one that continues a stored object is kept, whatever its place; two stored objects are never merged.
    assert same_object_as(new, [None, None, 7, None]) == [2, None, None, None]
    assert same_object_as(new, [3, None, 7, None]) == [None, None, None, None]


def _two_chunks(tmp_path):
    """A committer over a 5-s video in two chunks, 0-3 s and 2-5 s (frames every 0.5 s, the overlap 2.0 and 2.5 s),
    and a reader of its index: (committer, planned video, chunks, reader)."""
    from agent.indexing.chunk_committer import ChunkCommitter, PlannedVideo
    from agent.indexing.index_report import SilentProgress
    from agent.indexing.index_settings import IndexSettings
    from index.reader import IndexReader
    from index.video_plan import VideoFacts
    from index.writer import IndexWriter
    from tests.index_fixtures import HashEmbedder, make_video_file
    from tools.video_chunks import Chunk

    video = make_video_file(tmp_path / "v.mp4")
    db = tmp_path / "i.duckdb"
    writer = IndexWriter(db, embedder=HashEmbedder())
    spans = [(0.0, 3.0), (2.0, 5.0)]
    plan = writer.begin_video(video, VideoFacts(duration_s=5.0, fps=25.0, width=96, height=64), spans)
    chunks = [Chunk(index=k, start_s=a, end_s=b, frame_times=[a + 0.5 * i for i in range(int((b - a) / 0.5))])
              for k, (a, b) in enumerate(spans)]
    video_plan = PlannedVideo.model_construct(path=str(video), probe=None, plan=plan, chunks=chunks)
    committer = ChunkCommitter(IndexSettings(db=db), writer, SilentProgress(), None)
    return committer, video_plan, chunks, IndexReader(db, embedder=HashEmbedder())


def test_a_chunk_stores_one_track_per_object_and_every_name_it_was_given(tmp_path):
    committer, video_plan, chunks, reader = _two_chunks(tmp_path)
    for chunk in chunks:
        xs = {t: 10 + int(4 * t) for t in chunk.frame_times}
        masklets = [track("the yellow ball", xs), track("the yellow dog", xs)]
        linked = committer.link(video_plan, chunk, masklets)
        committer.commit(video_plan, chunk, "caption", "grounded", linked, [None, None])
    [obj] = reader.object_names(None)  # one object over both chunks, not two (or four)
    assert set(obj.phrases) == {"the yellow ball", "the yellow dog"}
    points = reader.tracks(obj.object_id)
    assert [p.time_s for p in points] == sorted({p.time_s for p in points})  # one point per frame
    assert points[0].time_s == 0.0 and points[-1].time_s == 4.5


def test_an_object_seen_on_the_last_shared_frame_only_is_linked_across_the_chunk_boundary(tmp_path):
    """A dog coming in at the end of chunk 0 is on one frame both chunks decoded (2.5 s); chunk 1 also has a frame at
    3.0 s, chunk 0's exclusive end, which chunk 0 never sampled: it says nothing about chunk 0's track."""
    committer, video_plan, chunks, reader = _two_chunks(tmp_path)
    # The two chunks' masks of the shared frame differ by a pixel (IoU 0.9), as two tracker runs' do.
    seen = [{t: (70 if t == 2.5 else None) for t in chunks[0].frame_times},
            {t: (None if t < 2.5 else 71 - int(8 * (t - 2.5))) for t in chunks[1].frame_times}]
    for chunk, xs in zip(chunks, seen):
        linked = committer.link(video_plan, chunk, [track("the green dog", xs)])
        committer.commit(video_plan, chunk, "caption", "grounded", linked, [None])
    [obj] = reader.object_names(None)
    assert [p.time_s for p in reader.tracks(obj.object_id)] == [2.5, 3.0, 3.5, 4.0, 4.5]
