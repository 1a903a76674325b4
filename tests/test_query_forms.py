"""The shapes people ask in, through the deterministic parser: requests wrapped around the question, plural
and coordinated subjects, events named by a noun, 'when does X ...' questions, time windows, file names and
presence-only questions, from surveillance, sports and pet footage. No model is loaded here."""

from __future__ import annotations

import pytest

from agent.query.event_verbs import describes, event_kind
from agent.query.query_parse import QueryParseError, fallback_plan
from tests.test_query_parse import expected_plan

# question -> (subject, predicate, video, start_s, end_s)
FORMS = [
    # A request around the question.
    (
        "show me the moments the man in the red jacket leaves the building",
        ("the man in the red jacket", "leaves the building", None, None, None),
    ),
    ("find every moment the dog jumps", ("the dog", "jumps", None, None, None)),
    ("list all clips where a car stops", ("a car", "stops", None, None, None)),
    ("can you find when the cat climbs the fence", ("the cat", "climbs the fence", None, None, None)),
    ("I want to see every time the goalkeeper dives", ("the goalkeeper", "dives", None, None, None)),
    (
        "i'm looking for the moment the cat jumps off the counter",
        ("the cat", "jumps off the counter", None, None, None),
    ),
    ("tell me when the ball hits the post", ("the ball", "hits the post", None, None, None)),
    ("let me see every time the dog drinks water", ("the dog", "drinks water", None, None, None)),
    ("which clips show a dog jumping", ("a dog", "jumping", None, None, None)),
    # Which video: the moments answered say which, so the subject is what is asked about.
    ("which videos have a purple ball", ("a purple ball", None, None, None, None)),
    ("which cameras show the van", ("the van", None, None, None, None)),
    ("in which video does the dog jump", ("the dog", "jump", None, None, None)),
    ("which video is the purple ball in", ("the purple ball", None, None, None, None)),
    ("on which camera is the van parked", ("the van", "is parked", None, None, None)),
    # A search-box query: the verb bare after the noun.
    ("red ball jump", ("red ball", "jump", None, None, None)),
    ("person enter the shop", ("person", "enter the shop", None, None, None)),
    ("dog jump over the fence in cam1.mp4", ("dog", "jump over the fence", "cam1.mp4", None, None)),
    # ... but a compound noun whose second word is also a verb stays whole.
    ("the car park entrance", ("the car park entrance", None, None, None, None)),
    ("show me parts of the video where the dog jumps", ("the dog", "jumps", None, None, None)),
    ("moments in the footage when the dog barks", ("the dog", "barks", None, None, None)),
    # Which occurrence (nth: 1 the first, -1 the last), in each video.
    ("the first time the dog jumps", ("the dog", "jumps", None, None, None, 1)),
    ("the last time the van leaves", ("the van", "leaves", None, None, None, -1)),
    ("when does the dog first jump", ("the dog", "jump", None, None, None, 1)),
    ("when did the van last leave cam2.mp4", ("the van", "leave", "cam2.mp4", None, None, -1)),
    ("the second jump of the white box", ("the white box", "jumps", None, None, None, 2)),
    ("the dog's third jump after 1:00", ("the dog", "jumps", None, 60.0, None, 3)),
    ("when does the ball bounce for the second time", ("the ball", "bounce", None, None, None, 2)),
    ("show me the last exit of the man in red", ("the man in red", "exits", None, None, None, -1)),
    ("the first jump", ("anything", "jumps", None, None, None, 1)),
    # "first" of a window or of a thing is no occurrence.
    ("every jump in the first 5 minutes", ("anything", "jumps", None, None, 300.0)),
    ("the first dog", ("the first dog", None, None, None, None)),
    # Plural, numbered and coordinated subjects; verbs of several words.
    ("when do the two players high-five", ("the two players", "high-five", None, None, None)),
    ("when do the players shake hands", ("the players", "shake hands", None, None, None)),
    ("every time two dogs start fighting", ("two dogs", "start fighting", None, None, None)),
    ("when does the bus pull over", ("the bus", "pull over", None, None, None)),
    ("a man and a woman shake hands", ("a man and a woman", "shake hands", None, None, None)),
    ("when do the police arrive", ("the police", "arrive", None, None, None)),
    ("people crossing the street between 0:30 and 1:00", ("people", "crossing the street", None, 30.0, 60.0)),
    # An event named by a noun becomes a verb predicate.
    ("falls of the skier", ("the skier", "falls", None, None, None)),
    ("all jumps of the red ball", ("the red ball", "jumps", None, None, None)),
    ("every entrance of the delivery van", ("the delivery van", "enters", None, None, None)),
    ("goals scored by the striker", ("the striker", "scored a goal", None, None, None)),
    ("show the dog's jumps", ("the dog", "jumps", None, None, None)),
    ("the striker's goals", ("the striker", "scores a goal", None, None, None)),
    ("every shot by the striker", ("the striker", "shoots", None, None, None)),
    ("passes made by the midfielder", ("the midfielder", "made a pass", None, None, None)),
    # where / when / what time does X verb ...
    ("where does the cat sleep", ("the cat", "sleep", None, None, None)),
    ("when did the white van arrive in cam2.mp4", ("the white van", "arrive", "cam2.mp4", None, None)),
    ("at what time does the dog enter the frame", ("the dog", "enter the frame", None, None, None)),
    ("how many times does the dog bark", ("the dog", "bark", None, None, None)),
    ("does the cat ever jump on the sofa?", ("the cat", "jump on the sofa", None, None, None)),
    ("when exactly does the delivery man drop the package", ("the delivery man", "drop the package", None, None, None)),
    ("when does the car park in the garage", ("the car", "park in the garage", None, None, None)),
    ("who enters the shop after 5 min", ("someone", "enters the shop", None, 300.0, None)),
    ("has the white van left?", ("the white van", "left", None, None, None)),
    ("the cat when it climbs the fence", ("the cat", "climbs the fence", None, None, None)),
    # Time windows and file names.
    ("the dog jumps after 10:00", ("the dog", "jumps", None, 600.0, None)),
    ("a car stops between 1:30 and 2:00", ("a car", "stops", None, 90.0, 120.0)),
    ("the goalkeeper dives in the first 5 minutes", ("the goalkeeper", "dives", None, None, 300.0)),
    ("the cat jumps before 90 s", ("the cat", "jumps", None, None, 90.0)),
    ("when does the man leave in 'front door.mp4'", ("the man", "leave", "front door.mp4", None, None)),
    ("the red car in cam3.mp4 after 1h 2m", ("the red car", None, "cam3.mp4", 3720.0, None)),
    ("the dog in the first five minutes", ("the dog", None, None, None, 300.0)),
    ("between one and two minutes the cat jumps", ("the cat", "jumps", None, 60.0, 120.0)),
    ("the dog sleeps after about 2 minutes", ("the dog", "sleeps", None, 120.0, None)),
    ("the striker shoots after minute 80", ("the striker", "shoots", None, 4800.0, None)),
    ("after the 10 minute mark the dog jumps", ("the dog", "jumps", None, 600.0, None)),
    # One instant: the moments that span it.
    ("the dog at 1:30", ("the dog", None, None, 90.0, 90.0)),
    # Presence only.
    ("the red car", ("the red car", None, None, None, None)),
    ("is there a person in the parking lot?", ("a person in the parking lot", None, None, None, None)),
    ("any bicycles?", ("bicycles", None, None, None, None)),
    ("red ball", ("red ball", None, None, None, None)),
    ("dogs and cats", ("dogs and cats", None, None, None, None)),
    # A singular event noun without "every" can name a place; it stays a thing to find.
    ("the entrance of the building", ("the entrance of the building", None, None, None, None)),
    # Pet footage.
    ("when does the puppy chew the shoe", ("the puppy", "chew the shoe", None, None, None)),
    ("moments when the cat is on the table", ("the cat", "is on the table", None, None, None)),
    ("when does the dog lie down", ("the dog", "lie down", None, None, None)),
    (
        "show me the cat when it knocks the vase off the table",
        ("the cat", "knocks the vase off the table", None, None, None),
    ),
    ("when do the kittens play", ("the kittens", "play", None, None, None)),
    # Sports.
    ("every serve by the player in white", ("the player in white", "serves", None, None, None)),
    ("when does the ball go out", ("the ball", "go out", None, None, None)),
    ("the moment the runner crosses the finish line", ("the runner", "crosses the finish line", None, None, None)),
    ("every time the referee shows a yellow card", ("the referee", "shows a yellow card", None, None, None)),
    # Surveillance.
    ("did anyone enter the garage after 23:00", ("anyone", "enter the garage", None, 1380.0, None)),
    (
        "a person with a backpack loitering near the entrance",
        ("a person with a backpack", "loitering near the entrance", None, None, None),
    ),
    ("the dog's owner walks in", ("the dog's owner", "walks in", None, None, None)),
    # States: where the subject is and whether it moves, and negations kept in the predicate.
    ("when is the dog on the left", ("the dog", "is on the left", None, None, None)),
    ("when is the man in red near the car", ("the man in red", "is near the car", None, None, None)),
    ("find every moment the delivery van is not moving", ("the delivery van", "is not moving", None, None, None)),
    ("when does the car never stop", ("the car", "never stop", None, None, None)),
    ("find every moment the ball on the left jumps", ("the ball on the left", "jumps", None, None, None)),
    ("when is the ball in front of the goal", ("the ball in front of the goal", None, None, None, None)),
    ("when doesn't the blue box move", ("the blue box", "not move", None, None, None)),
    ("when isn’t the dog moving", ("the dog", "is not moving", None, None, None)),
    ("when will the bus arrive", ("the bus", "arrive", None, None, None)),
    (
        "show me when the dog is next to the white box in yard.mp4",
        ("the dog", "is next to the white box", "yard.mp4", None, None),
    ),
    # No thing in particular: every object's events ("anything").
    ("find every jump", ("anything", "jumps", None, None, None)),
    ("show all jumps in cam3.mp4 after 1:00", ("anything", "jumps", "cam3.mp4", 60.0, None)),
    ("list every entrance", ("anything", "enters", None, None, None)),
    ("what jumps", ("anything", "jumps", None, None, None)),
    ("which objects leave the frame before 0:30", ("anything", "leave the frame", None, None, 30.0)),
    ("what is near the white box", ("anything", "is near the white box", None, None, None)),
    ("when does something enter", ("something", "enter", None, None, None)),
    ("which dog jumps", ("the dog", "jumps", None, None, None)),
    # Everything a thing does.
    ("what does the white box do", ("the white box", "does what", None, None, None)),
    ("what is the dog doing after 0:10", ("the dog", "does what", None, 10.0, None)),
    ("what happened to the red car in cam2.mp4", ("the red car", "does what", "cam2.mp4", None, None)),
    ("what happens", ("anything", "happens", None, None, None)),
    ("what is the red ball near", ("the red ball", "is near", None, None, None)),
    ("what does the dog chase", ("the dog", "chase", None, None, None)),
    # Counts and durations: the answer gives them.
    ("how many jumps are there", ("anything", "jumps", None, None, None)),
    ("how many dogs are there in cam3.mp4", ("dogs", None, "cam3.mp4", None, None)),
    ("count the jumps of the white box", ("the white box", "jumps", None, None, None)),
    ("how long is the red ball moving", ("the red ball", "is moving", None, None, None)),
    ("for how long does the dog stand still", ("the dog", "stand still", None, None, None)),
    # A state that does not hold.
    ("when is the car out of view after 1:00", ("the car", "is out of view", None, 60.0, None)),
    ("when is the dog not near the white box", ("the dog", "is not near the white box", None, None, None)),
    ("when isn't the dog on the left", ("the dog", "is not on the left", None, None, None)),
    ("when is the van gone", ("the van", "is gone", None, None, None)),
    # A participle before the noun is what the thing does, when it names a kind; else it describes the thing.
    ("the jumping ball", ("the ball", "jumping", None, None, None)),
    ("a moving car in cam3.mp4", ("a car", "moving", "cam3.mp4", None, None)),
    ("the running man in red", ("the man in red", "running", None, None, None)),
    ("the sleeping dog", ("the sleeping dog", None, None, None, None)),
    ("moments where the white box and the red ball are close", ("the white box and the red ball", "are close", None,
                                                                None, None)),
    # Which way it moves.
    ("when does the red ball move left", ("the red ball", "move left", None, None, None)),
    ("cars driving from left to right in cam3.mp4", ("cars", "driving from left to right", "cam3.mp4", None, None)),
    # Either of two events.
    ("when does the white box jump or stop", ("the white box", "jump or stop", None, None, None)),
    ("when did the delivery truck arrive and leave", ("the delivery truck", "arrive and leave", None, None, None)),
    # A quantified subject with a relative clause asks for each time one does it; "the player who serves" is which one.
    ("show me every person who enters after 10:00", ("person", "enters", None, 600.0, None)),
    ("all cars that stop at the gate", ("cars", "stop at the gate", None, None, None)),
]


# The most of something and how long: question -> (subject, predicate, video, start_s, end_s, nth) and the plan's
# superlative, top, min_duration_s, max_duration_s.
ORDER_FORMS = [
    ("the highest jump of the pole vaulter", ("the pole vaulter", "jumps", None, None, None), ("highest", None, None, None)),
    ("when does the dog jump highest", ("the dog", "jump", None, None, None), ("highest", None, None, None)),
    ("which jump of the red ball is the highest", ("the red ball", "jumps", None, None, None),
     ("highest", None, None, None)),
    ("the dog's biggest jump in yard.mp4", ("the dog", "jumps", "yard.mp4", None, None), ("highest", None, None, None)),
    ("show the three highest jumps", ("anything", "jumps", None, None, None), ("highest", 3, None, None)),
    ("top 3 longest stops of the bus", ("the bus", "stops", None, None, None), ("longest", 3, None, None)),
    ("the longest time the dog is still", ("the dog", "is still", None, None, None), ("longest", None, None, None)),
    ("when is the dog still for the longest", ("the dog", "is still", None, None, None), ("longest", None, None, None)),
    ("what is the longest the white box stays still", ("the white box", "stays still", None, None, None),
     ("longest", None, None, None)),
    ("find the fastest run of the player after 2:00", ("the player", "runs", None, 120.0, None),
     ("fastest", None, None, None)),
    ("the shortest stop of the van", ("the van", "stops", None, None, None), ("shortest", None, None, None)),
    ("when is the red car parked for more than 10 minutes", ("the red car", "is parked", None, None, None),
     (None, None, 600.0, None)),
    ("every time the car is still for at least two minutes in cam3.mp4",
     ("the car", "is still", "cam3.mp4", None, None), (None, None, 120.0, None)),
    ("when does the dog stay still for 30 seconds or more", ("the dog", "stay still", None, None, None),
     (None, None, 30.0, None)),
    ("when does the bus stop for less than 5 seconds after 1:00", ("the bus", "stop", None, 60.0, None),
     (None, None, None, 5.0)),
    ("the most recent time the van leaves", ("the van", "leaves", None, None, None, -1), (None, None, None, None)),
    # A superlative of a thing names which thing; a time after "after" is a window, not a length.
    ("find the biggest dog", ("the biggest dog", None, None, None, None), (None, None, None, None)),
    ("the dog jumps after more than 10 minutes", ("the dog", "jumps", None, 600.0, None), (None, None, None, None)),
    # A bare verb before "to" or a participle starts the predicate.
    ("when does the person walk to the left", ("the person", "walk to the left", None, None, None),
     (None, None, None, None)),
    ("how long does the car stay parked", ("the car", "stay parked", None, None, None), (None, None, None, None)),
]


@pytest.mark.parametrize(("question", "expected", "order"), ORDER_FORMS, ids=[q for q, _, _ in ORDER_FORMS])
def test_the_most_of_something_and_how_long(question: str, expected: tuple, order: tuple) -> None:
    superlative, top, shortest, longest = order
    assert fallback_plan(question) == expected_plan(question, expected).model_copy(update={
        "superlative": superlative, "top": top, "min_duration_s": shortest, "max_duration_s": longest})


def test_staying_parked_is_still_and_walking_to_the_left_is_moving_left():
    assert event_kind("stay parked") == "still" and event_kind("walk to the left") == "moving_left"


@pytest.mark.parametrize(("question", "expected"), FORMS, ids=[q for q, _ in FORMS])
def test_question_form(question: str, expected: tuple) -> None:
    assert fallback_plan(question) == expected_plan(question, expected)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("all jumps of the red ball", "jump"),
        ("show the dog's jumps", "jump"),
        ("every entrance of the delivery van", "enters"),
        ("the van's arrivals", "enters"),
        ("exits of the man in red", "leaves"),
        ("every appearance of the cat", "appears"),
        ("every stop of the bus", "stops_moving"),
        ("collisions of the two cars", "meets"),
        ("every time the van pulls over", "stops_moving"),
        ("at what time does the dog enter the frame", "enters"),
        ("falls of the skier", None),
        ("when is the dog on the left", "on_left"),
        ("find every moment the delivery van is not moving", "still"),
        ("when is the man in red near the car", "near"),
        ("every moment the cat is moving", "moving"),
        ("when does the dog stand still", "still"),
        ("when is the man in red", None),
        ("when doesn't the blue box move", "still"),
        ("when does the dog not jump", None),
        ("find every jump", "jump"),
        ("which objects leave the frame", "leaves"),
        ("what is near the white box", "near"),
        ("what is the red ball near", "near"),
        ("the jumping ball", "jump"),
        ("when does the red ball move left", "moving_left"),
        ("cars driving from left to right in cam3.mp4", "moving_right"),
        ("moments where the white box and the red ball are close", "near"),
    ],
)
def test_predicate_feeds_event_kind(question: str, kind: str | None) -> None:
    assert event_kind(fallback_plan(question).predicate) == kind


@pytest.mark.parametrize(
    ("question", "asks_everything"),
    [("what does the white box do", True), ("what is the dog doing", True), ("what happened to the van", True),
     ("what happens after 1:00", True), ("when does the dog jump", False), ("what jumps", False),
     ("what does the dog chase", False)],
)
def test_what_a_thing_does_asks_for_every_event_kind(question: str, asks_everything: bool) -> None:
    assert describes(fallback_plan(question).predicate) is asks_everything


@pytest.mark.parametrize(("question", "subject", "predicate", "video", "last_s"), [
    ("the dog chasing the cat in the last 5 minutes", "the dog", "chasing the cat", None, 300.0),
    ("a car during the final minute", "a car", None, None, 60.0),
    ("what happened in the last 30 seconds of cam2.mp4", "anything", "happened", "cam2.mp4", 30.0),
    ("in the last 2 minutes when is the dog still", "the dog", "is still", None, 120.0),
])
def test_time_from_the_end_counts_back_from_each_video_s_end(question, subject, predicate, video, last_s) -> None:
    plan = fallback_plan(question)
    assert (plan.subject, plan.predicate, plan.video, plan.last_s, plan.start_s, plan.end_s) == (
        subject, predicate, video, last_s, None, None)


def test_time_from_the_end_is_read_beside_the_model_s_plan() -> None:
    from agent.query.query_parse import plan_from_model_text

    question = "when does the dog jump in the last 20 seconds"
    plan = plan_from_model_text(question, '{"subject": "the dog", "predicate": "jump"}')
    assert plan is not None and plan.parsed_by == "model" and plan.last_s == 20.0


def test_no_time_at_the_end_is_one_line_saying_what_to_give() -> None:
    from agent.query.query_parse import plan_from_model_text

    question = "when does the dog jump in the last 0 seconds"
    with pytest.raises(QueryParseError, match=r"'in the last 0 seconds' holds no time; give a length above 0"):
        fallback_plan(question)
    # The model's plan is checked with it, so the fallback's line is what the user gets.
    assert plan_from_model_text(question, '{"subject": "the dog", "predicate": "jump"}') is None
