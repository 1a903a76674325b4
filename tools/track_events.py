"""Rules that read events off stored object tracks: jumps, entering and leaving the frame, appearing and
disappearing mid-frame, starting and stopping, and two objects meeting; and the states that hold over spans of time:
visible, moving (and which way), still, near another object, on the left or the right of the frame. No model: only each object's present
boxes (pixels) at the sampled frame times (seconds), and of its masks one number a sample (the bottom of the
highest part, `BoxPoint.part_bottom`), so a video's events can be recomputed from the index alone. Where a mask is
stored, the box is that of the mask without its specks (`tools/mask_parts.py` `mask_outline`), not of every pixel.

Assumptions, shared by every rule:
- A static camera: a box moving in the frame is the object moving. A pan reads as everything moving.
- Sampling at about 2 fps or faster, at a roughly even rate. Sizes change slowly (an object walking towards
  the camera over seconds, not within one jump): resting lines and object sizes are local medians over
  +-`LOCAL_WINDOW_S`, so a walk across a long video does not move the reference of a jump ten minutes later.
- Subjects are a few percent of the frame or larger and seen whole when standing in view; a subject cut by the
  frame's border throughout (a close-up) reads as touching that edge.
- Absence is a gap against `frame_times`: a sampled time at which a track has no box. A gap that is one
  sample, or no longer than `DROPOUT_MAX_S`, is tracker flicker and is bridged by every rule (at the video's
  first and last samples too), unless the boxes show the object going out through the border and back.
- For presence (enters, leaves, appears, disappears, meets) a sample counts only if its mask is a sighting: one
  under `SPECK_SHARE` of the object's usual mask area (local median), away from the border, is the tracker holding
  on to a few pixels once the object is gone (measured on the demo model: 2-35 px masks where the object's are
  100-500); nor is one of at least `SLID_MIN_SHARE` of that area whose mean colour is more than `COLOUR_SHIFT` from
  the track's usual colour (local median), a mask slid onto a neighbour (only where colours were measured:
  `tools/mask_colour.py`). Jumps and motion read
  every sample's box: a mask over two objects can shrink to a sliver of one as
  the subject lands (`sva demo --seed 6000`), and that sample is still where the landing shows.

The rules, with their thresholds (in object heights or fractions of the frame, so they hold at any resolution;
only `EDGE_PX`, the slack of a mask against the border, is in pixels):
- jump: the box top rises above its resting line (the local median of box tops) by at least
  `JUMP_PEAK_LIFT` object heights (and `JUMP_MIN_LIFT_FRAME` of the frame height, a floor against pixel noise
  on small objects), and comes back within `JUMP_MAX_S`. The span is the run of samples lifted at least
  `JUMP_EDGE_LIFT` object heights, its ends halfway to the grounded neighbours (take-off and landing fall
  between samples); the resting line is local, so a walk up a slope does not read as a jump. The top, not the bottom: an
  occluder hiding the lower part lifts only the bottom. Something must leave the ground, though: somewhere in the run
  the box's bottom, or the bottom of a separate part of the mask (`BoxPoint.part_bottom`), is `JUMP_EDGE_LIFT`
  object heights above the resting line of box bottoms. A top that rises while the whole mask stays on the ground
  is the object stretching (standing up, raising its arms) or its mask spreading over a neighbour (measured on 30
  unseen minutes: every false jump lifted the top 5-14% of the frame height with the bottom down; every true one
  30-44%, bottom or ball off the ground). A mask over two objects, one of them jumping, lifts that one's part:
  still a jump (whose, subject resolution and the names decide).
- leaves / enters: the object's last (first) box of a visible stretch touches a frame edge (within
  `EDGE_PX` pixels), or its motion carries at least half of it past an edge by the next (previous) sample,
  when it is absent (fast objects at low rates cross the border between two samples), and it is then absent
  (was absent before). The span runs from when the whole shape was last inside to when it was first wholly
  outside (the reverse for enters): the box's unclipped size (from the last `_SIZE_SAMPLES` uncut boxes) and
  its speed over the last (first) `VELOCITY_WINDOW_S` place its hidden part, bounded by what the samples
  show. An absence too short to count elsewhere counts here when the object went out at one edge and came
  back at another, or moved out and back in at speed and, at those speeds, was wholly out in between. An
  object present at the first sample did not enter; one present at the last did not leave. A part of a mask that goes
  out while the rest of the mask stays (two objects in one mask) is read by these rules too, followed alone
  (`border_crossings`, tools/part_crossings.py); whose leave it is, the names up close decide (index/crossing_names.py).
- appears / disappears: a visible stretch begins (ends) away from every frame edge, after (before) an absence
  longer than a dropout; the first sighting of an object after the video's start counts. The span is the
  sampled interval in which it happened (last absent to first present sample, or the reverse).
- starts_moving / stops_moving: the box centre's horizontal speed (object heights per second, a line fitted
  over +-`SPEED_WINDOW_S` and at least two samples each side) rises to `MOVING_SPEED` and stays at or above
  `STILL_SPEED` for at least `MOVING_MIN_S` (a hysteresis, so jitter around one threshold does not flicker).
  Where the motion begins and ends is placed by fitting "still, then moving at one speed" to the centre
  track (the smoothed speed blurs it); a start counts after at least `STILL_MIN_S` still since the previous
  motion ended (or the stretch began), a stop before `STILL_MIN_S` still. Horizontal only, and samples
  inside a jump are left out, so a jump in place is not a start. The span is the sample before the change
  to the sample after. A pause shorter than about twice the speed window may not show at all.
- meets: two objects' boxes come within `MEET_GAP` of the frame width of each other (touching or
  overlapping) after being seen apart; contacts broken for less than `MEET_APART_MIN_S` are one meeting. The
  event belongs to the lower object id (`other_object_id` the higher); the span is the contact period, its
  ends halfway to the neighbouring apart samples. Boxes are 2-D, so an object passing in front of another
  meets it.

States (`STATE_KINDS`): each occurrence is the whole span the state holds, not a change. Same assumptions.
- visible: each visible stretch of sightings (the stretches the enters / leaves / appears / disappears rules read:
  dropouts bridged, specks and slid masks left out), at least `STATE_MIN_S` long. What "when is the dog seen" asks.
- moving_left / moving_right: the parts of a motion whose smoothed horizontal velocity points left (right), as the
  camera sees it, each at least `STATE_MIN_S` long.
- moving / still: the motions the start and stop rules place (set off to rest, horizontal, samples inside a jump
  left out) are `moving`, each at least `MOVING_MIN_S` long; the rest of a visible stretch, where at least
  `STILL_MIN_S` long, is `still` (split where a jump leaves out samples: a jump in place is not stillness).
- near: two objects' boxes within `NEAR_SIZES` times the smaller object's size (the larger side of its box) of each
  other, touching and overlapping included, for at least `STATE_MIN_S`; breaks shorter than `MEET_APART_MIN_S` are
  one span. Owned by the lower object id, as meets.
- on_left / on_right: the box centre in the outer `SIDE_SHARE` of the frame's width, for at least `STATE_MIN_S`;
  absences no longer than a dropout are bridged. Left and right of the picture, as the camera sees it.
Presence for near and the sides counts sightings only (specks and slid masks left out), as for meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from sa2va_engine.masklet import Masklet
from tools.mask_colour import colour_distance
from tools.mask_parts import mask_outline
from tools.track_event import BoxPoint, EventKind, ObjectTrack, TrackEvent

# Absences no longer than this (seconds), or of a single sample, are tracker flicker, not events.
DROPOUT_MAX_S = 0.5
# Resting lines and object sizes are medians over +-this many seconds: local, since objects walk and
# videos are long, and wide enough that a jump (a second or two in the air) is a minority of the window.
LOCAL_WINDOW_S = 5.0

# A jump peaks at least this many object heights above the resting line ...
JUMP_PEAK_LIFT = 0.25
# ... and at least this share of the frame height: a floor where a few pixels of mask jitter would
# otherwise be a quarter of a small object's height.
JUMP_MIN_LIFT_FRAME = 0.04
# Samples lifted by this many object heights are in the air; lower ones are grounded.
JUMP_EDGE_LIFT = 0.1
# Longer than this in the air is not a jump but a change of pose or ground (standing up, climbing a step).
JUMP_MAX_S = 4.0

# A box edge within this many pixels of the frame's border touches it: masks end at the border pixel, and
# a pixel or so of slack covers rounding in the stored box.
EDGE_PX = 2.0
# Speed at the border is measured over the last (first) this many seconds of a visible stretch: three samples at
# 4 fps. Two (0.3 s) read the speed off masks cut by the border alone, which a tracker often draws as a sliver of
# what is in: a dog coming in at 84 px/s read as 16 px/s and its entry was timed 0.3 s long (30 unseen minutes:
# enters 16 -> 17 of 22, nothing lost; on the ground-truth worlds of tests/test_track_events.py leaves 0.953 -> 0.969).
VELOCITY_WINDOW_S = 0.55

# Centre speed, object heights per second, above which an object moves and below which it is still
# (a slow walk is about 0.5 heights/s; mask jitter of a still object stays well under 0.1).
MOVING_SPEED = 0.3
STILL_SPEED = 0.15
# Speeds are line fits over +-this many seconds (and at least two samples each side).
SPEED_WINDOW_S = 0.5
# Starting needs this long still before; stopping this long still after.
STILL_MIN_S = 1.0
# ... and this long moving after (before): one fast sample is jitter, not a walk.
MOVING_MIN_S = 0.5

# Boxes closer than this share of the frame width touch.
MEET_GAP = 0.02
# Contacts broken for less than this long are one meeting (boxes graze in and out of touch).
MEET_APART_MIN_S = 0.5

# A state holds at least this long (seconds) to count: one sample near or on a side is a pass, not a place.
STATE_MIN_S = 0.5
# Boxes within this many times the smaller object's size of each other are near (one body length).
NEAR_SIZES = 1.0
# A box centre in the outer this share of the frame width is on that side (the middle fifth is neither).
SIDE_SHARE = 0.4

# A mask holding less than this share of the object's usual mask area (local median) is a speck, not a sighting.
SPECK_SHARE = 0.15
# A mask whose mean colour is further than this (`tools/mask_colour.py` `colour_distance`, Lab with lightness at half)
# from its track's usual colour (local median), and that holds at least `SLID_MIN_SHARE` of the usual area, has slid
# onto something else: no sighting either. On 30 unseen minutes (12,208 stored points), 30 points are further than
# 35, of which 5 have their mask mostly on the object the track follows; at 25, 79 and 44.
COLOUR_SHIFT = 35.0
SLID_MIN_SHARE = 0.5

# Events show at most this many sample times as evidence.
MAX_EVIDENCE = 8

_SAME_TIME_S = 1e-6
# Rolling medians work on about this many numbers at a time.
_MEDIAN_BLOCK = 1 << 16
# An object's whole size at the border is read from this many unclipped boxes before it crosses.
_SIZE_SAMPLES = 3


@dataclass(frozen=True)
class _Stretch:
    """One visible stretch of a track: present samples with dropouts bridged. `before_s` is the last sampled
    time the object was absent before it (None when it was there from the video's start), `after_s` the
    first absent time after it (None when it stays to the end)."""

    times: np.ndarray  # (n,) seconds
    boxes: np.ndarray  # (n, 4) x0, y0, x1, y1 pixels
    part_bottoms: np.ndarray  # (n,) y1 of the mask's highest part, pixels (the box's y1 where not known)
    before_s: float | None
    after_s: float | None


def detect_events(tracks: list[ObjectTrack], frame_times: list[float]) -> list[TrackEvent]:
    """Every event of the tracked objects, sorted by (start_s, object_id, kind).

    `tracks` hold present samples only; `frame_times` are every sampled frame time of the video (seconds,
    sorted), so an object is absent at a sampled time where its track has no box."""
    clock = _clock(tracks, frame_times)
    if len(clock) == 0:
        return []
    step = _sampling_step(clock)
    events: list[TrackEvent] = []
    # Presence (the border rules, meetings) counts sightings only; where the box is (jumps, motion) reads every sample.
    sightings = {id(track): _sightings(track) for track in tracks}
    for track in tracks:
        stretches = _visible_stretches(track, clock, step, track.points)
        jumps = _jump_events(track, stretches)
        events += jumps
        seen = _visible_stretches(track, clock, step, sightings[id(track)])
        events += _border_events(track, seen)
        events += _visible_states(track, seen)
        events += _motion_events(track, stretches, step, jumps)
        events += _side_states(track, clock, step, sightings[id(track)])
    events += _meet_events(tracks, clock, sightings)
    events += _near_states(tracks, clock, step, sightings)
    return sorted(events, key=lambda e: (e.start_s, e.object_id, e.kind))


def border_crossings(track: ObjectTrack, frame_times: list[float]) -> list[TrackEvent]:
    """Only the enters and leaves of one track, read as `detect_events` reads them (its sightings, its visible
    stretches against every sampled time): what `tools/part_crossings.py` asks of a part of a mask followed alone."""
    clock = _clock([track], frame_times)
    if len(clock) == 0:
        return []
    seen = _visible_stretches(track, clock, _sampling_step(clock), _sightings(track))
    return [e for e in _border_events(track, seen) if e.kind in ("enters", "leaves")]


# --- time and visibility ------------------------------------------------------------------------------------


def _clock(tracks: Sequence[ObjectTrack], frame_times: Sequence[float]) -> np.ndarray:
    """The sampled times, seconds; the tracks' own times when the video's are not known."""
    times = frame_times or sorted({p.time_s for t in tracks for p in t.points})
    return np.asarray(sorted(times), dtype=float)


def _sampling_step(clock: np.ndarray) -> float:
    """The usual interval between samples, seconds (1 s for a single sample, which has no interval)."""
    steps = np.diff(clock)
    steps = steps[steps > _SAME_TIME_S]
    return float(np.median(steps)) if len(steps) else 1.0


def _frame_indices(track: ObjectTrack, clock: np.ndarray,
                   points: Sequence[BoxPoint]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clock index, box, part bottom) of each present sample, snapped to the nearest sampled time; a time stored
    twice (overlapping chunks decode the same frame twice) keeps its first box. The part bottom is the box's y1
    where not known."""
    if not points:
        return np.zeros(0, dtype=int), np.zeros((0, 4)), np.zeros(0)
    times = np.array([p.time_s for p in points])
    boxes = np.array([p.box for p in points], dtype=float)
    part_bottoms = np.array([p.box[3] if p.part_bottom is None else p.part_bottom for p in points], dtype=float)
    right = np.clip(np.searchsorted(clock, times), 0, len(clock) - 1)
    left = np.clip(right - 1, 0, len(clock) - 1)
    nearest = np.where(np.abs(clock[left] - times) <= np.abs(clock[right] - times), left, right)
    order = np.argsort(nearest, kind="stable")
    indices, first = np.unique(nearest[order], return_index=True)
    return indices, boxes[order][first], part_bottoms[order][first]


def _sightings(track: ObjectTrack) -> list[BoxPoint]:
    """The track's points that see the object: neither a speck nor a mask slid onto something of another colour."""
    points = track.points
    usual_area = _usual_areas(points)
    far = _far_in_colour(points)
    keep = []
    for i, (p, typical) in enumerate(zip(points, usual_area)):
        if np.isnan(typical):
            keep.append(p)
            continue
        at_border = touches_border(p.box, track.frame_size)
        # A mask of a few pixels where the object's masks around it hold many times more is the tracker clutching at
        # a speck, not the object (it then reads as present where it is gone, hiding its leaving and coming back). A
        # mask cut by the frame's border is small because the object is going out or coming in, and counts.
        if p.area < SPECK_SHARE * typical and not at_border:
            continue
        # A mask of the object's size but not its colour is on another object. A smaller one of another colour is
        # the object mostly hidden behind a neighbour, its few pixels mixed with the neighbour's: still a sighting
        # (measured on 30 unseen minutes: a dog walking past a standing one gave 8-25 px masks, half white, where
        # the standing one's were 100 px and yellow; dropping them made 6 false disappearances).
        if i in far and p.area >= SLID_MIN_SHARE * typical:
            continue
        keep.append(p)
    return keep


def _usual_areas(points: list[BoxPoint]) -> np.ndarray:
    """Each point's local median mask area; nan where its area is not known or fewer than three are."""
    areas = np.array([np.nan if p.area is None else p.area for p in points], dtype=float)
    known = ~np.isnan(areas)
    usual = np.full(len(points), np.nan)
    if known.sum() >= 3:
        times = np.array([p.time_s for p in points])
        usual[known] = _local_median(times[known], areas[known])
    return usual


def _far_in_colour(points: list[BoxPoint]) -> set[int]:
    """Indices of the points whose mask's colour is more than `COLOUR_SHIFT` from the colour the track's masks have
    around it (local median per Lab channel): a small tracker's mask can slide off its object onto a neighbour as
    the object goes out (a yellow ball's mask onto a red box coming in at the same edge), which reads as the object
    staying. A neighbour holding the mask for most of +-`LOCAL_WINDOW_S` becomes the usual colour itself. Points
    without a colour (stored before it was measured) are never far."""
    coloured = [i for i, p in enumerate(points) if p.colour is not None]
    if len(coloured) < 3:
        return set()
    times = np.array([points[i].time_s for i in coloured])
    labs = np.array([points[i].colour for i in coloured], dtype=float)
    usual = np.stack([_local_median(times, labs[:, c]) for c in range(3)], axis=1)
    return {i for i, lab, typical in zip(coloured, labs, usual) if colour_distance(lab, typical) > COLOUR_SHIFT}


def _is_dropout(missing_times: np.ndarray, step: float) -> bool:
    """Whether an absence over these sampled times (seconds) is short enough to be tracker flicker: one
    sample, or no longer than DROPOUT_MAX_S counting the last missing sample's own interval."""
    if len(missing_times) <= 1:
        return True
    return float(missing_times[-1] - missing_times[0]) + step <= DROPOUT_MAX_S + _SAME_TIME_S


def _visible_stretches(track: ObjectTrack, clock: np.ndarray, step: float,
                       points: Sequence[BoxPoint]) -> list[_Stretch]:
    """The track cut at its real absences, in time order. A short absence is a dropout and bridged, except
    where the object visibly goes out through the border and comes back (or comes in at the video's start,
    goes out at its end): objects do cross the border between two samples."""
    indices, boxes, part_bottoms = _frame_indices(track, clock, points)
    if len(indices) == 0:
        return []
    frame_size = track.frame_size
    # Segments of consecutive samples, then merged across the absences that are flicker.
    bounds = [0, *(np.flatnonzero(np.diff(indices) > 1) + 1).tolist(), len(indices)]
    groups = [[bounds[0], bounds[1]]]
    for a, b in zip(bounds[1:-1], bounds[2:]):
        prev = groups[-1]
        missing = clock[indices[prev[1] - 1] + 1:indices[a]]
        if _is_dropout(missing, step) and not _out_and_back(
                _departure_crossing(clock[indices[prev[0]:prev[1]]], boxes[prev[0]:prev[1]], float(missing[0]),
                                    frame_size),
                _arrival_crossing(clock[indices[a:b]], boxes[a:b], float(missing[-1]), frame_size)):
            prev[1] = b
        else:
            groups.append([a, b])
    stretches = []
    for k, (a, b) in enumerate(groups):
        times, stretch_boxes = clock[indices[a:b]], boxes[a:b]
        before = clock[:indices[a]] if k == 0 else clock[indices[a - 1] + 1:indices[a]]
        after = clock[indices[b - 1] + 1:] if k == len(groups) - 1 else clock[indices[b - 1] + 1:indices[b]]
        before_s = float(before[-1]) if len(before) else None
        after_s = float(after[0]) if len(after) else None
        # Missing only the video's first (last) sample or two is flicker too, unless it came in (went out).
        if k == 0 and before_s is not None and _is_dropout(before, step) and not _crosses_moving(
                _arrival_crossing(times, stretch_boxes, before_s, frame_size)):
            before_s = None
        if k == len(groups) - 1 and after_s is not None and _is_dropout(after, step) and not _crosses_moving(
                _departure_crossing(times, stretch_boxes, after_s, frame_size)):
            after_s = None
        stretches.append(_Stretch(times, stretch_boxes, part_bottoms[a:b], before_s, after_s))
    return stretches


def _local_median(times: np.ndarray, values: np.ndarray, half_window_s: float = LOCAL_WINDOW_S) -> np.ndarray:
    """Median of `values` over the samples within +-half_window_s seconds of each sample (`times` increasing)."""
    lo = np.searchsorted(times, times - half_window_s, side="left")
    hi = np.searchsorted(times, times + half_window_s, side="right")
    # Windows as rows of a nan-padded table, a block of rows at a time: one call per block, bounded memory.
    width = int((hi - lo).max()) if len(times) else 0
    out = np.empty(len(times))
    block = max(1, _MEDIAN_BLOCK // max(width, 1))
    for start in range(0, len(times), block):
        rows = slice(start, start + block)
        columns = lo[rows, None] + np.arange(width)
        table = np.where(columns < hi[rows, None], values[np.minimum(columns, len(values) - 1)], np.nan)
        out[rows] = np.nanmedian(table, axis=1)
    return out


def _spread(times: Sequence[float] | np.ndarray, limit: int = MAX_EVIDENCE) -> list[float]:
    """At most `limit` of the times, evenly spread and including both ends."""
    times = [float(t) for t in times]
    if len(times) <= limit:
        return times
    return [times[round(i)] for i in np.linspace(0, len(times) - 1, limit)]


def _event(track: ObjectTrack, kind: EventKind, start_s: float, end_s: float, score: float,
           evidence: Sequence[float] | np.ndarray, rule: str, other: int | None = None,
           size: float | None = None) -> TrackEvent:
    return TrackEvent(object_id=track.object_id, kind=kind, start_s=float(start_s), end_s=float(max(start_s, end_s)),
                      score=float(np.clip(score, 0.0, 1.0)), evidence_s=_spread(evidence), rule=rule,
                      other_object_id=other, size=None if size is None else round(float(size), 4))


# --- jump ---------------------------------------------------------------------------------------------------


def _jump_events(track: ObjectTrack, stretches: list[_Stretch]) -> list[TrackEvent]:
    """Jumps: runs of samples whose box top is well above the local resting line, grounded on both sides."""
    if not stretches:
        return []
    frame_h = track.frame_size[0]
    times = np.concatenate([s.times for s in stretches])
    boxes = np.concatenate([s.boxes for s in stretches])
    # Resting line and size from every present sample near in time, across occlusions.
    rest_top = _local_median(times, boxes[:, 1])
    height = np.maximum(_local_median(times, boxes[:, 3] - boxes[:, 1]), 1.0)
    lift = rest_top - boxes[:, 1]  # pixels above rest; y grows downwards
    # How far the box's bottom, or a separate part of the mask, is off the ground (the resting line of bottoms).
    off_ground = _local_median(times, boxes[:, 3]) - np.concatenate([s.part_bottoms for s in stretches])
    peak_needed = np.maximum(JUMP_PEAK_LIFT * height, JUMP_MIN_LIFT_FRAME * frame_h)
    airborne = lift >= JUMP_EDGE_LIFT * height
    events = []
    offset = 0
    for stretch in stretches:
        n = len(stretch.times)
        # A jump is read inside one visible stretch: its take-off and landing must be seen, unless the video
        # starts or ends with the object in the air.
        for a, b in _true_runs(airborne[offset:offset + n]):
            i, j = offset + a, offset + b  # airborne samples i..j-1 of the whole track
            grounded_both_sides = (a > 0 or stretch.before_s is None) and (b < n or stretch.after_s is None)
            peak = int(i + np.argmax(lift[i:j] - peak_needed[i:j]))
            start = (times[i - 1] + times[i]) / 2 if a > 0 else times[i]
            end = (times[j - 1] + times[j]) / 2 if b < n else times[j - 1]
            if not grounded_both_sides or lift[peak] < peak_needed[peak] or end - start > JUMP_MAX_S:
                continue
            if off_ground[i:j].max() < JUMP_EDGE_LIFT * height[peak]:
                continue  # the top rose with every part of the mask on the ground: a stretch or a spreading mask
            share = lift[peak] / frame_h
            rule = (f"box top {share:.0%} of frame height ({lift[peak] / height[peak]:.1f} object heights) above its "
                    f"resting line (median of +-{LOCAL_WINDOW_S:.0f} s), off the ground, for {end - start:.1f} s, "
                    "then back")
            score = 0.5 * lift[peak] / peak_needed[peak]  # 0.5 at the threshold, 1 at twice it
            evidence = times[max(i - 1, offset):min(j + 1, offset + n)]  # the airborne samples and their neighbours
            events.append(_event(track, "jump", start, end, score, evidence, rule, size=lift[peak] / height[peak]))
        offset += n
    return events


def _true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs, stop exclusive, of the runs of True in `flags`."""
    padded = np.concatenate([[False], flags, [False]]).astype(int)
    changes = np.flatnonzero(np.diff(padded))
    return list(zip(changes[::2].tolist(), changes[1::2].tolist()))


# --- the frame's border: enters, leaves, appears, disappears ------------------------------------------------


def _border_events(track: ObjectTrack, stretches: list[_Stretch]) -> list[TrackEvent]:
    """At each end of each visible stretch that is not the video's start or end: through an edge (enters,
    leaves) or mid-frame (appears, disappears)."""
    events = []
    for stretch in stretches:
        if stretch.before_s is not None:
            events.append(_arrival(track, stretch))
        if stretch.after_s is not None:
            events.append(_departure(track, stretch))
    return events


def _departure(track: ObjectTrack, stretch: _Stretch) -> TrackEvent:
    """How a stretch ends: leaves through an edge, or disappears mid-frame."""
    assert stretch.after_s is not None
    crossing = _departure_crossing(stretch.times, stretch.boxes, stretch.after_s, track.frame_size)
    evidence = [*stretch.times[-MAX_EVIDENCE + 1:], stretch.after_s]
    if crossing is None:
        return _mid_frame_event(track, "disappears", float(stretch.times[-1]), stretch.after_s, stretch.boxes[-1],
                                evidence)
    how = "touching" if crossing.touched else "heading onto"
    rule = (f"box {how} the {crossing.edge} edge of the frame (within {EDGE_PX:g} px), then absent from "
            f"{stretch.after_s:.2f} s")
    return _event(track, "leaves", crossing.start_s, crossing.end_s, crossing.score, evidence, rule)


def _arrival(track: ObjectTrack, stretch: _Stretch) -> TrackEvent:
    """How a stretch begins: enters through an edge, or appears mid-frame."""
    assert stretch.before_s is not None
    crossing = _arrival_crossing(stretch.times, stretch.boxes, stretch.before_s, track.frame_size)
    evidence = [stretch.before_s, *stretch.times[:MAX_EVIDENCE - 1]]
    if crossing is None:
        return _mid_frame_event(track, "appears", stretch.before_s, float(stretch.times[0]), stretch.boxes[0],
                                evidence)
    how = "touching" if crossing.touched else "coming from"
    rule = (f"absent at {stretch.before_s:.2f} s, then box {how} the {crossing.edge} edge of the frame "
            f"(within {EDGE_PX:g} px)")
    return _event(track, "enters", crossing.start_s, crossing.end_s, crossing.score, evidence, rule)


def _mid_frame_event(track: ObjectTrack, kind: EventKind, start_s: float, end_s: float, box: np.ndarray,
                     evidence: Sequence[float]) -> TrackEvent:
    """Appears or disappears away from the edges; clearer the further the box is from the nearest edge."""
    frame_h, frame_w = track.frame_size
    x0, y0, x1, y1 = box
    clearance = min(x0, y0, frame_w - x1, frame_h - y1)
    size = max(min(x1 - x0, y1 - y0), 1.0)
    verb = "first seen" if kind == "appears" else "last seen"
    rule = f"{verb} {clearance:.0f} px from the nearest frame edge, absent for longer than {DROPOUT_MAX_S:g} s"
    return _event(track, kind, start_s, end_s, 0.5 + 0.5 * min(1.0, clearance / size), evidence, rule)


@dataclass(frozen=True)
class _Crossing:
    """An object going out through an edge of the frame (or, mirrored, coming in)."""

    start_s: float  # the whole shape last inside (first, coming in), seconds
    end_s: float  # wholly outside (last, coming in), seconds
    edge: str  # left, right, top, bottom
    touched: bool  # a box touched the edge; otherwise its motion carried it there between samples
    speed: float  # across the border, object heights per second (<= 0: not moving across it)
    outside_s: float  # when its motion puts the shape wholly outside, not bounded by the samples, seconds

    @property
    def score(self) -> float:
        return 1.0 if self.touched else 0.6


_EDGES = (("left", 0, -1), ("right", 0, 1), ("top", 1, -1), ("bottom", 1, 1))  # (name, axis, direction)


def _crosses_moving(crossing: _Crossing | None) -> bool:
    """Whether a crossing is one the object makes on its own feet: not a standing object's box flickering
    at the border."""
    return crossing is not None and crossing.speed >= MOVING_SPEED


def _out_and_back(departure: _Crossing | None, arrival: _Crossing | None) -> bool:
    """Whether an object that vanished for a moment went out of the frame and came back: it went out at one
    edge and came back at another, or it moved out and in and at its speeds was wholly out before it came
    back (one bouncing off the border between two samples was not)."""
    if departure is None or arrival is None:
        return False
    if departure.touched and arrival.touched and departure.edge != arrival.edge:
        return True
    return (_crosses_moving(departure) and _crosses_moving(arrival)
            and departure.outside_s <= arrival.outside_s + _SAME_TIME_S)


def _arrival_crossing(times: np.ndarray, boxes: np.ndarray, absent_s: float, frame_size: tuple[int, int],
                      ) -> _Crossing | None:
    """The mirror of a departure: a stretch played backwards departs the way it arrived, so its crossing,
    with time turned back, is the arrival's."""
    first = _stretch_head(times)
    crossing = _departure_crossing(-times[first::-1], boxes[first::-1], -absent_s, frame_size)
    if crossing is None:
        return None
    return _Crossing(-crossing.end_s, -crossing.start_s, crossing.edge, crossing.touched, crossing.speed,
                     -crossing.outside_s)


def _stretch_head(times: np.ndarray) -> int:
    """Index of the last sample within LOCAL_WINDOW_S of the first (times increasing, seconds)."""
    return int(np.searchsorted(times, times[0] + LOCAL_WINDOW_S, side="right")) - 1


def _stretch_tail(times: np.ndarray) -> int:
    """Index of the first sample within LOCAL_WINDOW_S of the last (times increasing, seconds)."""
    return int(np.searchsorted(times, times[-1] - LOCAL_WINDOW_S, side="left"))


def _departure_crossing(times: np.ndarray, boxes: np.ndarray, absent_s: float, frame_size: tuple[int, int],
                        ) -> _Crossing | None:
    """How the visible stretch `times`/`boxes` (seconds, increasing/pixels) went out through a frame edge
    before `absent_s`, the first absent sample; None when it vanished mid-frame. A touched edge beats one
    only reached by extrapolation; among equals, the one crossed first."""
    # The crossing is read off the stretch's last seconds, so a long stretch costs no more than a short one.
    last = _stretch_tail(times)
    times, boxes = times[last:], boxes[last:]
    frame_h = frame_size[0]
    heights = boxes[:, 3] - boxes[:, 1]
    height = max(_unclipped_size(heights, (boxes[:, 1] <= EDGE_PX) | (boxes[:, 3] >= frame_h - EDGE_PX)), 1.0)
    best = None
    for name, axis, direction in _EDGES:
        crossing = _edge_crossing(times, boxes, absent_s, frame_size[1 - axis], axis, direction, height, name)
        if crossing is None:
            continue
        if best is None or (not crossing.touched, crossing.end_s) < (not best.touched, best.end_s):
            best = crossing
    return best


def _edge_crossing(times: np.ndarray, boxes: np.ndarray, absent_s: float, extent_px: int, axis: int,
                   direction: int, height: float, name: str) -> _Crossing | None:
    """The departure through one edge (`axis` 0 = x, 1 = y; `direction` -1 = the low edge at 0, +1 = the
    high edge at `extent_px`), or None. Works in distances from the border, pixels, positive inside: the
    box's near side (clipped by the border while the shape crosses it) and its far side."""
    lo, hi = boxes[:, axis], boxes[:, axis + 2]
    near = lo if direction < 0 else extent_px - hi
    far = hi if direction < 0 else extent_px - lo
    touching = near <= EDGE_PX
    size = _unclipped_size(hi - lo, touching | (far >= extent_px - EDGE_PX))
    # Where the near side of the whole shape is: a clipped box hides it, its far side shows it.
    near_whole = np.where(touching, far - size, near)
    speed = _border_speed(times, near_whole)  # pixels/s into the frame; < 0 heads out
    t_last = float(times[-1])
    touched = bool(touching[-1])
    # Between samples, the object's motion must carry at least half of it out: it is absent at absent_s,
    # and at the border it would still show.
    reaches = speed < 0 and near_whole[-1] + speed * (absent_s - t_last) + size / 2 <= 0
    if not touched and not reaches:
        return None
    # The samples bound the span: the shape was wholly inside at the last untouching sample, not yet when
    # it first touched after it, and not wholly outside while a box was seen.
    inside = np.flatnonzero(~touching)
    last_inside = float(times[inside[-1]]) if len(inside) else float(times[0])
    first_touch = float(times[inside[-1] + 1]) if len(inside) and inside[-1] + 1 < len(times) else absent_s
    if speed < 0:
        start = t_last + near_whole[-1] / -speed
        end = t_last + (near_whole[-1] + size) / -speed
    else:  # standing at the border when lost: only the samples say when
        start, end = (last_inside + first_touch) / 2, absent_s
    outside = end
    start = float(np.clip(start, last_inside, first_touch))
    end = float(np.clip(end, max(start, t_last), absent_s))
    return _Crossing(start, end, name, touched, -speed / height, float(outside))


def _border_speed(times: np.ndarray, distances: np.ndarray) -> float:
    """Slope of the distances (pixels/s) over the last VELOCITY_WINDOW_S of samples, or the last two."""
    recent = max(2, int(np.sum(times >= times[-1] - VELOCITY_WINDOW_S - _SAME_TIME_S)))
    return _slope(times[-recent:], distances[-recent:])


def _unclipped_size(sizes: np.ndarray, clipped: np.ndarray) -> float:
    """The object's whole extent along an axis, pixels: the median of the last `_SIZE_SAMPLES` sizes not cut
    by the border (nearest the crossing: objects are occluded or change pose over a longer stretch), the
    largest when every size is cut."""
    whole = sizes[~clipped]
    return float(np.median(whole[-_SIZE_SAMPLES:])) if len(whole) else float(sizes.max())


def _slope(times: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of values over times (units per second); 0 for fewer than two distinct times."""
    if len(times) < 2 or np.ptp(times) <= _SAME_TIME_S:
        return 0.0
    t = times - times.mean()
    return float(np.dot(t, values - values.mean()) / np.dot(t, t))


# --- starts and stops moving --------------------------------------------------------------------------------


def _motion_events(track: ObjectTrack, stretches: list[_Stretch], step: float,
                   jumps: list[TrackEvent]) -> list[TrackEvent]:
    """Starts and stops of horizontal motion within each visible stretch (across an absence, a change of
    place says nothing about when the object moved). In the air the box's sides say little (a leaping body
    stretches, the part hidden behind others changes), so samples inside `jumps` are left out."""
    events = []
    for stretch in stretches:
        grounded = np.ones(len(stretch.times), dtype=bool)
        for jump in jumps:
            grounded &= (stretch.times < jump.start_s) | (stretch.times > jump.end_s)
        times, boxes = stretch.times[grounded], stretch.boxes[grounded]
        if len(times) < 2:
            continue
        centre = (boxes[:, 0] + boxes[:, 2]) / 2
        height = np.maximum(_local_median(times, boxes[:, 3] - boxes[:, 1]), 1.0)
        velocity = _smoothed_speed(times, centre, step) / height  # signed: object heights per second, + rightwards
        speed = np.abs(velocity)
        runs = [(a, b) for a, b in _true_runs(_hysteresis(speed)) if times[b - 1] - times[a] + step >= MOVING_MIN_S]
        moves = _moves(times, centre, runs)
        events += _motion_states(track, times, moves, [float(speed[a:b].max()) for a, b in runs], step)
        events += _direction_states(track, times, moves, velocity)
        for r, (first, last) in enumerate(moves):
            a, b = runs[r]
            fastest = float(speed[a:b].max())
            # Still from where the previous motion ended (or the stretch began) to where this one starts.
            still_before = times[first] - times[moves[r - 1][1] if r else 0]
            still_after = times[moves[r + 1][0] if r + 1 < len(moves) else len(times) - 1] - times[last]
            if still_before >= STILL_MIN_S:
                events.append(_motion_event(track, "starts_moving", times, first, fastest))
            if still_after >= STILL_MIN_S:
                events.append(_motion_event(track, "stops_moving", times, last, fastest))
    return events


def _motion_event(track: ObjectTrack, kind: EventKind, times: np.ndarray, k: int, fastest: float) -> TrackEvent:
    """The event at sample k, spanning the samples either side: the change falls somewhere between them."""
    start, end = times[max(k - 1, 0)], times[min(k + 1, len(times) - 1)]
    change, side = ("rises", "after") if kind == "starts_moving" else ("falls", "before")
    rule = (f"box centre speed across the frame {change} to {fastest:.1f} object heights/s {side} at least "
            f"{STILL_MIN_S:g} s still (moving above {MOVING_SPEED:g}, still below {STILL_SPEED:g} heights/s)")
    evidence = times[max(k - MAX_EVIDENCE // 2, 0):k + MAX_EVIDENCE // 2]
    return _event(track, kind, start, end, 0.5 * fastest / MOVING_SPEED, evidence, rule, size=fastest)


def _motion_states(track: ObjectTrack, times: np.ndarray, moves: list[tuple[int, int]], fastest: list[float],
                   step: float) -> list[TrackEvent]:
    """'moving' for each motion of a stretch's grounded samples (`times`), 'still' for what lies between motions,
    cut where a jump left samples out (a gap longer than a dropout)."""
    events = []
    rule_moving = (f"box centre moves across the frame, at up to {{:.1f}} object heights/s (moving from "
                   f"{MOVING_SPEED:g}, still under {STILL_SPEED:g} heights/s; horizontal, jumps left out)")
    for (first, last), top in zip(moves, fastest):
        if last <= first:  # the fit placed set-off and rest on one sample: no span to show
            continue
        events.append(_event(track, "moving", times[first], times[last], 0.5 * top / MOVING_SPEED,
                             times[first:last + 1], rule_moving.format(top), size=top))
    # Still between motions: from the sample a motion ends at to the one the next begins at.
    bounds = [0, *(k for move in moves for k in move), len(times) - 1]
    gap = max(DROPOUT_MAX_S, 2 * step)
    for a, b in zip(bounds[::2], bounds[1::2]):
        cuts = [a, *(np.flatnonzero(np.diff(times[a:b + 1]) > gap) + a + 1).tolist(), b + 1]
        for lo, hi in zip(cuts, cuts[1:]):
            if hi - lo >= 2 and times[hi - 1] - times[lo] >= STILL_MIN_S:
                events.append(_event(track, "still", times[lo], times[hi - 1], 1.0, times[lo:hi],
                                     f"box centre still for {times[hi - 1] - times[lo]:.1f} s (under "
                                     f"{STILL_SPEED:g} object heights/s across the frame; jumps left out)"))
    return events


def _direction_states(track: ObjectTrack, times: np.ndarray, moves: list[tuple[int, int]],
                      velocity: np.ndarray) -> list[TrackEvent]:
    """'moving_left' / 'moving_right' inside each motion: the runs of samples whose smoothed velocity points that way
    (as the camera sees it), each at least `STATE_MIN_S` long; a turn splits a motion in two."""
    events = []
    for first, last in moves:
        for kind, holds, side in (("moving_left", velocity[first:last + 1] < 0, "left"),
                                  ("moving_right", velocity[first:last + 1] > 0, "right")):
            for a, b in _true_runs(holds):
                lo, hi = first + a, first + b - 1
                if times[hi] - times[lo] >= STATE_MIN_S - _SAME_TIME_S:
                    fastest = float(np.abs(velocity[lo:hi + 1]).max())
                    events.append(_event(track, kind, times[lo], times[hi], 1.0, times[lo:hi + 1],
                                         f"moving, box centre heading {side} at up to {fastest:.1f} object "
                                         "heights/s", size=fastest))
    return events


def _moves(times: np.ndarray, centre: np.ndarray, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first, last) sample index of each motion: where the object sets off and where it comes to rest, placed
    by fitting the centre track around each moving run of the smoothed speed (`runs`, stop exclusive), which
    the smoothing blurs. A stop is a start played backwards."""
    n = len(times)
    moves = []
    for r, (a, b) in enumerate(runs):
        still_from = runs[r - 1][1] if r else 0
        still_to = runs[r + 1][0] if r + 1 < len(runs) else n
        first = _hinge(times, centre, still_from, a, b)
        last = n - 1 - _hinge(-times[::-1], centre[::-1], n - still_to, n - b, n - a)
        moves.append((first, max(first, last)))
    return moves


def _smoothed_speed(times: np.ndarray, values: np.ndarray, step: float) -> np.ndarray:
    """Slope of `values` (pixels) per second at each sample, a line fitted over +-SPEED_WINDOW_S and at least
    two samples each side, so one jittery box moves it little. Window sums come from running totals."""
    half = max(SPEED_WINDOW_S, 2 * step)
    lo = np.searchsorted(times, times - half - _SAME_TIME_S, side="left")
    hi = np.searchsorted(times, times + half + _SAME_TIME_S, side="right")
    t = times - times[0]  # small numbers keep the sums of squares exact enough

    def window_sum(x: np.ndarray) -> np.ndarray:
        total = np.concatenate([[0.0], np.cumsum(x)])
        return total[hi] - total[lo]

    n, st, sx = hi - lo, window_sum(t), window_sum(values)
    covariance = window_sum(t * values) - st * sx / n
    variance = window_sum(t * t) - st * st / n
    return np.where(variance > _SAME_TIME_S, covariance / np.maximum(variance, _SAME_TIME_S), 0.0)


def _hysteresis(speed: np.ndarray) -> np.ndarray:
    """Moving (True) from a speed of at least MOVING_SPEED until one of at most STILL_SPEED, and the reverse;
    speeds in between keep the state before them (the first decided one, at the start)."""
    decided = np.where(speed >= MOVING_SPEED, 1, np.where(speed <= STILL_SPEED, 0, -1))
    known = np.flatnonzero(decided >= 0)
    state = bool(decided[known[0]]) if len(known) else False
    moving = np.zeros(len(speed), dtype=bool)
    for i, d in enumerate(decided):
        state = state if d < 0 else bool(d)
        moving[i] = state
    return moving


def _hinge(times: np.ndarray, centre: np.ndarray, still_from: int, moving_from: int, moving_to: int) -> int:
    """Index of the sample at which a still object starts moving: the best fit of "still, then moving at one
    speed" to the centre (pixels) near `moving_from`, where the smoothed speed crossed (it is blurred by up to
    SPEED_WINDOW_S either way). Samples from `still_from` (still) to `moving_to` (exclusive, moving)."""
    t0 = times[moving_from]
    lo = max(still_from, int(np.searchsorted(times, t0 - STILL_MIN_S)))
    hi = min(moving_to, int(np.searchsorted(times, t0 + STILL_MIN_S, side="right")))
    t, x = times[lo:hi], centre[lo:hi]
    errors = [_fit_error(np.column_stack([np.ones_like(t), np.maximum(0.0, t - times[k])]), x) for k in range(lo, hi)]
    return lo + int(np.argmin(errors)) if errors else moving_from


def _fit_error(design: np.ndarray, values: np.ndarray) -> float:
    """Sum of squared residuals of the least-squares fit of values by the design's columns."""
    coefficients = np.linalg.lstsq(design, values, rcond=None)[0]
    return float(np.sum((design @ coefficients - values) ** 2))


# --- meets --------------------------------------------------------------------------------------------------


def _meet_events(tracks: Sequence[ObjectTrack], clock: np.ndarray,
                 sightings: dict[int, list[BoxPoint]]) -> list[TrackEvent]:
    """One event per contact period of each pair of objects, owned by the lower object id. `sightings`: each
    track's (by `id`) points that count as seeing it."""
    by_id = {t.object_id: t for t in tracks}
    boxes_at = {object_id: _boxes_on_clock(track, clock, sightings[id(track)]) for object_id, track in by_id.items()}
    events = []
    for a, b in combinations(sorted(by_id), 2):
        track = by_id[a]
        tolerance = MEET_GAP * track.frame_size[1]
        gap = _box_gap(boxes_at[a], boxes_at[b])
        seen = np.flatnonzero(~np.isnan(gap))  # samples where both are present
        for i, j in _contact_periods(clock[seen], gap[seen] <= tolerance):
            first, last = seen[i], seen[j]
            # Halfway to the neighbouring samples, seen apart: contact begins and ends between samples.
            start = (clock[first - 1] + clock[first]) / 2 if seen[i - 1] == first - 1 else clock[first]
            end = (clock[last] + clock[last + 1]) / 2 if j + 1 < len(seen) and seen[j + 1] == last + 1 else clock[last]
            closest = float(gap[seen[i:j + 1]].min())
            how = "overlap" if closest < 0 else "touch" if closest == 0 else f"come within {closest:.0f} px"
            rule = (f"boxes {how} (touching: within {MEET_GAP:.0%} of the frame width, {tolerance:.0f} px) "
                    f"after being seen apart")
            score = 1.0 - 0.5 * max(0.0, closest) / max(tolerance, 1e-9)
            events.append(_event(track, "meets", start, end, score, clock[seen[i:j + 1]], rule, other=b))
    return events


# --- states: near, and the sides of the frame --------------------------------------------------------------


def _state_spans(clock: np.ndarray, holds: np.ndarray, bridge_s: float) -> list[tuple[int, int]]:
    """(first, last) clock indices, inclusive, of the runs where `holds`, joined across breaks shorter than
    `bridge_s` seconds, each at least `STATE_MIN_S` long."""
    spans: list[list[int]] = []
    for a, b in _true_runs(holds):
        if spans and clock[a] - clock[spans[-1][1]] < bridge_s:
            spans[-1][1] = b - 1
        else:
            spans.append([a, b - 1])
    return [(a, b) for a, b in spans if clock[b] - clock[a] >= STATE_MIN_S - _SAME_TIME_S]


def _visible_states(track: ObjectTrack, stretches: list[_Stretch]) -> list[TrackEvent]:
    """'visible' spans: the track's visible stretches of sightings, each at least `STATE_MIN_S` long."""
    rule = f"the object's mask in the frame (absences up to {DROPOUT_MAX_S:g} s bridged, specks left out)"
    return [_event(track, "visible", s.times[0], s.times[-1], 1.0, s.times, rule) for s in stretches
            if s.times[-1] - s.times[0] >= STATE_MIN_S - _SAME_TIME_S]


def _side_states(track: ObjectTrack, clock: np.ndarray, step: float, points: Sequence[BoxPoint]) -> list[TrackEvent]:
    """'on_left' / 'on_right' spans: the box centre in the outer `SIDE_SHARE` of the frame's width."""
    width = track.frame_size[1]
    boxes = _boxes_on_clock(track, clock, points)
    with np.errstate(invalid="ignore"):
        share = (boxes[:, 0] + boxes[:, 2]) / 2 / width
    events = []
    for kind, holds, side in (("on_left", share < SIDE_SHARE, "left"), ("on_right", share > 1 - SIDE_SHARE, "right")):
        rule = f"box centre in the {side} {SIDE_SHARE:.0%} of the frame's width"
        for first, last in _state_spans(clock, holds, max(DROPOUT_MAX_S, 1.5 * step)):
            seen = np.flatnonzero(holds[first:last + 1]) + first
            events.append(_event(track, kind, clock[first], clock[last], 1.0, clock[seen], rule))
    return events


def _near_states(tracks: Sequence[ObjectTrack], clock: np.ndarray, step: float,
                 sightings: dict[int, list[BoxPoint]]) -> list[TrackEvent]:
    """'near' spans of each pair of objects, owned by the lower object id: boxes within `NEAR_SIZES` times the
    smaller object's size of each other."""
    by_id = {t.object_id: t for t in tracks}
    boxes_at = {object_id: _boxes_on_clock(track, clock, sightings[id(track)]) for object_id, track in by_id.items()}
    events = []
    for a, b in combinations(sorted(by_id), 2):
        gap = _box_gap(boxes_at[a], boxes_at[b])
        holds = boxes_near(boxes_at[a], boxes_at[b])
        for first, last in _state_spans(clock, holds, MEET_APART_MIN_S):
            seen = np.flatnonzero(holds[first:last + 1]) + first
            closest = float(np.nanmin(gap[seen]))
            how = "overlap" if closest < 0 else "touch" if closest == 0 else f"come within {closest:.0f} px"
            rule = f"boxes within {NEAR_SIZES:g} x the smaller object's size of each other (closest: they {how})"
            events.append(_event(by_id[a], "near", clock[first], clock[last], 1.0, clock[seen], rule, other=b))
    return events


def nearest_edge(box: Sequence[float], frame_size: tuple[int, int]) -> str:
    """'left', 'right', 'top' or 'bottom': the frame edge a box (x0, y0, x1, y1 pixels) is closest to, in a frame of
    (height, width); where a thing comes in or goes out."""
    height, width = frame_size
    x0, y0, x1, y1 = box
    gaps = {"left": x0, "right": width - x1, "top": y0, "bottom": height - y1}
    return min(gaps, key=lambda side: gaps[side])


def touches_border(box: Sequence[float], frame_size: tuple[int, int]) -> bool:
    """Whether a box (x0, y0, x1, y1, pixels) lies within `EDGE_PX` of any edge of a frame of `frame_size` (h, w)."""
    h, w = frame_size
    return box[0] <= EDGE_PX or box[1] <= EDGE_PX or box[2] >= w - EDGE_PX or box[3] >= h - EDGE_PX


def boxes_near(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row of two (n, 4) box arrays (pixels): within `NEAR_SIZES` times the smaller box's size (its larger side)
    of each other; False where either is absent (nan). The definition of 'near', for the rule and its scorers."""
    size = np.minimum(np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]),
                      np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))
    with np.errstate(invalid="ignore"):
        return _box_gap(a, b) <= NEAR_SIZES * size


def _boxes_on_clock(track: ObjectTrack, clock: np.ndarray, points: Sequence[BoxPoint]) -> np.ndarray:
    """(len(clock), 4) boxes in pixels of `points` (the track's), nan where the object is absent."""
    out = np.full((len(clock), 4), np.nan)
    indices, boxes, _ = _frame_indices(track, clock, points)
    out[indices] = boxes
    return out


def _box_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels between two boxes at each sample (<= 0 when they touch or overlap); nan where either is absent."""
    dx = np.maximum(a[:, 0] - b[:, 2], b[:, 0] - a[:, 2])
    dy = np.maximum(a[:, 1] - b[:, 3], b[:, 1] - a[:, 3])
    return np.maximum(dx, dy)


def _contact_periods(times: np.ndarray, touching: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices, inclusive, of the contact periods among samples at `times` (seconds): runs of
    touching samples, joined across breaks shorter than MEET_APART_MIN_S, each after the pair was seen apart
    (a pair touching when first seen together did not meet in view)."""
    periods: list[list[int]] = []
    for a, b in _true_runs(touching):
        # periods[-1][1] is the first apart sample after the previous run.
        if periods and times[a] - times[periods[-1][1]] < MEET_APART_MIN_S:
            periods[-1][1] = b
        else:
            periods.append([a, b])
    return [(a, b - 1) for a, b in periods if a > 0]


def box_point(time_s: float, box: tuple[float, float, float, float], score: float, mask: np.ndarray | None,
              area: float, colour: Sequence[float] | None = None) -> BoxPoint:
    """The sample the rules read, from a track point: where its mask is known, the box of the mask without its specks
    (a speck stretches the stored box, `tools/mask_parts.py`), the bottom of its highest part and its area; else the
    stored box alone, a sighting whatever its size. `colour`: the mask's mean colour in Lab, where measured."""
    outline = mask_outline(mask) if mask is not None else None
    return BoxPoint(time_s=time_s, box=box if outline is None else outline.box, score=score,
                    part_bottom=None if outline is None else outline.part_bottom,
                    area=float(area) if mask is not None else None,
                    colour=tuple(float(c) for c in colour) if colour is not None else None)


def masklet_events(masklet: Masklet, frame_times: Sequence[float] | None = None) -> list[TrackEvent]:
    """The events of one object tracked at query time (object id 0): the same rules as the stored tracks get,
    so a chunk verified with the model is localized as indexing would have localized it. `frame_times`:
    every frame the track was made on (default: the masklet's own points, present or not)."""
    points = [box_point(p.time_s, p.box, p.score, p.mask.decode() if p.mask is not None else None, p.area, p.colour)
              for p in masklet.points if p.present and p.box is not None]
    sized = next((p.mask.size for p in masklet.points if p.present and p.mask is not None), None)
    if not points or sized is None:
        return []
    track = ObjectTrack(object_id=0, frame_size=(int(sized[0]), int(sized[1])), points=points)
    times = list(frame_times) if frame_times is not None else [p.time_s for p in masklet.points]
    return detect_events([track], times)
