"""Linking a chunk's tracks to the previous chunk's objects by mask IoU on the overlap frames."""

from __future__ import annotations

import numpy as np

from agent.object_links import link_objects, track_iou
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
