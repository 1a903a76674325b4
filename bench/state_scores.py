"""The states (visible, moving and which way, still, near, on the left / right) asked of every object of the bench's worlds and scored by time
against the worlds' truth: part of `python -m bench.every_moment`.

For each object, "when is the <name> moving" (still, on the left, on the right, visible), and for each pair of objects of a
world "when is the <a> near the <b>", through `run_query` as `sva query` runs it. Scored at the worlds' frame times
(4 fps) where the object is visible in the truth (its ground-truth mask has pixels; both objects for near): a frame is
said when a returned moment of its video spans it. Truth: moving where the world's path moves the centre sideways
(|dx/dt| > 0), still elsewhere, moving left / right by the sign of dx/dt; on the left / right where the path's centre is in the outer `SIDE_SHARE` of the width;
near where the ground-truth boxes are within `NEAR_SIZES` times the smaller one's size (the rule's own definitions,
tools/track_events.py, on the true boxes). Visible is scored at every frame, seen or not: truth where the
ground-truth mask has pixels. Frames within one sample of a change of the truth are not scored: a state's
ends fall between samples. Precision = said and true / said; recall = said and true / true, summed over all questions.
"""

from __future__ import annotations

import time
from itertools import combinations
from pathlib import Path

import numpy as np

STATES = ("moving", "still", "on_left", "on_right", "near", "visible", "moving_left", "moving_right")
QUESTIONS = {
    "moving": "when is the {name} moving",
    "still": "when is the {name} still",
    "on_left": "when is the {name} on the left",
    "on_right": "when is the {name} on the right",
    "near": "when is the {name} near the {other}",
    "visible": "when is the {name} visible",
    "moving_left": "when does the {name} move left",
    "moving_right": "when does the {name} move right",
}


def said_frames(moments, video: Path | str, times: np.ndarray) -> np.ndarray:
    """Which of `times` a returned moment of `video` spans."""
    said = np.zeros(len(times), dtype=bool)
    for m in moments:
        if m.video_path == str(video):
            said |= (times >= m.start_s - 1e-6) & (times <= m.end_s + 1e-6)
    return said


def _settled(truth: np.ndarray) -> np.ndarray:
    """Frames at least one sample away from every change of `truth`."""
    change = np.flatnonzero(np.diff(truth.astype(int)) != 0)
    keep = np.ones(len(truth), dtype=bool)
    for i in change:
        keep[max(i - 1, 0):i + 3] = False  # the frames either side of the change and one more each way
    return keep


def _boxes(masklet, n: int) -> np.ndarray:
    out = np.full((n, 4), np.nan)
    for i, p in enumerate(masklet.points[:n]):
        if p.present and p.box is not None:
            out[i] = p.box
    return out


def world_truth(world) -> tuple[np.ndarray, dict, dict]:
    """(frame times, {(object_id, state): (truth, scored)}, {(a, b): (truth, scored)}) for one world."""
    from tools.track_events import SIDE_SHARE, boxes_near

    times = np.asarray(world.frame_times, dtype=float)
    n = len(times)
    masklets = world.masklets()
    boxes = {oid: _boxes(m, n) for oid, m in masklets.items()}
    per_object = {}
    for obj in world.objects:
        seen = ~np.isnan(boxes[obj.object_id][:, 0])
        dx = obj.path.x_at(times + 0.05) - obj.path.x_at(times - 0.05)
        moving = np.abs(dx) > 1e-6
        share = obj.path.x_at(times) / world.config.width
        for state, truth in (("moving", moving), ("still", ~moving), ("on_left", share < SIDE_SHARE),
                             ("on_right", share > 1 - SIDE_SHARE), ("moving_left", moving & (dx < 0)),
                             ("moving_right", moving & (dx > 0))):
            per_object[(obj.object_id, state)] = (truth & seen, seen & _settled(truth))
        per_object[(obj.object_id, "visible")] = (seen, _settled(seen))
    pairs = {}
    for a, b in combinations(sorted(boxes), 2):
        both = ~np.isnan(boxes[a][:, 0]) & ~np.isnan(boxes[b][:, 0])
        truth = both & boxes_near(boxes[a], boxes[b])
        pairs[(a, b)] = (truth, both & _settled(truth))
    return times, per_object, pairs


def ask_states(worlds, videos, db: Path, log) -> dict:
    """state -> {questions, true_s, said_s, both_s, precision, recall} over every world (module docstring)."""
    from agent.query.query_graph import run_query
    from agent.run_settings import query_settings

    counts = {s: {"questions": 0, "true": 0, "said": 0, "both": 0, "not_from_events": 0} for s in STATES}
    for world, video in zip(worlds, videos):
        times, per_object, pairs = world_truth(world)
        names = {o.object_id: o.name for o in world.objects}
        asks = [(QUESTIONS[state].format(name=names[oid]), state, truth, scored)
                for (oid, state), (truth, scored) in per_object.items()]
        asks += [(QUESTIONS["near"].format(name=names[a], other=names[b]), "near", truth, scored)
                 for (a, b), (truth, scored) in pairs.items()]
        for question, state, truth, scored in asks:
            start = time.monotonic()
            answer = run_query(f"{question} in {video.name}", query_settings(db))
            said = said_frames(answer.moments, video, times)
            c = counts[state]
            c["questions"] += 1
            c["not_from_events"] += answer.route != "events"
            c["true"] += int((truth & scored).sum())
            c["said"] += int((said & scored).sum())
            c["both"] += int((said & truth & scored).sum())
            log(f"  {video.name} {question}: route {answer.route}, {len(answer.moments)} moments, true "
                f"{int((truth & scored).sum())} said {int((said & scored).sum())} both "
                f"{int((said & truth & scored).sum())} frames ({time.monotonic() - start:.1f} s)")
    step = 1 / worlds[0].config.fps if worlds else 0.25
    out = {}
    for state, c in counts.items():
        out[state] = {"questions": c["questions"], "not_from_events": c["not_from_events"],
                      "true_s": c["true"] * step, "said_s": c["said"] * step, "both_s": c["both"] * step,
                      "precision": c["both"] / c["said"] if c["said"] else None,
                      "recall": c["both"] / c["true"] if c["true"] else None}
    return out


def print_states(states: dict) -> None:
    def fmt(x):
        return "-" if x is None else f"{x:.3f}"

    print("states, scored by time at the frames where the truth is settled (bench/state_scores.py):")
    print()
    print("| state | questions | true s | said s | both s | precision | recall | not from events |")
    print("|---|---|---|---|---|---|---|---|")
    for state, r in states.items():
        print(f"| {state} | {r['questions']} | {r['true_s']:.0f} | {r['said_s']:.0f} | {r['both_s']:.0f} | "
              f"{fmt(r['precision'])} | {fmt(r['recall'])} | {r['not_from_events']} |")
    print()
