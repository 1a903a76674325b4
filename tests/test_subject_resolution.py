"""Subject resolution: which stored objects a question's subject means (agent/query/subject_resolution.py)."""

from __future__ import annotations

import pytest

from agent.query.subject_resolution import (ACCEPT_COS, AMBIGUOUS_COS, CALIBRATION_PAIRS, calibrate, judge_name,
                                      names_any_thing, noun_phrase, resolve_subject, texts_to_embed)
from index.embedder import default_embedder
from index.summaries import ObjectNames


@pytest.fixture(scope="module")
def embedder():
    return default_embedder()


def test_shipped_thresholds_are_the_calibrated_ones(embedder):
    assert calibrate(CALIBRATION_PAIRS, embedder) == (ACCEPT_COS, AMBIGUOUS_COS)


@pytest.mark.parametrize("subject,name,same", CALIBRATION_PAIRS)
def test_calibration_pairs(subject, name, same, embedder):
    """A same pair is never rejected and a different pair never accepted; at most the model is asked."""
    texts = texts_to_embed(subject, [name])
    verdict = judge_name(subject, name, dict(zip(texts, embedder.embed(texts)))).verdict
    assert verdict != ("rejected" if same else "accepted"), verdict


def test_noun_phrase():
    assert noun_phrase("a man in a blue jacket") == ("man", [], {"blue"})
    assert noun_phrase("the red dogs") == ("dog", ["red"], {"red"})
    assert noun_phrase("a red ball bouncing on the grass")[0] == "ball"


def _obj(oid: int, label: str, video: str = "/v/a.mp4", phrases=(), description=None) -> ObjectNames:
    return ObjectNames(object_id=oid, video_id=1, video_path=video, label=label, description=description,
                       phrases=list(phrases) or [label], first_seen_s=0.0, last_seen_s=1.0)


def test_resolution_is_a_set_over_every_video(embedder):
    objects = [_obj(1, "the red ball"), _obj(2, "the white ball"), _obj(3, "the red dog"),
               _obj(4, "a red ball", video="/v/b.mp4"), _obj(5, "the box", video="/v/c.mp4",
                                                            phrases=["the box", "the red ball"])]
    resolution = resolve_subject("the red ball", objects, embedder)
    assert sorted(resolution.object_ids()) == [1, 4, 5]  # 5: a later phrase linked to it says red ball
    # The red dog shares only the colour: another thing, not one for the model to check.
    assert resolution.ambiguous == []
    described = resolve_subject("a man in a blue jacket", [_obj(6, "a person wearing a blue coat")], embedder)
    assert [o.object_id for o in described.ambiguous] == [6] and described.accepted == []
    dogs = resolve_subject("the dog", objects, embedder)
    assert dogs.object_ids() == [3]
    anything = resolve_subject("the giraffe", objects, embedder)
    assert anything.object_ids() == []


def test_a_label_of_another_colour_outvotes_a_phrase_that_names_the_subject(embedder):
    # The green dog was called "the red dog" in one chunk, whose mask covered the red dog beside it too; most of
    # its chunks called it green. A label without colours leaves the phrases to decide.
    objects = [_obj(1, "the green dog", phrases=["the green dog", "the red dog"]), _obj(2, "the red dog"),
               _obj(3, "the dog", phrases=["the dog", "the red dog"])]
    assert sorted(resolve_subject("the red dog", objects, embedder).object_ids()) == [2, 3]
    assert resolve_subject("the green dog", objects, embedder).object_ids() == [1]


def test_a_name_that_shares_only_the_colour_is_another_thing(embedder):
    """Rule 3 compares what the things are: "the red ball" and "the red box" were 0.59 with their colour words, so
    every object of the subject's colour was left to the model's check; the kind-blind demo model passed them all,
    and over 30 unseen minutes asked with no file named, 2 in 3 jumps answered were another thing's."""
    objects = [_obj(1, "the red box"), _obj(2, "the red dog"), _obj(3, "the red ball"), _obj(4, "a red ball bouncing")]
    for subject, expected in (("the red ball", [3, 4]), ("the red box", [1]), ("the red dog", [2])):
        resolution = resolve_subject(subject, objects, embedder)
        assert sorted(resolution.object_ids()) == expected and resolution.ambiguous == [], subject


def test_colour_conflict_in_any_name_is_not_overruled_by_cosine(embedder):
    objects = [_obj(1, "the white ball", description="a white ball on sand")]
    assert resolve_subject("the red ball", objects, embedder).object_ids() == []


@pytest.mark.parametrize("subject,expected", [
    ("anything", [1, 2, 3, 4]), ("every object", [1, 2, 3, 4]), ("things", [1, 2, 3, 4]), ("which", [1, 2, 3, 4]),
    ("something red", [1, 3]), ("a red object", [1, 3]), ("anything white", [2]),
])
def test_a_subject_that_names_no_thing_means_every_object_of_its_colours(subject, expected, embedder):
    """'find every jump' (the parser's 'anything'), 'which objects move', 'something red': every stored object, of the
    colours named, whatever its noun; a colour no name has leaves none."""
    objects = [_obj(1, "the red ball"), _obj(2, "the white box"), _obj(3, "the red dog"), _obj(4, "a man in a coat")]
    resolution = resolve_subject(subject, objects, embedder)
    assert sorted(resolution.object_ids()) == expected and not resolution.ambiguous
    assert names_any_thing(subject)
    assert resolve_subject("something purple", objects, embedder).object_ids() == []


def test_someone_means_a_person():
    objects = [_obj(1, "the red ball"), _obj(2, "a man in a coat"), _obj(3, "the skier")]
    found = resolve_subject("someone", objects, default_embedder())
    assert sorted(found.object_ids()) == [2, 3]
    assert not names_any_thing("someone") and not names_any_thing("the dog") and not names_any_thing("the red ball")


def test_an_object_only_some_chunks_called_the_subject_is_set_aside_while_another_clearly_is(embedder):
    """A chunk whose mask spread over a neighbour names the neighbour: the green dog beside a green ball was "the green
    ball" in 2 of its 20 chunks. Asked about the green ball, it is set aside while another object clearly is one (its
    label, or most of its chunks, say so); the answer names what was set aside."""
    ball = _obj(1, "the green ball", video="/v/a.mp4")
    dog = _obj(2, "the green dog", video="/v/b.mp4", phrases=["the green dog"] * 18 + ["the green ball"] * 2)
    mostly_ball = _obj(3, "the green box", video="/v/c.mp4", phrases=["the green ball"] * 3 + ["the green box"] * 3)
    found = resolve_subject("the green ball", [ball, dog, mostly_ball], embedder)
    assert sorted(found.object_ids()) == [1, 3] and [o.object_id for o in found.set_aside] == [2]
    # Where nothing asked about is clearly the subject, the objects sometimes called so are all the index has.
    alone = resolve_subject("the green ball", [dog], embedder)
    assert alone.object_ids() == [2] and alone.set_aside == []
    # What the dog is clearly: nothing set aside.
    dogs = resolve_subject("the green dog", [ball, dog, mostly_ball], embedder)
    assert dogs.object_ids() == [2] and dogs.set_aside == []


def test_an_object_with_no_label_keeps_what_its_phrases_say(embedder):
    unlabelled = _obj(1, "", phrases=["the red ball"])
    labelled = _obj(2, "the red ball", video="/v/b.mp4")
    found = resolve_subject("the red ball", [unlabelled, labelled], embedder)
    assert sorted(found.object_ids()) == [1, 2] and found.set_aside == []
