"""Templated language about a synthetic world: referring expressions, captions, grounded captions with
``<p>..</p> [SEG]``, yes/no questions, and a text corpus for a small tokenizer.

Why templates: the project trains its own tiny Sa2VA on generated worlds (``world.py``), and every
sentence it learns from must be true of the pixels. Each sentence here is built from the world's ground
truth, so its truth is exact, and it is a function of the world and the window alone (deterministic per
seed), so training data and grading agree run after run.

Rules the sentences follow:
- An object is named by colour and kind ("the red ball"); that pair is unique within a world.
- An object is *in* a window ``[start_s, end_s)`` (seconds) when its visible mask is non-empty on at least
  one frame shown in the window (a fully hidden or departed object is not mentioned).
- An event happens in a window when at least half of it lies inside (``Event.in_window``).
- A referring expression is offered only when exactly one object of the world fits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sa2va_engine.prompts import (
    FORCED_ANSWER,
    GROUNDED_CAPTION,
    PHRASE_END,
    PHRASE_START,
    REGION_CAPTION,
    SEG_TOKEN,
    referring_prompt,
)
from sa2va_engine.synthetic.world import World, WorldConfig, WorldObject, generate_world

# A horizontal path shorter than this fraction of the frame width reads as standing still.
_STILL_FRACTION = 0.08
# Net displacement / path length above which a movement has one direction (else "back and forth").
_DIRECTED_FRACTION = 0.6
_BACKGROUND_PHRASES = {
    "vertical_gradient": "a gradient background",
    "horizontal_gradient": "a gradient background",
    "stripes": "a striped background",
    "checker": "a checkered background",
}


@dataclass(frozen=True)
class _Facts:
    """What the whole video says about one object, for referring expressions."""

    kind: str
    colour: str
    jumps: bool
    leaves: bool
    side: Literal["left", "right"] | None  # the half of the frame it never leaves while in view


def _facts(world: World) -> dict[int, _Facts]:
    width = world.config.width
    facts = {}
    for obj in world.objects:
        xs = np.array([world.centre_x(obj.object_id, t) for t in world.frame_times])
        in_view = xs[(xs + obj.width_px / 2 >= 0) & (xs - obj.width_px / 2 <= width - 1)]
        side: Literal["left", "right"] | None = None
        if len(in_view) and in_view.max() < 0.45 * width:
            side = "left"
        elif len(in_view) and in_view.min() > 0.55 * width:
            side = "right"
        facts[obj.object_id] = _Facts(
            kind=obj.kind, colour=obj.colour,
            jumps=bool(world.events_of(obj.object_id, "jump")),
            leaves=bool(world.events_of(obj.object_id, "leaves")),
            side=side,
        )
    return facts


def object_phrase(obj: WorldObject) -> str:
    """The definite name of an object, e.g. 'the red ball'."""
    return f"the {obj.name}"


def referring_expressions(world: World, object_id: int, appearance_only: bool = False) -> list[str]:
    """Expressions that pick out ``object_id`` and no other object of the world, most specific first.
    ``appearance_only`` keeps those one frame can answer (colour and kind, not motion or place)."""
    facts = _facts(world)
    me = facts[object_id]
    others_of_kind = [f for i, f in facts.items() if i != object_id and f.kind == me.kind]
    candidates = [
        (f"the {me.colour} {me.kind}", lambda f: f.colour == me.colour and f.kind == me.kind),
        (f"the {me.kind}", lambda f: f.kind == me.kind),
        (f"the {me.colour} object", lambda f: f.colour == me.colour),
    ]
    if not appearance_only:
        candidates += _motion_and_place(me, others_of_kind)
    expressions = []
    for text, fits in candidates:
        matching = [i for i, f in facts.items() if fits(f)]
        if matching == [object_id] and text not in expressions:
            expressions.append(text)
    return expressions


def _motion_and_place(me, others_of_kind) -> list:
    """(expression, fits) candidates that need more than one frame to answer: motion and place."""
    candidates = []
    if me.jumps:
        candidates.append((f"the {me.kind} that jumps", lambda f: f.kind == me.kind and f.jumps))
        candidates.append(("the object that jumps", lambda f: f.jumps))
    elif any(f.jumps for f in others_of_kind):  # "does not jump" only says something beside a jumper
        candidates.append((f"the {me.kind} that does not jump", lambda f: f.kind == me.kind and not f.jumps))
    if me.leaves:
        candidates.append((f"the {me.kind} that leaves and comes back", lambda f: f.kind == me.kind and f.leaves))
    # "on the left" only where another object of the kind stays on the other side the whole time.
    if me.side is not None and others_of_kind and all(f.side not in (None, me.side) for f in others_of_kind):
        candidates.append((f"the {me.kind} on the {me.side}", lambda f: f.kind == me.kind and f.side == me.side))
    return candidates


def absent_names(world: World) -> list[str]:
    """Every "colour kind" the world's config allows that no object of this world is, in config order."""
    names = {o.name for o in world.objects}
    return [f"{c} {k}" for c in world.config.colours for k in world.config.kinds if f"{c} {k}" not in names]


def visible_objects(world: World, start_s: float, end_s: float) -> list[int]:
    """Ids (in id order) of the objects seen on at least one frame in ``[start_s, end_s)`` seconds."""
    seen: set[int] = set()
    for i in world.frame_indices(start_s, end_s):
        seen |= world.visible_ids(i)
    return sorted(seen)


def actions(world: World, object_id: int, start_s: float, end_s: float) -> list[str]:
    """Verb phrases for what the object does in ``[start_s, end_s]`` seconds, e.g. ['moves right', 'jumps']."""
    obj = world.object(object_id)
    verbs = []
    if any(e.in_window(start_s, end_s) for e in world.events_of(object_id, "leaves")):
        verbs.append("leaves the scene")
    if any(e.in_window(start_s, end_s) for e in world.events_of(object_id, "enters")):
        verbs.append("comes back")
    if not verbs:
        xs = obj.path.x_at(np.linspace(start_s, end_s, 41))
        travelled = float(np.abs(np.diff(xs)).sum())
        net = float(xs[-1] - xs[0])
        if travelled >= _STILL_FRACTION * world.config.width:
            if abs(net) >= _DIRECTED_FRACTION * travelled:
                verbs.append("moves right" if net > 0 else "moves left")
            else:
                verbs.append("moves back and forth")
    jumps = sum(e.in_window(start_s, end_s) for e in world.events_of(object_id, "jump"))
    if jumps:
        verbs.append("jumps" if jumps == 1 else "jumps twice" if jumps == 2 else f"jumps {jumps} times")
    return verbs or ["stays still"]


def _setting(world: World) -> str:
    bg = world.background
    if bg.kind == "plain":
        where = f"a plain {bg.tone} background"
    elif bg.kind == "noise":
        where = f"a grainy {bg.tone} background"
    else:
        where = _BACKGROUND_PHRASES[bg.kind]
    return f"on {where}" + (" with a grey pillar" if world.occluder is not None else "")


def _join(clauses: list[str]) -> str:
    return clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]


def caption(world: World, start_s: float, end_s: float) -> str:
    """One sentence about ``[start_s, end_s)`` seconds, e.g. 'a red ball jumps and a blue box moves right
    on a striped background'."""
    seen = visible_objects(world, start_s, end_s)
    if not seen:
        return f"an empty scene {_setting(world)}"
    clauses = [f"a {world.object(i).name} {' and '.join(actions(world, i, start_s, end_s))}" for i in seen]
    return f"{_join(clauses)} {_setting(world)}"


def grounded_caption(world: World, start_s: float, end_s: float) -> tuple[str, list[int]]:
    """The caption with each object as ``<p>the red ball</p> [SEG]``, and the object id behind each
    ``[SEG]`` in order (seconds as in ``caption``)."""
    seen = visible_objects(world, start_s, end_s)
    if not seen:
        return f"an empty scene {_setting(world)}", []
    clauses = [
        f"{PHRASE_START}{object_phrase(world.object(i))}{PHRASE_END} {SEG_TOKEN} "
        f"{' and '.join(actions(world, i, start_s, end_s))}"
        for i in seen
    ]
    return f"{_join(clauses)} {_setting(world)}", seen


def yes_no_questions(world: World, start_s: float, end_s: float) -> list[tuple[str, bool]]:
    """Questions about ``[start_s, end_s)`` seconds with their answers, as many yes as no.

    Facts, most informative first: does each object jump (yes when a jump is in the window), does it leave
    the scene (asked where something in the world leaves), is each colour-and-kind pair in view (the
    world's objects, plus pairs that are not in the world). Each fact is asked in two phrasings, the
    second being the one the query pipeline verifies with."""
    rng = np.random.default_rng([world.seed, round(abs(start_s) * 1000), round(abs(end_s) * 1000)])
    seen = set(visible_objects(world, start_s, end_s))
    anyone_leaves = any(e.kind == "leaves" for e in world.events)
    facts: list[tuple[int, list[str], bool]] = []  # (priority, phrasings, answer)
    for obj in world.objects:
        name = object_phrase(obj)
        jumped = any(e.in_window(start_s, end_s) for e in world.events_of(obj.object_id, "jump"))
        facts.append((0, [f"Does {name} jump?", f"In this video, does the following happen: {name} jumps?"], jumped))
        if anyone_leaves:
            left = any(e.in_window(start_s, end_s) for e in world.events_of(obj.object_id, "leaves"))
            facts.append((1, [f"Does {name} leave the scene?",
                              f"In this video, does the following happen: {name} leaves the scene?"], left))
    present = {(o.colour, o.kind) for o in world.objects}
    config = world.config
    pairs = [(c, k) for k in dict.fromkeys(config.kinds) for c in dict.fromkeys(config.colours)]
    absent = [pair for pair in pairs if pair not in present]
    for index in rng.permutation(len(absent))[: len(world.objects) + 1]:
        colour, kind = absent[int(index)]
        facts.append((2, [f"Is there a {colour} {kind}?", f"Is the {colour} {kind} in this video?"], False))
    for obj in world.objects:
        facts.append((2, [f"Is there a {obj.name}?", f"Is {object_phrase(obj)} in this video?"], obj.object_id in seen))

    def pick(answer: bool) -> list[tuple[int, list[str], bool]]:
        chosen = [f for f in facts if f[2] == answer]
        order = rng.permutation(len(chosen))
        return sorted((chosen[int(i)] for i in order), key=lambda f: f[0])

    yes, no = pick(True), pick(False)
    n = min(len(yes), len(no))
    questions: list[tuple[str, bool]] = []
    for pair in zip(yes[:n], no[:n], strict=True):
        for _, phrasings, answer in (pair if rng.random() < 0.5 else pair[::-1]):
            questions += [(q, answer) for q in phrasings]
    return questions


def corpus(n_worlds: int, seed: int, config: WorldConfig | None = None) -> list[str]:
    """Every kind of sentence the templates make, over ``n_worlds`` worlds drawn from ``seed``: referring
    expressions and prompts, whole-video and windowed (2-4 s) captions and grounded captions, questions
    with answers, queries ('find every moment the red ball jumps'). For training a small tokenizer."""
    rng = np.random.default_rng(seed)
    lines = [FORCED_ANSWER, GROUNDED_CAPTION, REGION_CAPTION]
    for _ in range(n_worlds):
        world = generate_world(int(rng.integers(0, 2**31 - 1)), config)
        duration = world.config.duration_s
        for obj in world.objects:
            for expression in referring_expressions(world, obj.object_id):
                lines += [
                    expression,
                    referring_prompt(expression),
                    f"find every moment {expression} jumps",
                    f"when does {expression} leave the scene",
                    f"Is {expression} in this video?",
                ]
        windows = [(0.0, duration)]
        for _ in range(2):
            length = float(rng.uniform(2.0, 4.0)) if duration > 4.0 else duration
            start = float(rng.uniform(0.0, duration - length))
            windows.append((round(start, 2), round(start + length, 2)))
        for start, end in windows:
            lines.append(caption(world, start, end))
            lines.append(grounded_caption(world, start, end)[0])
            lines += [f"{q} {'Yes' if a else 'No'}." for q, a in yes_no_questions(world, start, end)]
    return lines
