"""A synthetic world with exact ground truth, so that the project can train and grade its own tiny Sa2VA.

Why: a machine without network cannot download real weights, and random weights mean nothing. A world
of a few coloured objects (balls, boxes, dog silhouettes) that slide, hop, get occluded and leave and come
back can be generated anywhere from a seed, and its ground truth (masks, boxes, identities, events in
seconds) is known exactly instead of labelled. Videos are generated, never committed.

Everything is a function of ``(seed, WorldConfig)``: ``generate_world`` draws every random choice once,
in a fixed order, into a small pydantic ``World`` (paths as keyframes, hops, background, occluder), and
frames and masks are rendered from that description on demand, so a long world never sits in memory.

Units: sizes and positions are pixels of the frame (x to the right, y down, boxes ``(x0, y0, x1, y1)``
with exclusive end, as in ``masklet.mask_box``); times are seconds from the start of the video. Frame
``i`` shows time ``i / fps``; frame indices stay inside the engine, everything that leaves it is seconds.

Ground truth conventions:
- Depth: the object whose ground line is lower in the frame is nearer and is drawn in front (ties: the
  higher id in front); the occluder (a grey pillar, when there is one) is in front of every object.
- ``masks(i)`` are the visible masks, after occlusion; ``amodal_masks(i)`` are the whole shapes (clipped
  to the frame). A frame's pixels under an object's visible mask are exactly that object's colour.
- Events: ``jump`` spans one parabolic hop off the object's ground line (it leaves the ground at
  ``start_s`` and lands at ``end_s``); ``leaves`` spans from the last moment the shape is wholly inside the
  frame to the first moment it is wholly outside; ``enters`` the reverse. An event happens in a window
  when at least half of it lies inside the window (``Event.in_window``), the rule the language uses too.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from sa2va_engine.masklet import Masklet, TrackPoint, mask_box

Kind = Literal["ball", "box", "dog"]
Colour = Literal["red", "green", "blue", "yellow", "white", "purple"]
BackgroundKind = Literal["plain", "vertical_gradient", "horizontal_gradient", "stripes", "noise", "checker"]
EventKind = Literal["jump", "leaves", "enters"]
RGB = tuple[int, int, int]

KINDS: tuple[Kind, ...] = ("ball", "box", "dog")
COLOURS: tuple[Colour, ...] = ("red", "green", "blue", "yellow", "white", "purple")
BACKGROUND_KINDS: tuple[BackgroundKind, ...] = (
    "plain", "vertical_gradient", "horizontal_gradient", "stripes", "noise", "checker",
)

# Saturated (or white) object colours against muted mid-tone backgrounds: every object colour is at least
# ~90 RGB units from every background tone, so a colour word always names what is seen.
OBJECT_RGB: dict[str, RGB] = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 210, 40),
    "white": (245, 245, 245),
    "purple": (140, 40, 180),
}
BACKGROUND_TONES: dict[str, RGB] = {
    "sand": (180, 160, 120),
    "olive": (110, 118, 76),
    "slate": (86, 98, 116),
    "brown": (116, 88, 64),
    "teal": (64, 112, 110),
    "mauve": (130, 104, 112),
}
OCCLUDER_RGB: RGB = (170, 170, 170)
_OCCLUDER_EDGE_RGB: RGB = (120, 120, 120)

# Width / height of each kind's shape; a box's own aspect is drawn per object around its value here.
_KIND_ASPECT = {"ball": 1.0, "box": 1.15, "dog": 1.6}
# Events are found on a fine clock (seconds) and reported rounded to the millisecond.
_EVENT_STEP_S = 0.005
_SUBPIXEL_BITS = 4  # cv2 drawing shift: shapes are placed to 1/16 pixel, so motion is smooth
_MARGIN_PX = 2.0  # "wholly outside" keeps this far from the border, so no edge pixel is lit


class WorldConfig(BaseModel):
    """What kinds of worlds ``generate_world`` draws. Fractions are of the frame height unless named."""

    model_config = ConfigDict(frozen=True)

    width: int = Field(default=160, ge=32, description="frame width in pixels (even, for H.264 yuv420p)")
    height: int = Field(default=120, ge=32, description="frame height in pixels (even)")
    fps: float = Field(default=4.0, gt=0, description="frames per second")
    duration_s: float = Field(default=8.0, gt=0, description="seconds; frames = round(duration_s * fps)")
    min_objects: int = Field(default=1, ge=1)
    max_objects: int = Field(default=3, ge=1)
    kinds: tuple[Kind, ...] = KINDS
    colours: tuple[Colour, ...] = COLOURS
    backgrounds: tuple[BackgroundKind, ...] = BACKGROUND_KINDS
    jump_world_probability: float = Field(default=0.8, ge=0, le=1, description="chance a world has a jumper")
    jump_probability: float = Field(default=0.25, ge=0, le=1, description="chance each further object jumps")
    occluder_probability: float = Field(default=0.5, ge=0, le=1, description="chance of a moving grey pillar")
    leave_probability: float = Field(default=0.3, ge=0, le=1, description="chance an object leaves and re-enters")
    static_probability: float = Field(default=0.3, ge=0, le=1, description="chance a staying object stands still")
    object_size: tuple[float, float] = Field(default=(0.15, 0.22), description="shape height, fraction of height")
    hop_duration_s: tuple[float, float] = Field(default=(1.0, 2.0), description="seconds in the air per hop")
    hop_apex: tuple[float, float] = Field(default=(0.3, 0.45), description="hop height, fraction of height")

    @model_validator(mode="after")
    def _check(self) -> WorldConfig:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even (H.264 yuv420p), got {self.width}x{self.height}")
        if self.min_objects > self.max_objects:
            raise ValueError("min_objects must not exceed max_objects")
        if not self.kinds or not self.colours or not self.backgrounds:
            raise ValueError("kinds, colours and backgrounds must not be empty")
        if len(set(self.kinds)) * len(set(self.colours)) < self.max_objects:
            raise ValueError("not enough (colour, kind) pairs for max_objects distinct objects")
        for name in ("object_size", "hop_duration_s", "hop_apex"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high")
        if self.object_size[1] + self.hop_apex[0] > 0.8:
            raise ValueError("object_size and hop_apex leave no room for a hop inside the frame")
        return self

    @property
    def n_frames(self) -> int:
        return max(1, round(self.duration_s * self.fps))


class Hop(BaseModel):
    """One parabolic hop: the shape's bottom rises ``apex_px`` pixels above its ground line at mid-hop."""

    start_s: float
    end_s: float
    apex_px: float

    def lift(self, time_s: float) -> float:
        """Pixels above the ground line at ``time_s`` seconds (0 outside the hop)."""
        if not self.start_s < time_s < self.end_s:
            return 0.0
        u = (time_s - self.start_s) / (self.end_s - self.start_s)
        return 4.0 * self.apex_px * u * (1.0 - u)


class ObjectPath(BaseModel):
    """Where an object is over time: its centre x moves linearly between keyframes (held before the first and
    after the last), its bottom sits on ``ground_y`` except during hops."""

    ground_y: float = Field(description="pixel row of the shape's bottom edge when on the ground")
    times_s: list[float] = Field(description="keyframe times, seconds, non-decreasing; a repeated time is a cut")
    xs: list[float] = Field(description="centre x at each keyframe, pixels (may lie outside the frame)")
    hops: list[Hop] = Field(default_factory=list)
    facing: Literal[-1, 1] = Field(default=1, description="+1 faces right; used until the object first moves")

    def x_at(self, time_s: float | np.ndarray) -> float | np.ndarray:
        # Not np.interp: two keyframes at the same time are a jump cut (out on the left, back in on the
        # right), which np.interp would turn into a walk across the frame.
        times, xs = np.asarray(self.times_s), np.asarray(self.xs)
        t = np.asarray(time_s, dtype=float)
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
        after = np.minimum(k + 1, len(times) - 1)
        span = times[after] - times[k]
        fraction = np.clip((t - times[k]) / np.where(span > 0, span, 1.0), 0.0, 1.0) * (span > 0)
        x = xs[k] + (xs[after] - xs[k]) * fraction
        return float(x) if x.ndim == 0 else x

    def bottom_at(self, time_s: float) -> float:
        return self.ground_y - sum(hop.lift(time_s) for hop in self.hops)

    def facing_at(self, time_s: float) -> int:
        """The direction of the latest horizontal movement at or before ``time_s`` (dogs look where they go)."""
        facing = self.facing
        for k in range(len(self.times_s) - 1):
            if self.times_s[k] > time_s:
                break
            dx = self.xs[k + 1] - self.xs[k]
            if abs(dx) > 1e-6 and self.times_s[k + 1] > self.times_s[k]:
                facing = 1 if dx > 0 else -1
        return facing


class WorldObject(BaseModel):
    object_id: int
    kind: Kind
    colour: Colour
    width_px: float = Field(description="shape width in pixels")
    height_px: float = Field(description="shape height in pixels")
    path: ObjectPath

    @property
    def name(self) -> str:
        """Colour and kind, e.g. 'red ball': unique within a world by construction."""
        return f"{self.colour} {self.kind}"


class Event(BaseModel):
    """Something an object does during ``[start_s, end_s]`` (seconds)."""

    object_id: int
    kind: EventKind
    start_s: float
    end_s: float

    def in_window(self, start_s: float, end_s: float) -> bool:
        """Whether at least half of the event lies inside ``[start_s, end_s]`` (seconds)."""
        overlap = min(self.end_s, end_s) - max(self.start_s, start_s)
        return overlap >= 0.5 * (self.end_s - self.start_s) - 1e-9


class Background(BaseModel):
    kind: BackgroundKind
    tone: str = Field(description="name of the main tone in BACKGROUND_TONES")
    rgb_a: RGB
    rgb_b: RGB = Field(description="second colour of gradients, stripes and checkers")
    period_px: int = Field(default=16, description="stripe or checker cell size, pixels")
    vertical_stripes: bool = True
    noise_seed: int = 0


class Occluder(BaseModel):
    """A grey pillar, full frame height, in front of everything, sliding at a constant speed."""

    width_px: float
    x_start: float = Field(description="centre x at 0 s, pixels")
    x_end: float = Field(description="centre x at the end of the video, pixels")
    duration_s: float

    def x_at(self, time_s: float) -> float:
        return self.x_start + (self.x_end - self.x_start) * min(1.0, max(0.0, time_s / self.duration_s))


class ObjectState(BaseModel):
    """One object on one frame. ``box`` bounds the visible mask; ``amodal_box`` the whole shape (in frame)."""

    object_id: int
    visible: bool
    box: tuple[float, float, float, float] | None = Field(description="x0,y0,x1,y1 pixels, exclusive end")
    amodal_box: tuple[float, float, float, float] | None
    area_px: int = Field(description="visible mask area, pixels")


class FrameTruth(BaseModel):
    time_s: float
    objects: list[ObjectState]


class _Rendered:
    """One frame's masks, kept for the last frame asked (``frame(i)`` and ``masks(i)`` share one render)."""

    def __init__(self, index: int, amodal: dict[int, np.ndarray], visible: dict[int, np.ndarray], pillar: np.ndarray):
        self.index, self.amodal, self.visible, self.pillar = index, amodal, visible, pillar


class World(BaseModel):
    """A generated world: the description is data (JSON-serialisable), pixels are rendered on demand."""

    seed: int
    config: WorldConfig
    background: Background
    occluder: Occluder | None
    objects: list[WorldObject]
    events: list[Event]

    _background_image: np.ndarray | None = PrivateAttr(default=None)
    _last: _Rendered | None = PrivateAttr(default=None)
    _visible_ids: dict[int, frozenset[int]] = PrivateAttr(default_factory=dict)

    # --- time -------------------------------------------------------------------------------------------

    @property
    def n_frames(self) -> int:
        return self.config.n_frames

    def time_s(self, index: int) -> float:
        """Presentation time of frame ``index``, seconds."""
        return index / self.config.fps

    @property
    def frame_times(self) -> list[float]:
        return [self.time_s(i) for i in range(self.n_frames)]

    def frame_indices(self, start_s: float, end_s: float) -> list[int]:
        """Frames shown in ``[start_s, end_s)`` (seconds); the one nearest the middle when none is."""
        inside = [i for i in range(self.n_frames) if start_s - 1e-9 <= self.time_s(i) < end_s - 1e-9]
        if inside:
            return inside
        middle = (start_s + end_s) / 2
        return [min(max(0, round(middle * self.config.fps)), self.n_frames - 1)]

    # --- objects and events -----------------------------------------------------------------------------

    def object(self, object_id: int) -> WorldObject:
        for obj in self.objects:
            if obj.object_id == object_id:
                return obj
        raise KeyError(f"no object {object_id} in world {self.seed}")

    def events_of(self, object_id: int, kind: EventKind | None = None) -> list[Event]:
        return [e for e in self.events if e.object_id == object_id and (kind is None or e.kind == kind)]

    def centre_x(self, object_id: int, time_s: float) -> float:
        """The object's centre x at ``time_s`` seconds, pixels (outside ``[0, width)`` while it is away)."""
        return float(self.object(object_id).path.x_at(time_s))

    def depth_order(self) -> list[int]:
        """Object ids from back to front."""
        return [o.object_id for o in sorted(self.objects, key=lambda o: (o.path.ground_y, o.object_id))]

    # --- pixels -----------------------------------------------------------------------------------------

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as H x W x 3 uint8 RGB."""
        rendered = self._render(index)
        image = self._background().copy()
        for object_id in self.depth_order():
            image[rendered.amodal[object_id]] = OBJECT_RGB[self.object(object_id).colour]
        if self.occluder is not None:
            image[rendered.pillar] = OCCLUDER_RGB
            # Darker edges so the pillar reads as a solid post on any background.
            columns = np.flatnonzero(rendered.pillar.any(axis=0))
            if len(columns):
                image[:, [columns[0], columns[-1]]] = _OCCLUDER_EDGE_RGB
        return image

    def masks(self, index: int) -> dict[int, np.ndarray]:
        """Visible (H, W) bool mask of every object on frame ``index``, after occlusion; empty when unseen."""
        return {k: v.copy() for k, v in self._render(index).visible.items()}

    def visible_ids(self, index: int) -> frozenset[int]:
        """Ids of the objects with a non-empty visible mask on frame ``index`` (remembered: language asks often)."""
        if index not in self._visible_ids:
            self._visible_ids[index] = frozenset(k for k, v in self._render(index).visible.items() if v.any())
        return self._visible_ids[index]

    def amodal_masks(self, index: int) -> dict[int, np.ndarray]:
        """Whole-shape (H, W) bool masks on frame ``index``, as if nothing were in front (clipped to the frame)."""
        return {k: v.copy() for k, v in self._render(index).amodal.items()}

    def occluder_mask(self, index: int) -> np.ndarray:
        """(H, W) bool mask of the pillar on frame ``index`` (all False without one)."""
        return self._render(index).pillar.copy()

    def truth(self, index: int) -> FrameTruth:
        """Per-object visibility, boxes (pixels) and areas on frame ``index``."""
        rendered = self._render(index)
        states = []
        for obj in self.objects:
            visible = rendered.visible[obj.object_id]
            box = mask_box(visible)
            states.append(ObjectState(
                object_id=obj.object_id, visible=box is not None, box=box,
                amodal_box=mask_box(rendered.amodal[obj.object_id]), area_px=int(visible.sum()),
            ))
        return FrameTruth(time_s=self.time_s(index), objects=states)

    def masklets(self) -> dict[int, Masklet]:
        """Ground-truth mask track of every object (one point per frame, score 1), named 'the <colour> <kind>':
        the same currency the engine's tracker returns, so predictions and truth compare directly."""
        points: dict[int, list[TrackPoint]] = {o.object_id: [] for o in self.objects}
        for i in range(self.n_frames):
            for object_id, mask in self._render(i).visible.items():
                points[object_id].append(TrackPoint.from_mask(self.time_s(i), mask, 1.0))
        return {o.object_id: Masklet(expression=f"the {o.name}", points=points[o.object_id]) for o in self.objects}

    def _background(self) -> np.ndarray:
        if self._background_image is None:
            self._background_image = _render_background(self.background, self.config.height, self.config.width)
        return self._background_image

    def _render(self, index: int) -> _Rendered:
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} is outside 0..{self.n_frames - 1}")
        if self._last is not None and self._last.index == index:
            return self._last
        height, width = self.config.height, self.config.width
        t = self.time_s(index)
        amodal = {o.object_id: _shape_mask(o, t, height, width) for o in self.objects}
        pillar = np.zeros((height, width), dtype=bool)
        if self.occluder is not None:
            x = self.occluder.x_at(t)
            x0, x1 = round(x - self.occluder.width_px / 2), round(x + self.occluder.width_px / 2)
            pillar[:, max(0, x0):max(0, min(width, x1))] = True
        visible = {}
        covered = pillar.copy()
        for object_id in reversed(self.depth_order()):  # front to back
            visible[object_id] = amodal[object_id] & ~covered
            covered |= amodal[object_id]
        self._last = _Rendered(index, amodal, {o.object_id: visible[o.object_id] for o in self.objects}, pillar)
        return self._last


# --- drawing ------------------------------------------------------------------------------------------

# The dog silhouette facing right, in unit coordinates of its box (u right, v down): body, head with
# snout, ear, four legs and a raised tail. Parts overlap so the union is one connected shape.
_DOG_PARTS: tuple[tuple[tuple[float, float], ...], ...] = (
    ((0.16, 0.30), (0.80, 0.30), (0.80, 0.66), (0.16, 0.66)),  # body
    ((0.68, 0.10), (0.92, 0.10), (1.00, 0.20), (1.00, 0.38), (0.68, 0.44)),  # head and snout
    ((0.70, 0.14), (0.76, 0.00), (0.82, 0.14)),  # ear
    ((0.18, 0.60), (0.28, 0.60), (0.28, 1.00), (0.18, 1.00)),  # hind legs
    ((0.32, 0.60), (0.42, 0.60), (0.42, 1.00), (0.32, 1.00)),
    ((0.58, 0.60), (0.68, 0.60), (0.68, 1.00), (0.58, 1.00)),  # front legs
    ((0.71, 0.60), (0.80, 0.60), (0.80, 1.00), (0.71, 1.00)),
    ((0.18, 0.30), (0.03, 0.04), (0.00, 0.08), (0.14, 0.38)),  # tail
)


def _shape_mask(obj: WorldObject, time_s: float, height: int, width: int) -> np.ndarray:
    """The object's whole shape at ``time_s`` seconds as an (H, W) bool mask, clipped to the frame."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    cx, bottom = float(obj.path.x_at(time_s)), obj.path.bottom_at(time_s)
    w, h = obj.width_px, obj.height_px
    left, top = cx - w / 2, bottom - h
    scale = 1 << _SUBPIXEL_BITS
    if obj.kind == "ball":
        center = (round(cx * scale), round((bottom - h / 2) * scale))
        cv2.circle(canvas, center, round(h / 2 * scale), 1, thickness=-1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    else:
        if obj.kind == "box":
            parts: tuple[tuple[tuple[float, float], ...], ...] = (((0, 0), (1, 0), (1, 1), (0, 1)),)
        else:
            parts = _DOG_PARTS
        mirror = obj.kind == "dog" and obj.path.facing_at(time_s) < 0
        polygons = []
        for part in parts:
            # Vertices sit on pixel centres; the far edges end half a pixel in, so the drawn extent is w x h.
            points = [
                (left + ((1 - u) if mirror else u) * (w - 1) + 0.5, top + v * (h - 1) + 0.5) for u, v in part
            ]
            polygons.append(np.round(np.array(points) * scale).astype(np.int32))
        cv2.fillPoly(canvas, polygons, 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return canvas.astype(bool)


def _render_background(bg: Background, height: int, width: int) -> np.ndarray:
    a = np.array(bg.rgb_a, dtype=np.float32)
    b = np.array(bg.rgb_b, dtype=np.float32)
    ys, xs = np.mgrid[0:height, 0:width]
    if bg.kind == "plain":
        image = np.broadcast_to(a, (height, width, 3))
    elif bg.kind in ("vertical_gradient", "horizontal_gradient"):
        # "vertical": the colour changes from top to bottom (a sky-like wash); "horizontal": left to right.
        ramp = ys / max(1, height - 1) if bg.kind == "vertical_gradient" else xs / max(1, width - 1)
        image = a + (b - a) * ramp[..., None]
    elif bg.kind == "stripes":
        band = ((xs if bg.vertical_stripes else ys) // bg.period_px) % 2
        image = np.where(band[..., None] == 0, a, b)
    elif bg.kind == "checker":
        cell = (xs // bg.period_px + ys // bg.period_px) % 2
        image = np.where(cell[..., None] == 0, a, b)
    else:  # noise: a low-contrast grain, fixed for the whole video
        grain = np.random.default_rng(bg.noise_seed).normal(0.0, 9.0, size=(height, width, 1)).astype(np.float32)
        image = a + grain
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# --- generation ---------------------------------------------------------------------------------------


def generate_world(seed: int, config: WorldConfig | None = None) -> World:
    """The world of ``seed``: same seed, config and numpy version, same world (pixels, masks, events)."""
    config = config or WorldConfig()
    rng = np.random.default_rng(seed)
    height, width, duration = config.height, config.width, config.duration_s

    background = _draw_background(rng, config)
    n_objects = int(rng.integers(config.min_objects, config.max_objects + 1))
    pairs = [(c, k) for k in dict.fromkeys(config.kinds) for c in dict.fromkeys(config.colours)]
    chosen = rng.choice(len(pairs), size=n_objects, replace=False)

    objects: list[WorldObject] = []
    static_spans: list[tuple[float, float]] = []
    for object_id, pair in enumerate(chosen):
        colour, kind = pairs[int(pair)]
        h = float(rng.uniform(*config.object_size)) * height
        if kind == "dog":
            h *= 0.9
        aspect = _KIND_ASPECT[kind] * (float(rng.uniform(0.8, 1.2)) if kind == "box" else 1.0)
        w = h * aspect
        ground_y = float(rng.uniform(0.82, 0.97)) * height
        mode = _draw_mode(rng, config)
        path = _plan_path(rng, config, mode, w, h, ground_y, static_spans)
        if len(path.times_s) == 1:
            static_spans.append((path.xs[0] - w / 2, path.xs[0] + w / 2))
        objects.append(WorldObject(object_id=object_id, kind=kind, colour=colour, width_px=w, height_px=h, path=path))

    _plan_hops(rng, config, objects)

    occluder = None
    if rng.random() < config.occluder_probability:
        narrowest = min(o.width_px for o in objects)
        # Narrower than every object, so the pillar alone never hides an object completely.
        pillar_w = min(float(rng.uniform(0.06, 0.09)) * width, 0.8 * narrowest)
        low, high = pillar_w / 2, width - pillar_w / 2
        travel = float(rng.uniform(0.3, 0.7)) * (high - low)
        start = float(rng.uniform(low, high - travel))
        x_start, x_end = (start, start + travel) if rng.random() < 0.5 else (start + travel, start)
        occluder = Occluder(width_px=pillar_w, x_start=x_start, x_end=x_end, duration_s=duration)

    events = _find_events(objects, config)
    return World(seed=seed, config=config, background=background, occluder=occluder, objects=objects, events=events)


def _draw_background(rng: np.random.Generator, config: WorldConfig) -> Background:
    kind = config.backgrounds[int(rng.integers(len(config.backgrounds)))]
    names = list(BACKGROUND_TONES)
    tone = names[int(rng.integers(len(names)))]
    other = names[int(rng.integers(len(names) - 1))]
    other = other if other != tone else names[-1]
    a = BACKGROUND_TONES[tone]
    if kind == "checker":
        b = tuple(round(c * 0.8) for c in a)  # same tone, darker: a low-contrast pattern
    else:
        b = BACKGROUND_TONES[other]
    return Background(
        kind=kind, tone=tone, rgb_a=a, rgb_b=b,  # type: ignore[arg-type]
        period_px=int(rng.integers(8, 21)), vertical_stripes=bool(rng.random() < 0.5),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _draw_mode(rng: np.random.Generator, config: WorldConfig) -> Literal["static", "slide", "leave"]:
    if rng.random() < config.leave_probability:
        return "leave"
    return "static" if rng.random() < config.static_probability else "slide"


def _plan_path(
    rng: np.random.Generator, config: WorldConfig, mode: str, w: float, h: float, ground_y: float,
    static_spans: list[tuple[float, float]],
) -> ObjectPath:
    width, duration = config.width, config.duration_s
    low, high = w / 2 + 1, width - 1 - w / 2 - 1  # centre x range that keeps the shape wholly inside
    facing = 1 if rng.random() < 0.5 else -1
    if high <= low:
        return ObjectPath(ground_y=ground_y, times_s=[0.0], xs=[width / 2], facing=facing)
    if mode == "leave":
        path = _plan_leave(rng, config, w, ground_y, low, high)
        if path is not None:
            return path
        mode = "slide"
    if mode == "static":
        # Apart from the other standing objects, so no object hides behind another for the whole video.
        for _ in range(20):
            x = float(rng.uniform(low, high))
            if all(x + w / 2 < a - 2 or x - w / 2 > b + 2 for a, b in static_spans):
                break
        return ObjectPath(ground_y=ground_y, times_s=[0.0], xs=[x], facing=facing)
    speed = float(rng.uniform(0.08, 0.25)) * width
    x, t, direction = float(rng.uniform(low, high)), 0.0, facing
    times, xs = [0.0], [x]
    while t < duration:
        if rng.random() < 0.25:  # a pause before going on
            t += float(rng.uniform(0.5, 1.5))
            times.append(t)
            xs.append(x)
            continue
        target = high if direction > 0 else low
        step = abs(target - x) / speed
        if t + step >= duration:
            x += direction * speed * (duration - t)
            t = duration
        else:
            x, t = target, t + step
            direction = -direction
        times.append(t)
        xs.append(x)
    return ObjectPath(ground_y=ground_y, times_s=times, xs=xs, facing=facing)


def _plan_leave(
    rng: np.random.Generator, config: WorldConfig, w: float, ground_y: float, low: float, high: float,
) -> ObjectPath | None:
    """Stand, walk out through the nearer side, stay out a while, come back in (same side or the other) and
    stop inside; ``None`` when that does not fit in the video."""
    width, duration = config.width, config.duration_s
    speed = float(rng.uniform(0.4, 0.6)) * width
    x0 = float(rng.uniform(low, high))
    side = -1 if x0 < width / 2 else 1
    back_side = side if rng.random() < 0.5 else -side
    outside = {-1: -w / 2 - _MARGIN_PX, 1: width - 1 + w / 2 + _MARGIN_PX}
    t_move = float(rng.uniform(0.25, max(0.25, 0.15 * duration)))
    t_out = t_move + abs(outside[side] - x0) / speed
    t_back = t_out + float(rng.uniform(0.5, 1.5))
    x_final = float(rng.uniform(low + 0.15 * (high - low), high - 0.15 * (high - low)))
    t_final = t_back + abs(x_final - outside[back_side]) / speed
    if t_final > duration - 0.5:
        return None
    return ObjectPath(
        ground_y=ground_y,
        times_s=[0.0, t_move, t_out, t_back, t_back, t_final],
        xs=[x0, x0, outside[side], outside[side], outside[back_side], x_final],
        facing=side,
    )


def _plan_hops(rng: np.random.Generator, config: WorldConfig, objects: list[WorldObject]) -> None:
    """Pick the jumpers and give each one or two hops, placed where the shape is wholly inside the frame."""
    if not objects:
        return
    jumpers: list[WorldObject] = []
    if rng.random() < config.jump_world_probability:
        # The first jumper is one that stays in the frame when there is one: its hops always fit.
        staying = [o for o in objects if _always_inside(o, config.width)]
        pool = staying or objects
        first = pool[int(rng.integers(len(pool)))]
        jumpers.append(first)
        jumpers += [o for o in objects if o is not first and rng.random() < config.jump_probability]
    for obj in sorted(jumpers, key=lambda o: o.object_id):
        n_hops = 2 if rng.random() < 0.35 else 1
        hops: list[Hop] = []
        for _ in range(n_hops):
            hop = _place_hop(rng, config, obj, hops)
            if hop is not None:
                hops.append(hop)
        obj.path.hops = sorted(hops, key=lambda hop: hop.start_s)


def _always_inside(obj: WorldObject, width: int) -> bool:
    # Paths are linear between keyframes, so the extremes are at keyframes.
    return min(obj.path.xs) - obj.width_px / 2 >= 0 and max(obj.path.xs) + obj.width_px / 2 <= width - 1


def _place_hop(rng: np.random.Generator, config: WorldConfig, obj: WorldObject, hops: list[Hop]) -> Hop | None:
    height, width, duration = config.height, config.width, config.duration_s
    for _ in range(40):
        length = float(rng.uniform(*config.hop_duration_s))
        if duration - 0.5 < length:
            return None
        start = float(rng.uniform(0.25, duration - 0.25 - length))
        end = start + length
        if any(start < h.end_s + 0.5 and h.start_s < end + 0.5 for h in hops):
            continue
        xs = obj.path.x_at(np.arange(start, end + _EVENT_STEP_S, _EVENT_STEP_S))
        if np.any(xs - obj.width_px / 2 < 0) or np.any(xs + obj.width_px / 2 > width - 1):
            continue
        room = obj.path.ground_y - obj.height_px - 1  # the top must stay inside the frame at the apex
        apex = min(float(rng.uniform(*config.hop_apex)) * height, room)
        return Hop(start_s=round(start, 3), end_s=round(end, 3), apex_px=apex)
    return None


def _find_events(objects: list[WorldObject], config: WorldConfig) -> list[Event]:
    events: list[Event] = []
    width, duration = config.width, config.duration_s
    clock = np.arange(0.0, duration + _EVENT_STEP_S / 2, _EVENT_STEP_S)
    for obj in objects:
        for hop in obj.path.hops:
            events.append(Event(object_id=obj.object_id, kind="jump", start_s=hop.start_s, end_s=hop.end_s))
        xs = obj.path.x_at(clock)
        left, right = xs - obj.width_px / 2, xs + obj.width_px / 2
        inside = (left >= 0) & (right <= width - 1)
        outside = (right < -_MARGIN_PX / 2) | (left > width - 1 + _MARGIN_PX / 2)
        # 1 = wholly inside, -1 = wholly outside, 0 = crossing the border.
        state = np.where(inside, 1, np.where(outside, -1, 0))
        last_settled, last_index = int(state[0]), 0
        for i in range(1, len(state)):
            s = int(state[i])
            if s == 0:
                continue
            if s != last_settled and last_settled != 0:
                kind: EventKind = "leaves" if s == -1 else "enters"
                # From the last settled sample to the first settled one on the other side.
                start, end = clock[last_index], clock[i]
                events.append(Event(object_id=obj.object_id, kind=kind,
                                    start_s=round(float(start), 3), end_s=round(float(end), 3)))
            last_settled, last_index = s, i
    return sorted(events, key=lambda e: (e.start_s, e.object_id, e.kind))

