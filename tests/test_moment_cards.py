"""What a moment card says about how the moment was found: the same rule `sva query` prints."""

from __future__ import annotations

from tools.moment import Evidence, Moment
from ui.moment_cards import how_it_was_found


def _moment(*evidence: Evidence) -> Moment:
    return Moment(video_path="v.mp4", start_s=1.0, end_s=2.0, score=0.9, evidence=list(evidence))


def test_an_event_moment_names_its_event_and_rule():
    found = _moment(Evidence(object_id=3, event="jump", rule="box top 28% of frame height above its resting line"))
    assert how_it_was_found(found) == "jump: box top 28% of frame height above its resting line"


def test_a_grounded_moment_says_what_grounding_saw_and_a_plain_one_says_nothing():
    grounded = _moment(Evidence(caption="a dog on grass"),
                       Evidence(object_id=1, rule="grounded: the subject's mask on 100% of frames, named 'the dog'"))
    assert how_it_was_found(grounded).startswith("grounded: the subject's mask on 100% of frames")
    assert how_it_was_found(_moment(Evidence(caption="a dog on grass"))) == ""
