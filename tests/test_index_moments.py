"""Moment assembly: merging hits into time ranges (index/moments.py). Pure, so every edge case is cheap."""

import pytest
from pydantic import ValidationError

from index.moments import Hit, assemble_moments, event_moments
from tools.moment import Evidence


def hit(start, end=None, score=0.5, video="/v/a.mp4", **ev):
    return Hit(video_path=video, start_s=start, end_s=start if end is None else end, score=score,
               evidence=Evidence(**ev) if ev else None)


def spans(moments):
    return sorted((m.video_path, m.start_s, m.end_s) for m in moments)


def test_overlapping_hits_merge_and_keep_the_best_score():
    ms = assemble_moments([hit(0, 10, 0.3), hit(5, 15, 0.9), hit(12, 14, 0.1)], gap_s=0, min_len_s=0)
    assert len(ms) == 1
    assert (ms[0].start_s, ms[0].end_s, ms[0].score) == (0, 15, 0.9)


def test_touching_hits_merge_even_with_zero_gap():
    ms = assemble_moments([hit(0, 10), hit(10, 20)], gap_s=0, min_len_s=0)
    assert spans(ms) == [("/v/a.mp4", 0, 20)]


def test_gap_tolerance_is_inclusive_and_bounded():
    ms = assemble_moments([hit(0, 10), hit(12, 20), hit(22.5, 30)], gap_s=2.0, min_len_s=0)
    assert spans(ms) == [("/v/a.mp4", 0, 20), ("/v/a.mp4", 22.5, 30)]


def test_single_point_hits_chain_within_gap():
    ms = assemble_moments([hit(t) for t in (1.0, 1.5, 2.0, 2.5)], gap_s=0.5, min_len_s=0)
    assert spans(ms) == [("/v/a.mp4", 1.0, 2.5)]


def test_single_point_is_widened_to_min_length_around_its_centre():
    (m,) = assemble_moments([hit(50.0)], gap_s=0, min_len_s=4.0, durations={"/v/a.mp4": 100.0})
    assert (m.start_s, m.end_s) == (48.0, 52.0)


def test_widening_is_shifted_inside_the_video():
    ms = assemble_moments([hit(0.5), hit(99.5)], gap_s=0, min_len_s=4.0, durations={"/v/a.mp4": 100.0})
    assert spans(ms) == [("/v/a.mp4", 0.0, 4.0), ("/v/a.mp4", 96.0, 100.0)]


def test_widening_never_exceeds_a_short_video():
    (m,) = assemble_moments([hit(1.0)], gap_s=0, min_len_s=10.0, durations={"/v/a.mp4": 3.0})
    assert (m.start_s, m.end_s) == (0.0, 3.0)


def test_widening_without_known_duration_is_bounded_below_by_zero():
    (m,) = assemble_moments([hit(0.2)], gap_s=0, min_len_s=2.0)
    assert (m.start_s, m.end_s) == (0.0, 2.0)


def test_widened_neighbours_merge():
    ms = assemble_moments([hit(10.0, score=0.2), hit(12.0, score=0.8)], gap_s=0.5, min_len_s=3.0)
    assert len(ms) == 1
    assert (ms[0].start_s, ms[0].end_s, ms[0].score) == (8.5, 13.5, 0.8)


def test_long_moments_are_not_widened():
    (m,) = assemble_moments([hit(10, 30)], gap_s=0, min_len_s=5.0, durations={"/v/a.mp4": 31.0})
    assert (m.start_s, m.end_s) == (10, 30)


def test_videos_never_merge_and_order_is_best_first():
    ms = assemble_moments([hit(0, 5, 0.4, video="/v/b.mp4"), hit(0, 5, 0.9, video="/v/a.mp4"),
                           hit(20, 25, 0.4, video="/v/a.mp4")], gap_s=100, min_len_s=0)
    assert [(m.video_path, m.score) for m in ms] == [("/v/a.mp4", 0.9), ("/v/b.mp4", 0.4)]
    assert ms[0].end_s == 25


def test_equal_scores_order_by_video_then_start():
    ms = assemble_moments([hit(30, 31, 0.5), hit(0, 1, 0.5), hit(5, 6, 0.5, video="/v/0.mp4")], gap_s=0, min_len_s=0)
    assert [(m.video_path, m.start_s) for m in ms] == [("/v/0.mp4", 5), ("/v/a.mp4", 0), ("/v/a.mp4", 30)]


def test_evidence_is_deduplicated_best_first_and_track_times_union():
    hits = [
        hit(0, 10, 0.3, chunk_index=0, object_id=7, phrase="dog", track_times=[1.0, 2.0]),
        hit(0, 10, 0.9, chunk_index=0, object_id=7, phrase="dog", track_times=[2.0, 3.0]),
        hit(0, 10, 0.6, chunk_index=0, caption="a dog runs"),
    ]
    (m,) = assemble_moments(hits, gap_s=0, min_len_s=0)
    assert [e.object_id for e in m.evidence] == [7, None]
    assert m.evidence[0].track_times == [1.0, 2.0, 3.0]


def test_evidence_is_capped():
    hits = [hit(t, t + 1, 1 - t / 100, chunk_index=t) for t in range(30)]
    (m,) = assemble_moments(hits, gap_s=0, min_len_s=0, max_evidence=5)
    assert [e.chunk_index for e in m.evidence] == [0, 1, 2, 3, 4]


def test_input_hits_are_not_mutated():
    h = hit(0, 10, 0.3, chunk_index=0, object_id=1, track_times=[1.0])
    h2 = hit(0, 10, 0.2, chunk_index=0, object_id=1, track_times=[2.0])
    assemble_moments([h, h2], gap_s=0, min_len_s=0)
    assert h.evidence.track_times == [1.0]


def test_empty_input_gives_no_moments():
    assert assemble_moments([], gap_s=1, min_len_s=1) == []


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        assemble_moments([hit(0)], gap_s=-1)
    with pytest.raises(ValidationError):
        hit(5, 4)
    with pytest.raises(ValidationError):
        hit(-1)


def test_events_of_different_things_stay_apart_and_one_event_stored_twice_is_one():
    """event_moments, for a question about any object: a ball's jump and a box's jump that overlaps it are two
    moments; the ball's jump stored on two objects of its label is one; both sides of a meeting are one."""
    ball = hit(3.0, 5.0, 1.0, object_id=1, phrase="the red ball", event="jump")
    ball_again = hit(3.1, 4.9, 0.9, object_id=2, phrase="the red ball", event="jump")
    box = hit(4.5, 6.5, 1.0, object_id=3, phrase="the white box", event="jump")
    meet_a = hit(8.0, 9.0, 1.0, object_id=1, phrase="the red ball", event="meets")
    meet_b = hit(8.0, 9.0, 1.0, object_id=3, phrase="the white box", event="meets")
    later = hit(5.5, 7.0, 1.0, object_id=1, phrase="the red ball", event="jump")  # overlaps the first by less than half
    other_kind = hit(3.0, 5.0, 1.0, object_id=1, phrase="the red ball", event="moving")
    ms = event_moments([box, ball, ball_again, meet_a, meet_b, later, other_kind])
    assert spans(ms) == [("/v/a.mp4", 3.0, 5.0), ("/v/a.mp4", 3.0, 5.0), ("/v/a.mp4", 4.5, 6.5),
                         ("/v/a.mp4", 5.5, 7.0), ("/v/a.mp4", 8.0, 9.0)]
    kinds = sorted(m.evidence[0].event for m in ms if (m.start_s, m.end_s) == (3.0, 5.0))
    assert kinds == ["jump", "moving"]
    (jump,) = [m for m in ms if (m.start_s, m.end_s, m.evidence[0].event) == (3.0, 5.0, "jump")]
    assert {e.object_id for e in jump.evidence} == {1, 2}
    (meeting,) = [m for m in ms if m.start_s == 8.0]
    assert {e.object_id for e in meeting.evidence} == {1, 3}
    assert len(event_moments([hit(1.0, 2.0, 1.0, video="/v/b.mp4", object_id=1, phrase="x", event="jump"),
                              hit(1.0, 2.0, 1.0, object_id=1, phrase="x", event="jump")])) == 2
