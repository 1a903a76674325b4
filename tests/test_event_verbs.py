"""Predicates to stored event kinds: synonyms and inflections map to their kind, and predicates that name
something a track cannot show ("barks", "leaves the ball behind", "stops barking") map to nothing. States ("is
moving", "is parked", "is near the car", "is on the left") map to the state kinds stored beside the events."""

from __future__ import annotations

import pytest

from agent.query.event_verbs import EVENT_WORDS, edge_of, event_kind, event_kinds, event_object, pair_parts
from tools.track_event import EVENT_KINDS, STATE_KINDS

# predicate -> the event kind it asks for, None when it asks for none
KIND_TABLE = [
    # jump
    ("jump", "jump"),
    ("jumps", "jump"),
    ("jumped", "jump"),
    ("jumping", "jump"),
    ("hop", "jump"),
    ("hopped", "jump"),
    ("leap", "jump"),
    ("leapt", "jump"),
    ("bounces", "jump"),
    ("jumps up", "jump"),
    ("a jump", "jump"),
    ("jumps over the fence", "jump"),
    ("is jumping", "jump"),
    ("keeps hopping", "jump"),
    ("made a jump", "jump"),
    # enters
    ("enter", "enters"),
    ("enters", "enters"),
    ("entering", "enters"),
    ("comes in", "enters"),
    ("comes into view", "enters"),
    ("walks in", "enters"),
    ("arrive", "enters"),
    ("arrives", "enters"),
    ("enters the frame", "enters"),
    ("comes on screen", "enters"),
    ("arrives at the gate", "enters"),
    ("enters from the left", "enters"),
    ("runs into the room", "enters"),
    # leaves
    ("leave", "leaves"),
    ("leaves", "leaves"),
    ("exits", "leaves"),
    ("goes out of frame", "leaves"),
    ("walks out", "leaves"),
    ("departs", "leaves"),
    ("goes away", "leaves"),
    ("leaves the building", "leaves"),
    ("has left the building", "leaves"),
    ("leaves through the door", "leaves"),
    ("walks out of the camera's field of view", "leaves"),
    ("drives away into the distance", "leaves"),
    # appears
    ("appear", "appears"),
    ("appears", "appears"),
    ("shows up", "appears"),
    ("becomes visible", "appears"),
    ("emerges", "appears"),
    ("is first seen", "appears"),
    ("emerges from behind the car", "appears"),
    # disappears
    ("disappear", "disappears"),
    ("vanishes", "disappears"),
    ("is hidden", "disappears"),
    ("goes behind the car", "disappears"),
    ("is lost", "disappears"),
    ("hides behind the sofa", "disappears"),
    ("goes out of sight", "disappears"),
    # starts_moving
    ("starts moving", "starts_moving"),
    ("begins to move", "starts_moving"),
    ("starts to walk", "starts_moving"),
    ("sets off", "starts_moving"),
    ("moves off", "starts_moving"),
    ("drives off", "starts_moving"),
    # stops_moving
    ("stops", "stops_moving"),
    ("stopped", "stops_moving"),
    ("stops moving", "stops_moving"),
    ("comes to a stop", "stops_moving"),
    ("halts", "stops_moving"),
    ("pulls over", "stops_moving"),
    ("pull over", "stops_moving"),
    ("parks", "stops_moving"),
    ("stops at the red light", "stops_moving"),
    ("parks in the driveway", "stops_moving"),
    # meets
    ("meet", "meets"),
    ("meets", "meets"),
    ("touches", "meets"),
    ("bumps into", "meets"),
    ("collides with", "meets"),
    ("runs into", "meets"),
    ("approaches and touches", "meets"),
    ("reaches", "meets"),
    ("meets the white ball", "meets"),
    ("walks into a pole", "meets"),
    # something a track cannot show, or not this event
    ("is red", None),
    ("barks", None),
    ("climbs the fence", None),
    ("leaves the ball behind", None),
    ("enters the car", None),  # a car is no place that fills the frame
    ("comes in first", None),  # a race result
    ("goes out", None),  # a ball out of play stays in the frame
    ("appears happy", None),
    ("loses the ball", None),
    ("sets off the alarm", None),
    ("takes off his jacket", None),
    ("stops the ball", None),  # a save: the ball is stopped, not the subject
    ("stops barking", None),
    ("parks the car", None),  # the car stops, not the subject
    ("does not jump", None),
    ("never jumps", None),
    ("starts fighting", None),
    ("high-five", None),
    ("shake hands", None),
    ("falls", None),
    ("scored a goal", None),
    ("moves the ball", None),  # the ball moves, not the subject
    ("is moving the box", None),
    ("runs a red light", None),
    ("is left", None),
    ("is on the table", None),  # a place in the scene, not a side of the frame
    ("does not stop", None),
    # moving (a state: every moment it holds)
    ("is moving", "moving"),
    ("moves", "moving"),
    ("keeps moving", "moving"),
    ("is in motion", "moving"),
    ("is running", "moving"),
    ("walks along the fence", "moving"),
    ("is driving", "moving"),
    ("rolls", "moving"),
    ("crosses the street", "moving"),
    ("moves along the road", "moving"),
    # which way (as the camera sees it)
    ("moves to the left", "moving_left"),
    ("is moving left", "moving_left"),
    ("crosses from right to left", "moving_left"),
    ("goes right", "moving_right"),
    ("drives to the right", "moving_right"),
    ("moves from left to right", "moving_right"),
    # still
    ("is still", "still"),
    ("stands still", "still"),
    ("is stationary", "still"),
    ("is parked", "still"),
    ("is not moving", "still"),
    ("isn't moving", "still"),
    ("does not move", "still"),
    ("doesn't move", "still"),
    ("never moves", "still"),
    ("stays put", "still"),
    ("waits", "still"),
    # near
    ("is near the ball", "near"),
    ("is next to the white box", "near"),
    ("is beside the car", "near"),
    ("is close to the door", "near"),
    ("stands next to the man", "near"),
    ("stays with the dog", "near"),
    ("is nearby", "near"),
    # the sides of the frame
    ("is on the left", "on_left"),
    ("is on the left side of the frame", "on_left"),
    ("is in the left half of the picture", "on_left"),
    ("is on the right", "on_right"),
    ("stays on the right side of the screen", "on_right"),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("predicate", "kind"), KIND_TABLE, ids=[str(p) for p, _ in KIND_TABLE])
def test_event_kind_table(predicate: str | None, kind: str | None) -> None:
    assert event_kind(predicate) == kind


@pytest.mark.parametrize(
    ("predicate", "other"),
    [
        ("meets the white ball", "the white ball"),
        ("bumps into a car", "a car"),
        ("is next to the white box", "the white box"),
        ("are near each other", None),
        ("meet one another", None),
        ("stands near a red car", "a red car"),
        ("collides with the van again", "the van"),
        ("reaches the finish line", "the finish line"),
        ("touches the Red Ball", "the Red Ball"),
        ("meets", None),  # two players meet: no second thing named
        ("jumps over the fence", None),  # a jump is a one-object event
        ("leaves the building", None),
        (None, None),
    ],
)
def test_event_object(predicate: str | None, other: str | None) -> None:
    assert event_object(predicate) == other


def test_event_words_cover_every_kind() -> None:
    assert set(EVENT_WORDS) == set(EVENT_KINDS)
    assert all(EVENT_WORDS[kind] for kind in EVENT_KINDS)


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_every_documented_phrase_reaches_its_kind(kind: str) -> None:
    for phrase in EVENT_WORDS[kind]:
        assert event_kind(phrase.replace("<place>", "the frame")) == kind, phrase


@pytest.mark.parametrize(
    "rest, kind",
    [
        (" frame" * 300 + " x", None),  # was a regex with ~1.8**n splits to try: 22 words took 0.6 s
        (" of" * 600 + " the frame", "leaves"),
        (" the big frame" * 200 + " now", "leaves"),
        (" out quickly", None),  # a preposition leads a where-phrase, never a manner word
    ],
)
def test_what_follows_a_scene_verb_is_read_in_linear_time(rest: str, kind: str | None) -> None:
    import time

    started = time.perf_counter()
    assert event_kind("leaves" + rest) == kind
    assert time.perf_counter() - started < 1.0  # a hang guard, not a speed target: it takes about a millisecond


def test_pair_parts_splits_a_subject_of_two_phrases():
    assert pair_parts("the red ball and the blue box") == ("the red ball", "the blue box")
    assert pair_parts("a man And a woman") == ("a man", "a woman")
    assert pair_parts("the dog") is None
    assert pair_parts("the dog and the cat and the bird") is None


@pytest.mark.parametrize(
    ("predicate", "kinds"),
    [
        ("jumps", ["jump"]),
        ("jump or stop", ["jump", "stops_moving"]),
        ("is still or moving", ["still", "moving"]),
        ("enters or leaves the frame", ["enters", "leaves"]),
        ("arrive and leave", ["enters", "leaves"]),
        ("stop and stay", ["still"]),  # a phrase of its own: not every part names a kind
        ("stops and jumps", ["stops_moving", "jump"]),
        ("does what", [k for k in EVENT_KINDS if k not in STATE_KINDS]),
        ("happens", [k for k in EVENT_KINDS if k not in STATE_KINDS]),
        ("barks", []),
        ("is visible", ["visible"]),
        ("is not near the box", ["not_near"]),
        ("isn't on the left", ["not_on_left"]),
        ("is out of view", ["not_visible"]),
        ("is gone", ["not_visible"]),
        ("is not seen", ["not_visible"]),
        ("is not moving", ["still"]),  # a phrase of its own
        ("does not jump", []),  # an event that does not happen has no span
        ("can be seen", ["visible"]),
        (None, ["visible"]),
    ],
)
def test_event_kinds_of_a_predicate(predicate: str | None, kinds: list[str]) -> None:
    assert event_kinds(predicate) == kinds


@pytest.mark.parametrize(("predicate", "edge"), [
    ("enters from the left", "left"), ("leaves the frame at the top", "top"), ("exits on the right side", "right"),
    ("comes in from the bottom", "bottom"), ("leaves", None), ("enters the room", None),
    ("jumps to the left", None), ("is on the left", None), (None, None),
])
def test_the_edge_an_entrance_or_exit_names(predicate: str | None, edge: str | None) -> None:
    assert edge_of(predicate) == edge
