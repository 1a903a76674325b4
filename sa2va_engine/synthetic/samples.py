"""Training samples drawn from the synthetic world, in the task mix the demo model must handle.

Every task is phrased exactly as the product asks it at run time, so the tiny model learns the real
prompts: referring segmentation ("Please segment ..." -> "Sure, [SEG]."), grounded captions, the
indexer's chunk caption, the query graph's yes/no verification questions, and region captions (a red box
drawn on the frame). Clips are short windows of a world sampled like the indexer samples a chunk: the
LLM sees five frames spread over the window, SAM-2 runs through all of them.

Yes/no labels use one rule for windows of any length: an event counts as happening in a window when
they overlap by at least half of the shorter of the two. A long window holding a short jump is a yes,
and so is a short window inside a long jump; the query graph relies on both (it verifies chunks, then
refines inside them with short windows). Training asks only where that rule agrees with what the LLM's
key frames show (`jump_label`), and draws the answer first so yes and no are exactly balanced.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from sa2va_engine import prompts
from sa2va_engine.key_frames import key_frame_indices
from sa2va_engine.region_zoom import mark_region, zoom_to_region
from sa2va_engine.synthetic.language import (absent_names, caption, grounded_caption, object_phrase,
                                             referring_expressions, visible_objects)
from sa2va_engine.synthetic.world import World, WorldConfig, generate_world
from sa2va_engine.training.train_sample import TrainSample

# Task mix: segmentation tasks teach the masks (and cost a SAM-2 pass), text tasks are cheap.
TASK_WEIGHTS = {"refer": 0.32, "ground": 0.16, "caption": 0.14, "yes_no": 0.30, "region": 0.08}
VERIFY_TEMPLATE = "In this video, does the following happen: {subject} {predicate}?"
PRESENCE_TEMPLATE = "Is {subject} in this video?"


JUMP_SHARE = 0.6  # of yes/no questions; the rest ask whether an object is there at all
SEEN_LIFT = 1 / 3  # a hop shows in a frame when the object is at least this share of its apex off the ground
MIN_IMAGE_AREA = 20  # pixels: a sliver at the frame's edge or behind the pillar names nothing


def jump_label(world: World, object_id: int, first: int, count: int, keys: list[int]) -> bool | None:
    """Does the object jump in frames [first, first + count)? True when the event rule says so and a frame
    the LLM sees shows it off the ground; False when neither; None (not trained on) when the two disagree,
    i.e. the rule counts a hop whose airborne part falls between the key frames, or the reverse."""
    obj = world.object(object_id)
    start_s, end_s = world.time_s(first), world.time_s(first + count - 1) + 1 / world.config.fps
    happens = any(happens_in(h.start_s, h.end_s, start_s, end_s) for h in obj.path.hops)
    seen = any(h.lift(world.time_s(first + k)) >= SEEN_LIFT * h.apex_px for h in obj.path.hops for k in keys)
    return happens if happens == seen else None


def happens_in(event_start: float, event_end: float, start_s: float, end_s: float) -> bool:
    overlap = min(event_end, end_s) - max(event_start, start_s)
    return overlap > 0 and overlap >= 0.5 * min(event_end - event_start, end_s - start_s)


class SampleSource:
    """Deterministic stream of samples: sample(step) depends only on (seed, step)."""

    def __init__(self, seed: int = 0, n_worlds: int = 400, config: WorldConfig | None = None,
                 frames: tuple[int, int] = (4, 16), weights: dict[str, float] | None = None,
                 jump_share: float = JUMP_SHARE):
        self.seed = seed
        self.jump_share = jump_share
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
        if task == "yes_no":
            return self._yes_no(rng) or self._caption_of_some_window(rng, world)
        # Short windows teach the fine-grained yes/no the query graph refines with; long ones match chunks.
        lo, hi = self.frames
        count = min(world.n_frames, rng.randint(lo, hi) if task == "yes_no" else rng.randint(min(max(lo, 8), hi), hi))
        first = rng.randrange(world.n_frames - count + 1)
        indices = list(range(first, first + count))
        start_s, end_s = world.time_s(indices[0]), world.time_s(indices[-1]) + 1 / world.config.fps
        built = getattr(self, f"_{task}")(rng, world, indices, start_s, end_s)
        return built or self._caption(rng, world, indices, start_s, end_s)

    def _caption_of_some_window(self, rng, world: World) -> TrainSample:
        count = min(world.n_frames, rng.randint(*self.frames))
        first = rng.randrange(world.n_frames - count + 1)
        indices = list(range(first, first + count))
        return self._caption(rng, world, indices, world.time_s(first), world.time_s(indices[-1]) + 1 / world.config.fps)

    # -- tasks ------------------------------------------------------------------------------------
    def _frames(self, world: World, indices: list[int]) -> list[np.ndarray]:
        return [world.frame(i) for i in indices]

    def track(self, world: World, indices: list[int], object_id: int) -> np.ndarray:
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
                           masks=[self.track(world, indices, oid)], task="refer")

    def _ground(self, rng, world, indices, start_s, end_s) -> TrainSample | None:
        text, ids = grounded_caption(world, start_s, end_s)
        if not ids:
            return None
        return TrainSample(frames=self._frames(world, indices), key_frames=key_frame_indices(len(indices)),
                           question=prompts.GROUNDED_CAPTION, answer=text,
                           masks=[self.track(world, indices, oid) for oid in ids], task="ground")

    def _caption(self, rng, world, indices, start_s, end_s) -> TrainSample:
        return TrainSample(frames=self._frames(world, indices), key_frames=key_frame_indices(len(indices)),
                           question=prompts.VIDEO_CAPTION, answer=caption(world, start_s, end_s), task="caption")

    def _yes_no(self, rng) -> TrainSample | None:
        """A yes/no question with its answer drawn first (exactly half yes), then a world, object and window
        that give that answer. A model that answers from the phrase alone stays at chance; the only way
        down the loss is to look at the frames."""
        want = rng.random() < 0.5
        about_jump = rng.random() < self.jump_share
        for _ in range(20):
            world = self.world(rng.randrange(self.n_worlds))
            count = min(world.n_frames, rng.randint(*self.frames))
            keys = key_frame_indices(count)
            if about_jump:
                obj = rng.choice(world.objects)
                starts = [f for f in range(world.n_frames - count + 1)
                          if jump_label(world, obj.object_id, f, count, keys) is want]
                question = VERIFY_TEMPLATE.format(subject=object_phrase(obj), predicate="jumps")
            else:
                starts = list(range(world.n_frames - count + 1))
                question = None
            if not starts:
                continue
            first = rng.choice(starts)
            indices = list(range(first, first + count))
            if question is None:
                start_s, end_s = world.time_s(first), world.time_s(indices[-1]) + 1 / world.config.fps
                question = self._presence_question(rng, world, start_s, end_s, want)
                if question is None:
                    continue
            return TrainSample(frames=self._frames(world, indices), key_frames=keys,
                               question=question + prompts.YES_NO_SUFFIX, answer="Yes" if want else "No", task="yes_no")
        return None

    def _presence_question(self, rng, world: World, start_s: float, end_s: float, want: bool) -> str | None:
        present = set(visible_objects(world, start_s, end_s))
        if want:
            if not present:
                return None
            return PRESENCE_TEMPLATE.format(subject=object_phrase(world.object(rng.choice(sorted(present)))))
        absent = [o for o in world.objects if o.object_id not in present]
        if absent and rng.random() < 0.5:
            return PRESENCE_TEMPLATE.format(subject=object_phrase(rng.choice(absent)))
        # A thing that is not in this world at all, drawn evenly so no phrase is a "no" more often than another.
        return PRESENCE_TEMPLATE.format(subject=f"the {rng.choice(absent_names(world))}")

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


class RegionNames:
    """Naming an object seen up close (`Sa2VA.region_names`): one object of a frame, its box jittered as a
    tracked mask's box would be (each side moved by up to ``jitter`` of the box's size), zoomed as the engine
    zooms (`region_zoom.zoom_to_region`, a context factor drawn around the engine's) and marked; the answer is
    its name, "the red dog". sample(step) depends only on (seed, step)."""

    def __init__(self, seed: int = 0, n_worlds: int = 400, config: WorldConfig | None = None, size: int = 160,
                 context: tuple[float, float] = (1.6, 2.6), jitter: float = 0.15):
        self.source = SampleSource(seed=seed, n_worlds=n_worlds, config=config or WorldConfig(duration_s=3.0))
        self.seed, self.size, self.context, self.jitter = seed, size, context, jitter

    def __call__(self, step: int) -> TrainSample:
        rng = random.Random(self.seed * 1_000_003 + step)
        while True:
            world = self.source.world(rng.randrange(self.source.n_worlds))
            index = rng.randrange(world.n_frames)
            states = [s for s in world.truth(index).objects if s.visible and s.box and s.area_px >= MIN_IMAGE_AREA]
            if states:
                break
        state = rng.choice(states)
        h, w = world.config.height, world.config.width
        x0, y0, x1, y1 = state.box
        bw, bh = x1 - x0, y1 - y0
        box = (max(0.0, x0 + rng.uniform(-1, 1) * self.jitter * bw), max(0.0, y0 + rng.uniform(-1, 1) * self.jitter * bh),
               min(float(w), x1 + rng.uniform(-1, 1) * self.jitter * bw), min(float(h), y1 + rng.uniform(-1, 1) * self.jitter * bh))
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            box = tuple(float(v) for v in state.box)
        zoomed, inside = zoom_to_region(world.frame(index), box, context=rng.uniform(*self.context), size=self.size)
        image = np.asarray(mark_region(zoomed, inside))
        return TrainSample(frames=[image], key_frames=[0], question=prompts.REGION_NAME,
                           answer=object_phrase(world.object(state.object_id)), task="name", zoomed=True)


class ReferImageGroups:
    """Referring on single frames, every nameable object of a frame in turn: example ``i`` is member
    ``i % per_image`` of frame ``i // per_image``, and the members share one frames object, so a batch of
    ``per_image`` examples is one frame asked for each of its objects (the trainer runs SAM-2 once for them).

    Why: with one phrase per clip, masking every object at once is a cheap way down the mask loss, and a
    model from scratch takes it: its `[SEG]` states hardly differ between phrases to begin with, SAM-2
    learns the union, and the prompt is then ignored. The same frame with a different target for each
    phrase leaves the union no better than the prompt allows. Sa2VA trains on image referring data too."""

    def __init__(self, seed: int = 0, per_image: int = 3, n_worlds: int = 400, config: WorldConfig | None = None):
        self.seed = seed
        self.per_image = per_image
        self.source = SampleSource(seed=seed, n_worlds=n_worlds, config=config)
        self._group: tuple[int, list[np.ndarray], list[tuple[str, np.ndarray]]] | None = None

    def __call__(self, step: int) -> TrainSample:
        group, member = divmod(step, self.per_image)
        if self._group is None or self._group[0] != group:
            self._group = (group, *self.frame_objects(group))
        _, frames, named = self._group
        expression, mask = named[member % len(named)]
        return TrainSample(frames=frames, key_frames=[0], question=prompts.referring_prompt(expression),
                           answer=prompts.FORCED_ANSWER, masks=[mask[None]], task="refer_image")

    def frame_objects(self, group: int) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray]]]:
        """A frame (preferably with two or more nameable objects) and (expression, mask) for each object."""
        rng = random.Random(self.seed * 1_000_033 + group)
        best: tuple[list[np.ndarray], list[tuple[str, np.ndarray]]] | None = None
        for _ in range(10):
            world = self.source.world(rng.randrange(self.source.n_worlds))
            index = rng.randrange(world.n_frames)
            named = []
            for oid, mask in sorted(world.masks(index).items()):
                expressions = referring_expressions(world, oid, appearance_only=True)
                if expressions and mask.sum() >= MIN_IMAGE_AREA:
                    named.append((rng.choice(expressions), mask))
            if named and (best is None or len(named) > len(best[1])):
                best = ([world.frame(index)], named)
            if best is not None and len(best[1]) >= 2:
                break
        if best is None:
            raise RuntimeError(f"no frame with a nameable object in 10 draws (seed {self.seed}, group {group})")
        return best


class MixedSource:
    """Each example from one of ``sources``, picked by (seed, step): a curriculum keeps easy worlds in the mix
    while the real ones come in."""

    def __init__(self, sources: list, seed: int = 0, weights: list[float] | None = None):
        self.sources = sources
        self.seed = seed
        self.weights = weights

    def __call__(self, step: int) -> TrainSample:
        rng = random.Random(self.seed * 7_919 + step)
        if self.weights is None:
            pick = rng.randrange(len(self.sources))
        else:
            pick = rng.choices(range(len(self.sources)), weights=self.weights)[0]
        return self.sources[pick](step)
