"""Chunk planning: coverage with overlap, the last chunk, frame times, scene-cut snapping, one-pass dealing."""

from __future__ import annotations

import numpy as np
import pytest

from tests.video_fixtures import clip, jpeg_image, media, second_clip, two_scenes  # noqa: F401
from tools.video_chunks import Chunk, iter_chunk_frames, plan_chunks
from tools.video_decode import DecodedFrame, decode_frames
from tools.video_probe import VideoProbe
from tools.video_prober import probe_video
from tools.video_scenes import detect_scene_cuts

CUT_S = 230 / 24  # the first clip of two_scenes is 230 frames at 24 fps


def _probe(duration: float) -> VideoProbe:
    return VideoProbe(path="x.mp4", container="mp4", codec="h264", video_stream=0, width=64, height=36,
                      duration_s=duration, avg_fps=24.0, real_fps=24.0, has_audio=False)


@pytest.mark.parametrize("duration", [0.04, 3.0, 9.9, 10.0, 10.5, 11.2, 25.0, 3600.0])
def test_chunks_cover_the_video_with_overlap(duration: float) -> None:
    chunks = plan_chunks(_probe(duration), chunk_s=10.0, overlap_s=1.0, sample_fps=2.0)
    assert chunks[0].start_s == 0.0 and chunks[-1].end_s == duration
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for before, after in zip(chunks, chunks[1:]):
        assert after.start_s == pytest.approx(before.start_s + 10.0)
        assert before.end_s == pytest.approx(after.start_s + 1.0)  # the overlap
    for chunk in chunks:
        assert chunk.end_s - chunk.start_s > 1.0 or len(chunks) == 1  # no sliver of a chunk at the end
        assert chunk.frame_times and all(chunk.start_s <= t < max(chunk.end_s, 1e-9) for t in chunk.frame_times)
        assert np.allclose(np.diff(chunk.frame_times), 0.5)
    # every sampling slot of the video is in some chunk
    slots = {round(t, 6) for c in chunks for t in c.frame_times}
    assert slots == {round(k * 0.5, 6) for k in range(int(np.ceil(duration * 2 - 1e-9)))}


def test_expected_layout() -> None:
    chunks = plan_chunks(_probe(25.0))
    assert [(c.start_s, c.end_s) for c in chunks] == [(0.0, 11.0), (10.0, 21.0), (20.0, 25.0)]
    assert chunks[1].frame_times[:3] == [10.0, 10.5, 11.0] and chunks[1].frame_times[-1] == 20.5
    assert len(plan_chunks(_probe(3600.0))) == 360


def test_image_is_one_chunk(jpeg_image) -> None:
    assert plan_chunks(probe_video(jpeg_image)) == [Chunk(index=0, start_s=0.0, end_s=0.0, frame_times=[0.0])]


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        plan_chunks(_probe(10.0), chunk_s=1.0, overlap_s=1.0)


def test_snapping_moves_a_boundary_to_a_nearby_cut() -> None:
    chunks = plan_chunks(_probe(30.0), scene_cuts=[12.0, 25.1], snap_tolerance_s=2.5)
    assert [c.start_s for c in chunks] == [0.0, 12.0, 22.0]
    assert chunks[0].end_s == 12.0  # no overlap across a cut
    assert chunks[1].end_s == 23.0  # the next boundary was not at a cut: usual overlap
    assert plan_chunks(_probe(30.0), scene_cuts=[14.0], snap_tolerance_s=2.5)[1].start_s == 10.0  # too far


def test_scene_cut_detected_and_snapped(two_scenes) -> None:
    cuts = detect_scene_cuts(two_scenes)
    assert cuts == [pytest.approx(CUT_S, abs=1e-6)]
    probe = probe_video(two_scenes)
    chunks = plan_chunks(probe, chunk_s=8.0, overlap_s=1.0, scene_cuts=cuts)
    assert chunks[1].start_s == pytest.approx(CUT_S) and chunks[0].end_s == pytest.approx(CUT_S)
    assert chunks[-1].end_s == probe.duration_s


def test_no_cuts_in_a_single_shot(clip) -> None:
    assert detect_scene_cuts(clip) == []


def test_one_pass_deals_frames_to_chunks(two_scenes) -> None:
    probe = probe_video(two_scenes)
    chunks = plan_chunks(probe, chunk_s=6.0, overlap_s=1.0)
    stream = decode_frames(two_scenes, max_side=64, probe=probe)
    dealt = list(iter_chunk_frames(stream, chunks))
    assert [d.chunk.index for d in dealt] == [c.index for c in chunks]
    for planned, got in zip(chunks, dealt):
        assert got.chunk.frame_times == [f.time_s for f in got.frames]
        assert all(planned.start_s <= t < planned.end_s or planned is chunks[-1] for t in got.chunk.frame_times)
        # 24 fps on a 0.5 s grid: the decoded times are the planned slot starts
        assert got.chunk.frame_times == pytest.approx(planned.frame_times, abs=1e-6)
    # frames in an overlap are handed to both chunks
    assert dealt[0].frames[-1].time_s == dealt[1].frames[1].time_s == 6.5
    assert sum(len(d.frames) for d in dealt) == stream.frames_decoded + 2 * (len(chunks) - 1)


def test_dealing_holds_only_open_chunks() -> None:
    """Frames are handed on as soon as a chunk is complete, not at the end of the video."""
    chunks = plan_chunks(_probe(100.0), chunk_s=10.0, overlap_s=1.0)
    produced: list[float] = []

    def frames():
        for k in range(200):
            produced.append(k * 0.5)
            yield DecodedFrame(time_s=k * 0.5, index=k, image=np.zeros((1, 1, 3), np.uint8))

    for dealt in iter_chunk_frames(frames(), chunks):
        # when chunk i comes out, decoding has gone just past its end, not further
        assert produced[-1] <= dealt.chunk.end_s + 0.5 or dealt.chunk.index == len(chunks) - 1


def test_chunk_with_no_frames_is_still_yielded() -> None:
    chunks = plan_chunks(_probe(30.0))
    frames = [DecodedFrame(time_s=t, index=i, image=np.zeros((1, 1, 3), np.uint8)) for i, t in enumerate([0.0, 25.0])]
    dealt = list(iter_chunk_frames(frames, chunks))
    assert [len(d.frames) for d in dealt] == [1, 0, 1]
