"""Verification by grounding (agent/query/grounded_check.py): P(yes) from the subject's mask and the names the model
gives it up close; and the query graph using it in place of the yes/no answer (`verify_by="grounding"`)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.query.event_verbs import asks_presence
from agent.query.grounded_check import NAMED_FRAMES, grounded_check, grounded_checks
from agent.query.query_answer import QuerySettings
from agent.query.query_graph import run_query
from index.embedder import default_embedder
from sa2va_engine.masklet import Masklet, TrackPoint
from sa2va_engine.sa2va import Sa2VA
from tests.agent_fixtures import run_sva
from tools.clip import Clip
from tools.video_decode import DecodedFrame


class NamingEngine:
    """Names every region it is shown `name`, and counts the regions."""

    def __init__(self, name: str):
        self.name, self.asked = name, 0

    def region_names(self, regions, max_new_tokens=12):
        self.asked += len(regions)
        return [self.name] * len(regions)


def _clip_and_track(seen: list[bool]) -> tuple[Clip, Masklet]:
    frames, points = [], []
    for i, on in enumerate(seen):
        image = np.zeros((48, 64, 3), np.uint8)
        mask = np.zeros((48, 64), bool)
        if on:
            mask[10:20 + i, 10:30] = True
            image[mask] = (200, 30, 30)
        frames.append(DecodedFrame(time_s=i * 0.25, index=i, image=image))
        points.append(TrackPoint.from_mask(i * 0.25, mask, 0.9 if on else 0.1))
    return Clip(video_path="v.mp4", start_s=0.0, end_s=len(seen) * 0.25, frames=frames), \
        Masklet(expression="the red ball", points=points)


@pytest.mark.parametrize(("seen", "name", "p_yes"), [
    ([True] * 8, "the red ball", 1.0),             # seen throughout, named as asked
    ([True] * 8, "the white ball", 0.5),           # seen throughout, named as another colour: half
    ([True] * 4 + [False] * 4, "the red ball", 0.5),  # seen on half the frames, named as asked
    ([False] * 8, "the red ball", 0.0),            # never seen
])
def test_p_yes_is_the_seen_share_times_the_names_agreement(seen, name, p_yes):
    clip, track = _clip_and_track(seen)
    engine = NamingEngine(name)
    check = grounded_check(engine, clip, track, "the red ball", default_embedder())
    assert check.p_yes == pytest.approx(p_yes)
    assert check.seen_share == pytest.approx(sum(seen) / len(seen))
    assert engine.asked == min(sum(seen), NAMED_FRAMES), "a few masks are named, none when never seen"
    assert ("named 'the" in check.how()) == any(seen)


def test_the_typical_masks_are_named_not_the_one_spilling_onto_another_object():
    clip, track = _clip_and_track([True] * 8)
    spill = np.zeros((48, 64), bool)
    spill[5:45, 5:60] = True  # the mask of one frame holds a second object too
    track.points[3] = TrackPoint.from_mask(track.points[3].time_s, spill, 0.9)

    class ByWidth(NamingEngine):
        def region_names(self, regions, max_new_tokens=12):
            self.asked += len(regions)
            return ["the white ball" if box[2] - box[0] > 30 else "the red ball" for _, box in regions]

    check = grounded_check(ByWidth(""), clip, track, "the red ball", default_embedder())
    assert check.names == ["the red ball"] * NAMED_FRAMES and check.p_yes == pytest.approx(1.0)


def test_checks_of_several_clips_name_them_all_at_once_and_equal_one_at_a_time():
    tracked = [_clip_and_track([True] * 8), _clip_and_track([False] * 8), _clip_and_track([True, False] * 4)]
    engine = NamingEngine("the red ball")
    together = grounded_checks(engine, tracked, "the red ball", default_embedder())
    assert engine.asked == 2 * NAMED_FRAMES
    alone = [grounded_check(NamingEngine("the red ball"), clip, track, "the red ball", default_embedder())
             for clip, track in tracked]
    assert together == alone and [c.p_yes for c in together] == [1.0, 0.0, 0.5]


def test_a_name_the_model_cannot_give_counts_as_ambiguous():
    clip, track = _clip_and_track([True] * 6)
    check = grounded_check(NamingEngine("Sure, [SEG]."), clip, track, "the red ball", default_embedder())
    assert check.names == [None] * NAMED_FRAMES and check.agreement == 0.5 and check.p_yes == pytest.approx(0.75)


def test_query_verified_by_grounding_never_asks_yes_or_no(indexed_library, tracking_checkpoint):
    """The query graph's P(yes) is the grounded one: a candidate whose track the model names as something else
    scores half, and a threshold above one half drops it; the yes/no answer is never asked."""
    db, _, _ = indexed_library
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    engine.yes_probabilities = lambda visuals, question: pytest.fail("grounding asks no yes/no question")
    settings = QuerySettings(db=db, max_verify=3, threshold=0.0, verify_by="grounding", model_parser=False,
                             gap_s=0.0, min_len_s=0.0)
    calls = []
    engine.region_names = lambda regions, max_new_tokens=12: calls.append(len(regions)) or ["the dog"] * len(regions)
    named = run_query("find every moment the dog plays", settings, engine=engine)
    assert len(calls) == 1 and calls[0] > NAMED_FRAMES, "the batch's chunks are named in one generation"
    assert named.route == "verify" and named.verified_chunks == 3 and named.moments
    assert "grounding checked that the dog is seen, not that it plays" in named.note and named.note in named.answer
    rules = {ev.rule for m in named.moments for ev in m.evidence}
    assert all(r and r.startswith("grounded: the subject's mask on") and "'the dog'" in r for r in rules)
    engine.region_names = lambda regions, max_new_tokens=12: ["the white car"] * len(regions)
    other = run_query("find every moment the dog plays", settings, engine=engine)
    assert [round(m.score * 2, 4) for m in other.moments] == [round(m.score, 4) for m in named.moments]
    strict = run_query("find every moment the dog plays", settings.model_copy(update={"threshold": 0.6}), engine=engine)
    assert strict.verified_chunks == 3 and not strict.moments
    # Where a stored object is seen is in the index: its 'visible' state, no model call (grounding checks presence
    # only on the retrieval route, for a subject no stored object matches).
    engine.region_names = lambda regions, max_new_tokens=12: pytest.fail("a stored state needs no model")
    seen = run_query("when is the dog visible", settings, engine=engine)
    assert seen.route == "events" and seen.event == "visible" and seen.moments and seen.note is None


@pytest.mark.parametrize(("predicate", "presence"), [
    (None, True), ("is visible", True), ("is in view", True), ("can be seen", True), ("is on screen", True),
    ("are there", True), ("runs", False), ("is in the kitchen", False), ("jumps", False), ("is seen running", False),
])
def test_which_predicates_ask_only_for_presence(predicate, presence):
    assert asks_presence(predicate) == presence


def test_verify_by_takes_answer_or_grounding_only(tmp_path):
    result = run_sva("query", "the dog", "--db", str(tmp_path / "x.duckdb"), "--verify-by", "maybe")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "Invalid value for '--verify-by'" in result.stderr and "'grounding'" in result.stderr


def test_a_grounded_mask_on_a_stored_object_of_another_colour_named_so_is_a_neighbours(indexed_library,
                                                                                      tracking_checkpoint, tmp_path):
    """On the retrieval route (no stored object is the subject), the subject is grounded in each candidate chunk. When
    that mask lies on a stored object whose label names other colours, and the model's close-up names of it do too,
    what it shows is that object's ("the yellow dog" grounded onto the red box beside it, whose jumps are the box's):
    no moment. Close-up names in the subject's colour keep it: a stored mask over two objects is labelled as one of
    them, and the grounded mask may be the other."""
    import shutil

    import duckdb

    db, _, _ = indexed_library
    engine = Sa2VA.from_pretrained(tracking_checkpoint)
    settings = QuerySettings(db=db, max_verify=3, top_n=3, threshold=0.0, verify_by="grounding", model_parser=False,
                             gap_s=0.0, min_len_s=0.0)
    answers = {}
    for label in ("the big box", "the white box"):
        copy = tmp_path / f"{label.replace(' ', '_')}.duckdb"
        shutil.copy(db, copy)
        with duckdb.connect(str(copy)) as con:  # every object is the label, named nothing else
            con.execute("UPDATE objects SET label = ?, description = NULL", [label])
            con.execute("UPDATE phrases SET phrase = ?", [label])
        for name in ("the white cat", "the red dog"):
            engine.region_names = lambda regions, max_new_tokens=12, name=name: [name] * len(regions)
            answers[label, name] = run_query("find every moment the red dog plays",
                                             settings.model_copy(update={"db": copy}), engine=engine)
    plain = answers["the big box", "the white cat"]
    assert all(a.route == "retrieval" and not a.objects for a in answers.values())
    assert plain.moments and any(ev.object_id for m in plain.moments for ev in m.evidence), \
        "the premise: the grounded masks lie on stored objects"
    assert answers["the white box", "the white cat"].verified_chunks == plain.verified_chunks
    assert not answers["the white box", "the white cat"].moments
    assert answers["the white box", "the red dog"].moments and answers["the big box", "the red dog"].moments
