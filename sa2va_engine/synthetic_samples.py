"""Training samples drawn from the synthetic world, in the task mix the demo model must handle.

Every task is phrased exactly as the product asks it at run time, so the tiny model learns the real
prompts: referring segmentation ("Please segment ..." -> "Sure, [SEG]."), grounded captions, the
indexer's chunk caption, the query graph's yes/no verification questions, and region captions (a red box
drawn on the frame). Clips are short windows of a world sampled like the indexer samples a chunk: the
LLM sees five frames spread over the window, SAM-2 runs through all of them.

Yes/no labels use one rule for windows of any length: an event counts as happening in a window when
they overlap by at least half of the shorter of the two. A long window holding a short jump is a yes,
and so is a short window inside a long jump; the query graph relies on both (it verifies chunks, then
refines inside them with short windows).
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from sa2va_engine import prompts
from sa2va_engine.key_frames import key_frame_indices
from sa2va_engine.synthetic_language import caption, grounded_caption, object_phrase, referring_expressions, visible_objects
from sa2va_engine.synthetic_world import World, WorldConfig, generate_world
from sa2va_engine.train_sample import TrainSample

# Task mix: segmentation tasks teach the masks (and cost a SAM-2 pass), text tasks are cheap.
TASK_WEIGHTS = {"refer": 0.32, "ground": 0.16, "caption": 0.14, "yes_no": 0.30, "region": 0.08}
VERIFY_TEMPLATE = "In this video, does the following happen: {subject} {predicate}?"
PRESENCE_TEMPLATE = "Is {subject} in this video?"


def happens_in(event_start: float, event_end: float, start_s: float, end_s: float) -> bool:
    overlap = min(event_end, end_s) - max(event_start, start_s)
    return overlap > 0 and overlap >= 0.5 * min(event_end - event_start, end_s - start_s)


class SampleSource:
    """Deterministic stream of samples: sample(step) depends only on (seed, step)."""

    def __init__(self, seed: int = 0, n_worlds: int = 400, config: WorldConfig | None = None,
                 frames: tuple[int, int] = (4, 16), weights: dict[str, float] | None = None):
        self.seed = seed
        self.weights = weights or TASK_WEIGHTS
        self.n_worlds = n_worlds
        self.config = config or WorldConfig(duration_s=10.0)
        self.frames = frames
        self._worlds: dict[int, World] = {}

    def world(self, index: int) -> World:
        if index not in self._worlds:
            if len(self._worlds) > 64:
                self._worlds.clear()
            self._worlds[index] = generate_world(self.seed * 100_003 + index, self.config)
        return self._worlds[index]

    def __call__(self, step: int) -> TrainSample:
        rng = random.Random(self.seed * 1_000_003 + step)
        world = self.world(rng.randrange(self.n_worlds))
        task = rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        # Short windows teach the fine-grained yes/no the query graph refines with; long ones match chunks.
        lo, hi = self.frames
        count = min(world.n_frames, rng.randint(lo, hi) if task == "yes_no" else rng.randint(min(max(lo, 8), hi), hi))
        first = rng.randrange(world.n_frames - count + 1)
        indices = list(range(first, first + count))
        start_s, end_s = world.time_s(indices[0]), world.time_s(indices[-1]) + 1 / world.config.fps
        built = getattr(self, f"_{task}")(rng, world, indices, start_s, end_s)
        return built or self._caption(rng, world, indices, start_s, end_s)

    # -- tasks ------------------------------------------------------------------------------------
    def _frames(self, world: World, indices: list[int]) -> list[np.ndarray]:
        return [world.frame(i) for i in indices]

    def _track(self, world: World, indices: list[int], object_id: int) -> np.ndarray:
        h, w = world.config.height, world.config.width
        return np.stack([world.masks(i).get(object_id, np.zeros((h, w), bool)) for i in indices])

    def _refer(self, rng, world, indices, start_s, end_s) -> TrainSample | None:
        present = visible_objects(world, start_s, end_s)
        if not present:
            return None
        oid = rng.choice(present)
        expression = rng.choice(referring_expressions(world, oid))
        return TrainSample(frames=self._frames(world, indices), key_frames=key_frame_indices(len(indices)),
                           question=prompts.referring_prompt(expression), answer=prompts.FORCED_ANSWER,
                           masks=[self._track(world, indices, oid)], task="refer")

    def _ground(self, rng, world, indices, start_s, end_s) -> TrainSample | None:
        text, ids = grounded_caption(world, start_s, end_s)
        if not ids:
            return None
        return TrainSample(frames=self._frames(world, indices), key_frames=key_frame_indices(len(indices)),
                           question=prompts.GROUNDED_CAPTION, answer=text,
                           masks=[self._track(world, indices, oid) for oid in ids], task="ground")

    def _caption(self, rng, world, indices, start_s, end_s) -> TrainSample:
        return TrainSample(frames=self._frames(world, indices), key_frames=key_frame_indices(len(indices)),
                           question=prompts.VIDEO_CAPTION, answer=caption(world, start_s, end_s), task="caption")

    def _yes_no(self, rng, world, indices, start_s, end_s) -> TrainSample:
        question, yes = self._question(rng, world, start_s, end_s)
        return TrainSample(frames=self._frames(world, indices), key_frames=key_frame_indices(len(indices)),
                           question=question + prompts.YES_NO_SUFFIX, answer="Yes" if yes else "No", task="yes_no")

    def _question(self, rng, world: World, start_s: float, end_s: float) -> tuple[str, bool]:
        """Balanced: half the questions are about a jump, half about presence; yes and no equally likely
        where the world allows both."""
        objects = world.objects
        if rng.random() < 0.6:
            jumps = {o.object_id: [e for e in world.events if e.object_id == o.object_id and e.kind == "jump"]
                     for o in objects}
            labelled = [(o, any(happens_in(e.start_s, e.end_s, start_s, end_s) for e in jumps[o.object_id]))
                        for o in objects]
            want = rng.random() < 0.5
            pool = [o for o, yes in labelled if yes == want] or [o for o, _ in labelled]
            obj = rng.choice(pool)
            yes = dict((o.object_id, y) for o, y in labelled)[obj.object_id]
            return VERIFY_TEMPLATE.format(subject=object_phrase(obj), predicate="jumps"), yes
        present = set(visible_objects(world, start_s, end_s))
        if rng.random() < 0.5 and present:
            obj = world.object(rng.choice(sorted(present)))
            return PRESENCE_TEMPLATE.format(subject=object_phrase(obj)), True
        absent = [o for o in objects if o.object_id not in present]
        if absent:
            return PRESENCE_TEMPLATE.format(subject=object_phrase(rng.choice(absent))), False
        # Nothing absent in this world: ask about a thing that is not in it.
        names = {o.name for o in objects}
        other = next(f"{c} {k}" for c in world.config.colours for k in world.config.kinds if f"{c} {k}" not in names)
        return PRESENCE_TEMPLATE.format(subject=f"the {other}"), False

    def _region(self, rng, world, indices, start_s, end_s) -> TrainSample | None:
        index = rng.choice(indices)
        states = [s for s in world.truth(index).objects if s.visible and s.box]
        if not states:
            return None
        state = rng.choice(states)
        image = world.frame(index).copy()
        x0, y0, x1, y1 = (int(round(v)) for v in state.box)
        # As Sa2VA.region_caption marks a region: a red box, 2 px at this size.
        cv2.rectangle(image, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), (255, 0, 0), 2)
        obj = world.object(state.object_id)
        return TrainSample(frames=[image], key_frames=[0], question=prompts.REGION_CAPTION,
                           answer=f"a {obj.name}", task="region")
