"""The event currency: what an object did, and when, read off its stored track (no model, no pixels).

Events are computed when footage is indexed and stored in the index's `events` table; a question whose verb
names an event kind ("jumps", "leaves", "meets") is answered from them. The rules that make them live in
`tools/track_events.py`; this file holds only the types both sides share. Times are seconds from the start
of the video; boxes are pixels of the stored masks (x0, y0, x1, y1, exclusive end).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

EventKind = Literal["jump", "enters", "leaves", "appears", "disappears", "starts_moving", "stops_moving", "meets",
                    "moving", "still", "near", "on_left", "on_right", "visible", "moving_left", "moving_right"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
# Kinds that are states, not changes: each occurrence spans the whole time the state holds ("every moment the dog is
# moving" is the union of its spans), where an event spans the change alone.
STATE_KINDS: tuple[EventKind, ...] = ("moving", "still", "near", "on_left", "on_right", "visible", "moving_left",
                                      "moving_right")
# The unit of `TrackEvent.size` per kind that has one. Object heights, not pixels, so a jump far from the camera
# compares with one near it. Other kinds have no size; their length (end - start) is what "longest" ranks by.
SIZE_UNITS: dict[str, str] = {
    "jump": "object heights above its resting line",
    "moving": "object heights/s at its fastest", "moving_left": "object heights/s at its fastest",
    "moving_right": "object heights/s at its fastest", "starts_moving": "object heights/s at its fastest",
    "stops_moving": "object heights/s at its fastest",
}
# Kinds with a second object (`TrackEvent.other_object_id`).
PAIR_KINDS: tuple[EventKind, ...] = ("meets", "near")


class BoxPoint(BaseModel):
    """One present sample of an object's track."""

    time_s: float
    box: tuple[float, float, float, float] = Field(description="x0, y0, x1, y1 in pixels of the stored mask")
    score: float = Field(default=1.0, description="the tracker's object score, [0, 1]")
    part_bottom: float | None = Field(
        default=None, description="y1 of the mask's highest sizeable connected part (`tools/mask_parts.py`): where "
        "a part of the mask is off the ground when the box's bottom is not; None: not known, the box's y1 stands in")
    area: float | None = Field(default=None, description="pixels in the mask; None: not known (the point counts as "
                               "a sighting whatever its size)")
    colour: tuple[float, float, float] | None = Field(
        default=None, description="the mean colour under the mask, CIE Lab (tools/mask_colour.py); None: not known (the point "
        "counts as a sighting whatever its colour)")


class ObjectTrack(BaseModel):
    """Where one object was seen: its present samples in time order, and the size of the frames they are in."""

    object_id: int
    frame_size: tuple[int, int] = Field(description="(height, width) of the stored masks, pixels")
    points: list[BoxPoint]


class TrackEvent(BaseModel):
    """One occurrence of an event kind. `other_object_id` is the second object of a two-object event (meets)."""

    object_id: int
    kind: EventKind
    start_s: float
    end_s: float
    score: float = Field(description="how clearly the rule fired, [0, 1]")
    evidence_s: list[float] = Field(default_factory=list, description="times of the samples the rule read")
    rule: str = Field(description="the rule that produced it, in words, shown with the moment")
    other_object_id: int | None = None
    size: float | None = Field(default=None, description="how big it was, in `SIZE_UNITS[kind]`, for the kinds that "
                               "have one; what 'the highest jump' and 'the fastest run' rank by")
