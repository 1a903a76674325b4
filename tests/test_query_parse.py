"""The query plan parser: real phrasings through the fallback rules, and the model's answer accepted only when
it is valid JSON that names words from the question. No model is loaded here."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agent.query.query_parse import QueryParseError, fallback_plan, parse_time, plan_from_model_text, plan_prompt
from agent.query.query_plan import QueryPlan
from sa2va_engine.user_error import UserError

# question -> (subject, predicate, video, start_s, end_s)
FALLBACK_TABLE = [
    ("find every moment the dog jumps", ("the dog", "jumps", None, None, None)),
    ("when does the red car appear after 10:00 in cam3.mp4", ("the red car", "appear", "cam3.mp4", 600.0, None)),
    ("show the goalkeeper diving", ("the goalkeeper", "diving", None, None, None)),
    ("person walking near the gate between 1:00 and 2:30", ("person", "walking near the gate", None, 60.0, 150.0)),
    ("any frames where a white truck is parked", ("a white truck", "is parked", None, None, None)),
    ("the player who serves in pingpong.mp4", ("the player who serves", None, "pingpong.mp4", None, None)),
    ("moments with a cyclist before 00:45", ("a cyclist", None, None, None, 45.0)),
    ("is there a cat on the sofa?", ("a cat on the sofa", None, None, None, None)),
    (
        "find the pole vaulter clearing the bar in the first 2 minutes",
        ("the pole vaulter", "clearing the bar", None, None, 120.0),
    ),
    ("dog", ("dog", None, None, None, None)),
    (
        "Show me all clips where the man in red falls down after 90 s",
        ("the man in red", "falls down", None, 90.0, None),
    ),
    ("all clips where the man in red falls down after 1h 2m", ("the man in red", "falls down", None, 3720.0, None)),
    ("the bus stops after 1:02:03", ("the bus", "stops", None, 3723.0, None)),
    ("a dog barking from 30s to 45s", ("a dog", "barking", None, 30.0, 45.0)),
    ("find the dog in 'front door.mkv'", ("the dog", None, "front door.mkv", None, None)),
    ('the dog in "back yard.mp4" after 90 seconds', ("the dog", None, "back yard.mp4", 90.0, None)),
    ("FIND EVERY MOMENT THE DOG JUMPS!!", ("the dog", "jumps", None, None, None)),
    ("When does the man in red fall down in CAM1.MOV?", ("the man in red", "fall down", "CAM1.MOV", None, None)),
    ("a car on the left after 1.5 min in yard.webm", ("a car on the left", None, "yard.webm", 90.0, None)),
    ("the kid swimming in pool.avi before 2 min", ("the kid", "swimming", "pool.avi", None, 120.0)),
    ("between 10 and 20 seconds the dog sleeping on street.ts", ("the dog", "sleeping", "street.ts", 10.0, 20.0)),
    ("when is the door open", ("the door", "is open", None, None, None)),
    ("is the dog sleeping?", ("the dog", "is sleeping", None, None, None)),
    (
        "the man wearing a hat in clip.avi after 2 minutes and before 5 min",
        ("the man wearing a hat", None, "clip.avi", 120.0, 300.0),
    ),
    ("the woman with black gloves waves", ("the woman with black gloves", "waves", None, None, None)),
    ("are there any dogs running?", ("dogs", "running", None, None, None)),
    ("when does the pole vaulter clear the bar", ("the pole vaulter", "clear the bar", None, None, None)),
]


def expected_plan(question: str, expected: tuple) -> QueryPlan:
    """The fallback plan a table row (subject, predicate, video, start_s, end_s[, nth]) says `question` gets."""
    subject, predicate, video, start_s, end_s, *nth = expected
    return QueryPlan(question=question, subject=subject, predicate=predicate, video=video, start_s=start_s,
                     end_s=end_s, nth=nth[0] if nth else None, parsed_by="fallback")


@pytest.mark.parametrize(("question", "expected"), FALLBACK_TABLE, ids=[q for q, _ in FALLBACK_TABLE])
def test_fallback_plan_table(question: str, expected: tuple) -> None:
    assert fallback_plan(question) == expected_plan(question, expected)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10:00", 600.0),
        ("1:02:03", 3723.0),
        ("00:45", 45.0),
        ("90 s", 90.0),
        ("90s", 90.0),
        ("90 seconds", 90.0),
        ("2 minutes", 120.0),
        ("2 min", 120.0),
        ("1h 2m", 3720.0),
        ("1.5 min", 90.0),
        ("1 hour 30 minutes", 5400.0),
    ],
)
def test_parse_time(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


def test_parse_time_rejects_words() -> None:
    with pytest.raises(ValueError):
        parse_time("ten minutes")


@pytest.mark.parametrize("question", ["", "   ", "???", "!!! ...", "find every moment", "after 10:00"])
def test_fallback_plan_without_subject_is_a_user_error(question: str) -> None:
    with pytest.raises(QueryParseError) as info:
        fallback_plan(question)
    assert isinstance(info.value, UserError)
    assert repr(question) in str(info.value)
    assert "\n" not in str(info.value)


def test_fallback_plan_reversed_range_is_a_user_error() -> None:
    with pytest.raises(QueryParseError, match="before start_s"):
        fallback_plan("the dog between 2:00 and 1:00")


def test_fallback_plan_two_videos_is_a_user_error() -> None:
    with pytest.raises(QueryParseError, match="more than one video"):
        fallback_plan("the dog in a.mp4 and b.mp4")


QUESTION = "when does the red car appear after 10:00 in cam3.mp4"


def test_model_text_in_fences_with_prose() -> None:
    text = (
        "Here is the plan:\n```json\n"
        '{"subject": "the red car", "predicate": "appear", "video": "cam3.mp4", "start_s": 600, "end_s": null}\n'
        "```\nLet me know if you need more."
    )
    assert plan_from_model_text(QUESTION, text) == QueryPlan(
        question=QUESTION,
        subject="the red car",
        predicate="appear",
        video="cam3.mp4",
        start_s=600.0,
        parsed_by="model",
    )


def test_model_text_cannot_set_question_or_parsed_by() -> None:
    text = '{"subject": "The Red Car", "question": "something else", "parsed_by": "fallback", "predicate": ""}'
    plan = plan_from_model_text(QUESTION, text)
    assert plan is not None
    assert (plan.question, plan.subject, plan.predicate, plan.parsed_by) == (QUESTION, "The Red Car", None, "model")


def test_model_text_skips_braces_that_are_not_json() -> None:
    text = 'A plan {like this}: {"subject": "the car"}'
    plan = plan_from_model_text(QUESTION, text)
    assert plan is not None and plan.subject == "the car"


@pytest.mark.parametrize(
    "text",
    [
        "The red car appears at ten minutes.",  # prose only
        "",
        '{"subject": "the red car", "start_s": 600',  # truncated JSON
        "[1, 2, 3]",  # JSON, but not an object
        '{"subject": ["the red car"]}',  # wrong type
        '{"subject": "the red car", "start_s": "ten minutes"}',  # wrong type
        '{"subject": "the red car", "start_s": true}',  # a bool is not a number here
        '{"predicate": "appear"}',  # no subject
        '{"subject": "   "}',  # empty subject
        '{"subject": "the blue truck", "predicate": "appear"}',  # hallucinated subject
        '{"subject": "the red bus"}',  # partly hallucinated subject
        '{"subject": "the red car", "start_s": -5}',  # negative time
        '{"subject": "the red car", "start_s": 600, "end_s": 100}',  # ends before it starts
        '{"subject": "the red car", "video": "cam9.mp4"}',  # hallucinated video
    ],
)
def test_model_text_rejected(text: str) -> None:
    assert plan_from_model_text(QUESTION, text) is None


def test_model_subject_matches_question_words_case_insensitively() -> None:
    plan = plan_from_model_text("FIND EVERY MOMENT THE DOGS JUMP", '{"subject": "the dog", "predicate": "jump"}')
    assert plan is not None and plan.subject == "the dog"


def test_plan_prompt_asks_for_json_with_schema_and_examples() -> None:
    prompt = plan_prompt("show the goalkeeper diving")
    assert prompt.rstrip().endswith("Question: show the goalkeeper diving\nAnswer:")
    assert "ONLY" in prompt
    schema_line = prompt.split("JSON schema:\n", 1)[1].splitlines()[0]
    schema = json.loads(schema_line)
    assert sorted(schema["properties"]) == ["end_s", "predicate", "start_s", "subject", "video"]
    assert schema["required"] == ["subject"]
    assert prompt.count("Answer: {") == 4
    # The examples must themselves be answers the validator accepts.
    for block in prompt.split("Question: ")[1:5]:
        question, answer = block.split("\nAnswer: ")
        assert plan_from_model_text(question, answer) is not None


def test_plan_texts_with_predicate() -> None:
    plan = fallback_plan("find every moment the dog jumps")
    assert plan.search_text() == "the dog jumps"
    assert plan.verify_question() == "In this video, does the following happen: the dog jumps?"
    assert plan.track_expression() == "the dog"


def test_plan_texts_without_predicate() -> None:
    plan = QueryPlan(question="the red car in cam3.mp4", subject="the red car", video="cam3.mp4")
    assert plan.search_text() == "the red car"
    assert plan.verify_question() == "Is the red car in this video?"
    assert plan.track_expression() == "the red car"


def test_plan_texts_with_auxiliary_predicate() -> None:
    plan = fallback_plan("any frames where a white truck is parked")
    assert plan.verify_question() == "In this video, does the following happen: a white truck is parked?"
    assert plan.search_text() == "a white truck is parked"


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": " "},
        {"subject": "dog", "start_s": -1.0},
        {"subject": "dog", "end_s": -0.5},
        {"subject": "dog", "start_s": 10.0, "end_s": 5.0},
    ],
)
def test_plan_validator_rejects(fields: dict) -> None:
    with pytest.raises(ValueError):
        QueryPlan(question="q", **fields)


def test_plan_validator_accepts_equal_times_and_strips_subject() -> None:
    plan = QueryPlan(question="q", subject="  the dog ", start_s=5.0, end_s=5.0)
    assert (plan.subject, plan.start_s, plan.end_s, plan.parsed_by) == ("the dog", 5.0, 5.0, "fallback")


def test_which_occurrence_is_read_from_the_question_on_the_model_path_too() -> None:
    plan = plan_from_model_text("the second jump of the dog in cam2.mp4",
                                '{"subject": "the dog", "predicate": "jumps", "video": "cam2.mp4"}')
    assert plan is not None and plan.nth == 2
    plan = plan_from_model_text("every jump in the first 5 minutes", '{"subject": "anything", "predicate": "jumps"}')
    assert plan is not None and plan.nth is None and plan.subject == "anything"


def test_the_most_of_something_and_how_long_are_read_from_the_question_on_the_model_path_too() -> None:
    plan = plan_from_model_text("the 2 highest jumps of the dog", '{"subject": "the dog", "predicate": "jumps"}')
    assert plan is not None and (plan.superlative, plan.top, plan.parsed_by) == ("highest", 2, "model")
    plan = plan_from_model_text("when is the car parked for over 5 minutes",
                                '{"subject": "the car", "predicate": "is parked"}')
    assert plan is not None and (plan.superlative, plan.min_duration_s, plan.max_duration_s) == (None, 300.0, None)


def test_a_length_bound_must_be_a_range() -> None:
    with pytest.raises(ValidationError, match="max_duration_s"):
        QueryPlan(question="q", subject="the dog", min_duration_s=10.0, max_duration_s=5.0)
    with pytest.raises(ValidationError, match="top"):
        QueryPlan(question="q", subject="the dog", superlative="highest", top=0)


@pytest.mark.parametrize("nth", [0, -2])
def test_an_occurrence_number_must_count(nth: int) -> None:
    with pytest.raises(ValidationError, match="nth"):
        QueryPlan(question="q", subject="the dog", nth=nth)
