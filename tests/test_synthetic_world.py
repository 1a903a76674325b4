"""The synthetic world of issue #7: determinism, ground truth consistent with the pixels, events with the
motion, language true of the world, and a real mp4 that decodes back to the world's colours."""

from __future__ import annotations

import functools
import re

import cv2
import numpy as np
import pytest

from sa2va_engine.masklet import mask_box
from sa2va_engine.prompts import PHRASE_END, PHRASE_START, SEG_TOKEN
from sa2va_engine.synthetic.language import (
    caption,
    corpus,
    grounded_caption,
    referring_expressions,
    yes_no_questions,
)
from sa2va_engine.synthetic.world import (
    BACKGROUND_TONES,
    COLOURS,
    KINDS,
    OBJECT_RGB,
    World,
    WorldConfig,
    generate_world,
)
from tools.synthetic_video import read_ground_truth, write_ground_truth, write_world_video
from tools.video_decode import decode_frames
from tools.video_prober import probe_video

SEEDS = range(40)


@functools.cache
def world(seed: int) -> World:
    return generate_world(seed)


def _frames_in(w: World, start_s: float, end_s: float) -> list[int]:
    return [i for i in range(w.n_frames) if start_s < w.time_s(i) < end_s]


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_the_same_world_and_other_seeds_differ() -> None:
    a, b = generate_world(11), generate_world(11)
    assert a.model_dump() == b.model_dump()
    for i in range(a.n_frames):
        assert np.array_equal(a.frame(i), b.frame(i))
        masks_a, masks_b = a.masks(i), b.masks(i)
        assert masks_a.keys() == masks_b.keys()
        assert all(np.array_equal(masks_a[k], masks_b[k]) for k in masks_a)
    assert a.events == b.events
    others = [generate_world(seed) for seed in (12, 13, 14)]
    assert all(not np.array_equal(a.frame(0), o.frame(0)) for o in others)
    assert len({o.model_dump_json() for o in others + [a]}) == 4


def test_config_sets_size_rate_and_length() -> None:
    w = generate_world(3, WorldConfig(width=96, height=64, fps=2.0, duration_s=5.0))
    assert w.n_frames == 10 and w.frame_times[-1] == pytest.approx(4.5)
    assert w.frame(9).shape == (64, 96, 3) and w.frame(9).dtype == np.uint8
    assert all(m.shape == (64, 96) and m.dtype == bool for m in w.masks(0).values())
    with pytest.raises(ValueError, match="even"):
        WorldConfig(width=161)
    with pytest.raises(IndexError):
        w.frame(10)


# --- ground truth against pixels ---------------------------------------------------------------------


def test_boxes_are_tight_around_visible_masks_and_pixels_have_the_object_colour() -> None:
    for seed in range(12):
        w = world(seed)
        for i in range(0, w.n_frames, 3):
            image, masks, truth = w.frame(i), w.masks(i), w.truth(i)
            assert truth.time_s == pytest.approx(i / w.config.fps)
            for state in truth.objects:
                mask = masks[state.object_id]
                assert state.box == mask_box(mask)
                assert state.visible == bool(mask.any()) == (state.box is not None)
                assert state.area_px == int(mask.sum())
                if state.visible:
                    colour = OBJECT_RGB[w.object(state.object_id).colour]
                    assert (image[mask] == colour).all()


def test_object_colours_stand_out_from_every_background_tone() -> None:
    for tone in BACKGROUND_TONES.values():
        for rgb in OBJECT_RGB.values():
            assert np.linalg.norm(np.subtract(tone, rgb, dtype=float)) > 60


def test_kinds_have_their_shapes() -> None:
    fill = {"ball": [], "box": [], "dog": []}
    for seed in SEEDS:
        w = world(seed)
        for obj in w.objects:
            for i in range(w.n_frames):
                amodal, visible = w.amodal_masks(i)[obj.object_id], w.masks(i)[obj.object_id]
                box = mask_box(visible)
                # Wholly in view, away from the border: the shape's own fill of its box.
                if box and np.array_equal(amodal, visible) and box[0] > 0 and box[2] < w.config.width:
                    fill[obj.kind].append(visible.sum() / ((box[2] - box[0]) * (box[3] - box[1])))
                    break
    assert all(fill.values()), {k: len(v) for k, v in fill.items()}
    assert 0.7 < min(fill["ball"]) and max(fill["ball"]) < 0.88  # pi/4 of the square
    assert min(fill["box"]) > 0.95
    assert max(fill["dog"]) < 0.7  # legs, tail, ear: much of the box is background


def test_the_pillar_hides_what_is_behind_it() -> None:
    checked = 0
    for seed in SEEDS:
        w = world(seed)
        if w.occluder is None:
            continue
        for i in range(w.n_frames):
            pillar, amodal, visible = w.occluder_mask(i), w.amodal_masks(i), w.masks(i)
            image = w.frame(i)
            for object_id, shape in amodal.items():
                hidden = shape & pillar
                if hidden.sum() >= 10:
                    assert not (visible[object_id] & pillar).any()
                    assert visible[object_id].sum() < shape.sum()
                    colour = OBJECT_RGB[w.object(object_id).colour]
                    assert not (image[hidden] == colour).all(axis=1).any()
                    checked += 1
    assert checked >= 5


def test_an_object_in_front_hides_the_one_behind() -> None:
    checked = 0
    for seed in SEEDS:
        w = world(seed)
        order = w.depth_order()
        for i in range(w.n_frames):
            amodal, visible = w.amodal_masks(i), w.masks(i)
            for back_rank, back in enumerate(order):
                for front in order[back_rank + 1:]:
                    overlap = amodal[back] & amodal[front]
                    if overlap.sum() < 5:
                        continue
                    assert not (visible[back] & overlap).any()  # the back object loses those pixels
                    covered_by_pillar = w.occluder_mask(i)
                    assert (visible[front] | covered_by_pillar | _in_front_of(w, front, amodal))[overlap].all()
                    checked += 1
    assert checked >= 5


def _in_front_of(w: World, object_id: int, amodal: dict[int, np.ndarray]) -> np.ndarray:
    order = w.depth_order()
    out = np.zeros_like(amodal[object_id])
    for other in order[order.index(object_id) + 1:]:
        out |= amodal[other]
    return out


# --- events -----------------------------------------------------------------------------------------


def test_most_worlds_have_a_jump_and_some_objects_never_jump() -> None:
    with_jump = sum(any(e.kind == "jump" for e in world(s).events) for s in SEEDS)
    assert with_jump >= 0.65 * len(SEEDS)
    never = [o for s in SEEDS for o in world(s).objects if not world(s).events_of(o.object_id, "jump")]
    assert len(never) >= 10
    for s in SEEDS:
        w = world(s)
        for e in w.events:
            if e.kind == "jump":
                assert 1.0 <= e.end_s - e.start_s <= 2.0 + 1e-6
                hop = next(h for h in w.object(e.object_id).path.hops if h.start_s == e.start_s)
                assert hop.apex_px >= 0.3 * w.config.height - 1e-6


def test_a_jump_is_a_rise_and_fall_of_the_box_in_its_time_range() -> None:
    checked = 0
    for seed in SEEDS:
        w = world(seed)
        for obj in w.objects:
            jumps = w.events_of(obj.object_id, "jump")
            if not jumps:
                continue
            bottoms = {i: w.truth(i).objects[obj.object_id].amodal_box for i in range(w.n_frames)}
            # A ball cut by the frame's side shows only part of its round bottom: leave those frames out.
            whole = [i for i, b in bottoms.items() if b is not None and b[0] > 0 and b[2] < w.config.width]
            grounded = [bottoms[i][3] for i in whole if not any(e.start_s <= w.time_s(i) <= e.end_s for e in jumps)]
            assert max(grounded) - min(grounded) <= 1  # on its ground line whenever it is not hopping
            ground = max(grounded)
            for e in jumps:
                inside = _frames_in(w, e.start_s, e.end_s)
                assert len(inside) >= 3  # visible at 4 fps
                lifts = [ground - bottoms[i][3] for i in inside]
                assert all(lift >= 0 for lift in lifts)
                margin = 0.1 * (e.end_s - e.start_s)  # just after take-off the hop is under a pixel high
                hops = zip(inside, lifts, strict=True)
                airborne = [lift for i, lift in hops if e.start_s + margin < w.time_s(i) < e.end_s - margin]
                assert all(lift > 0 for lift in airborne)
                assert max(lifts) >= 0.25 * w.config.height
                top = int(np.argmax(lifts))  # rises to one apex, then falls
                assert all(np.diff(lifts[: top + 1]) >= -1) and all(np.diff(lifts[top:]) <= 1)
                checked += 1
    assert checked >= 20


def test_objects_that_leave_have_no_mask_while_away_and_enter_again() -> None:
    checked = 0
    for seed in SEEDS:
        w = world(seed)
        for obj in w.objects:
            for leave in w.events_of(obj.object_id, "leaves"):
                enters = [e for e in w.events_of(obj.object_id, "enters") if e.start_s >= leave.end_s]
                assert enters, f"seed {seed}: object {obj.object_id} left and never came back"
                back = enters[0]
                away = _frames_in(w, leave.end_s, back.start_s)
                assert away
                for i in away:
                    state = w.truth(i).objects[obj.object_id]
                    assert not state.visible and state.box is None and state.amodal_box is None
                    assert not w.masks(i)[obj.object_id].any()
                before = [i for i in range(w.n_frames) if w.time_s(i) < leave.start_s]
                after = [i for i in range(w.n_frames) if w.time_s(i) > back.end_s]
                assert before and after
                assert w.truth(before[-1]).objects[obj.object_id].amodal_box is not None
                assert w.truth(after[0]).objects[obj.object_id].amodal_box is not None
                checked += 1
    assert checked >= 3


# --- language ---------------------------------------------------------------------------------------


@functools.cache
def _box_centres(seed: int) -> dict[int, list[float]]:
    """Each object's visible box centre x (pixels) on every frame where it is seen."""
    w = world(seed)
    centres: dict[int, list[float]] = {o.object_id: [] for o in w.objects}
    for i in range(w.n_frames):
        for state in w.truth(i).objects:
            if state.box is not None:
                centres[state.object_id].append((state.box[0] + state.box[2]) / 2)
    return centres


def _referents(w: World, expression: str) -> list[int]:
    """Which objects an expression fits, read off the words and the world (independently of the templates)."""
    words = expression.split()
    colour = next((x for x in words if x in COLOURS), None)
    kind = next((x for x in words if x in KINDS), None)
    found = []
    for obj in w.objects:
        jumps = bool(w.events_of(obj.object_id, "jump"))
        centres = _box_centres(w.seed)[obj.object_id]
        checks = [
            colour is None or obj.colour == colour,
            kind is None or obj.kind == kind,
            "that jumps" not in expression or jumps,
            "does not jump" not in expression or not jumps,
            "leaves" not in expression or bool(w.events_of(obj.object_id, "leaves")),
            "on the left" not in expression or max(centres) < w.config.width / 2,
            "on the right" not in expression or min(centres) > w.config.width / 2,
        ]
        if all(checks):
            found.append(obj.object_id)
    return found


def test_every_referring_expression_fits_exactly_one_object() -> None:
    count = 0
    for seed in SEEDS:
        w = world(seed)
        for obj in w.objects:
            expressions = referring_expressions(w, obj.object_id)
            assert expressions[0] == f"the {obj.colour} {obj.kind}"
            for expression in expressions:
                assert _referents(w, expression) == [obj.object_id], (seed, expression)
                count += 1
    assert count >= 100
    assert referring_expressions(world(17), 0) != referring_expressions(world(17), 1)


def test_captions_and_grounded_captions_name_the_visible_objects() -> None:
    for seed in range(15):
        w = world(seed)
        for start, end in ((0.0, w.config.duration_s), (2.0, 4.5)):
            text, ids = grounded_caption(w, start, end)
            assert text.count(SEG_TOKEN) == len(ids)
            markup = rf"{re.escape(PHRASE_START)}(.*?){re.escape(PHRASE_END)} {re.escape(SEG_TOKEN)}"
            phrases = re.findall(markup, text)
            assert phrases == [f"the {w.object(i).name}" for i in ids]
            shown = _frames_in(w, start - 1e-6, end - 1e-6)  # [start, end)
            visible = sorted({k for i in shown for k, m in w.masks(i).items() if m.any()})
            assert ids == visible
            plain = caption(w, start, end)
            assert all(f"a {w.object(i).name}" in plain for i in ids)
            assert caption(w, start, end) == plain  # deterministic
            jumpers = [i for i in ids if any(e.in_window(start, end) for e in w.events_of(i, "jump"))]
            assert ("jumps" in plain) == bool(jumpers)


def test_yes_no_answers_agree_with_the_events_and_are_balanced() -> None:
    asked_jumps = 0
    for seed in range(20):
        w = world(seed)
        for start, end in ((0.0, 8.0), (1.0, 3.0), (4.0, 6.5)):
            questions = yes_no_questions(w, start, end)
            assert questions == yes_no_questions(w, start, end)
            answers = [a for _, a in questions]
            assert answers.count(True) == answers.count(False)
            for question, answer in questions:
                match = re.fullmatch(r"Does the (\w+) (\w+) jump\?", question)
                if match:
                    obj = next(o for o in w.objects if (o.colour, o.kind) == match.groups())
                    # At least half of some jump inside the window.
                    expected = any(min(e.end_s, end) - max(e.start_s, start) >= (e.end_s - e.start_s) / 2
                                   for e in w.events_of(obj.object_id, "jump"))
                    assert answer == expected, (seed, start, end, question)
                    asked_jumps += 1
                match = re.fullmatch(r"Is there a (\w+) (\w+)\?", question)
                if match:
                    present = [o for o in w.objects if (o.colour, o.kind) == match.groups()]
                    seen = any(w.masks(i)[o.object_id].any() for o in present for i in w.frame_indices(start, end))
                    assert answer == seen, (seed, question)
    assert asked_jumps >= 20


def test_corpus_covers_the_templates_and_is_deterministic() -> None:
    lines = corpus(4, seed=5)
    assert lines == corpus(4, seed=5) and lines != corpus(4, seed=6)
    text = "\n".join(lines)
    needles = (SEG_TOKEN, PHRASE_START, "Please segment the", "find every moment the", " Yes.", " No.", "background")
    for needle in needles:
        assert needle in text


# --- files ------------------------------------------------------------------------------------------


def test_world_video_and_ground_truth_files(tmp_path) -> None:
    w = next(world(s) for s in SEEDS if len(world(s).objects) >= 2 and world(s).occluder is not None)
    video = write_world_video(w, tmp_path / "world.mp4")
    probe = probe_video(video, count_frames=True)
    assert probe.codec == "h264"
    assert (probe.width, probe.height) == (w.config.width, w.config.height)
    assert probe.frame_count == round(w.config.duration_s * w.config.fps) == w.n_frames
    assert probe.duration_s == pytest.approx(w.config.duration_s, abs=0.3)

    frames = list(decode_frames(video, sample_fps=w.config.fps, max_side=max(w.config.width, w.config.height)))
    assert [f.time_s for f in frames] == pytest.approx(w.frame_times, abs=1e-3)
    checked = 0
    for frame in frames:
        for object_id, mask in w.masks(frame.index).items():
            # The inside of the mask: chroma is subsampled 2x2 and edges blur under compression.
            core = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            if core.sum() < 4:
                continue
            mean = frame.image[core].astype(float).mean(axis=0)
            assert np.abs(mean - OBJECT_RGB[w.object(object_id).colour]).max() < 30
            checked += 1
    assert checked >= w.n_frames

    truth = read_ground_truth(write_ground_truth(w, tmp_path / "world.json"))
    assert truth.events == w.events and [o.object_id for o in truth.objects] == [o.object_id for o in w.objects]
    assert truth.frame_times_s == w.frame_times
    for track in truth.tracks:
        assert track.masklet.expression == f"the {w.object(track.object_id).name}"
        assert len(track.masklet.points) == w.n_frames
        for i in (0, w.n_frames // 2, w.n_frames - 1):
            point, mask = track.masklet.points[i], w.masks(i)[track.object_id]
            assert point.present == bool(mask.any()) and point.box == mask_box(mask)
            if point.present:
                assert np.array_equal(point.mask.decode(), mask)
    assert np.array_equal(truth.world().frame(5), w.frame(5))
