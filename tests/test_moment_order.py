"""Which moments a superlative or a length keeps (agent/query/moment_order.py): ranked over every video, by the
moment's length or by the size its event was stored with; moments with no such size left out and counted."""

from __future__ import annotations

from agent.query.moment_order import lasting_kinds, order_words, ranked, within_length
from agent.query.query_plan import QueryPlan
from tools.moment import Evidence, Moment


def _plan(**fields) -> QueryPlan:
    return QueryPlan(question="q", subject="the dog", predicate="jumps", **fields)


def _moment(video: str, start: float, end: float, event: str | None = "jump", size: float | None = None,
            score: float = 1.0) -> Moment:
    return Moment(video_path=video, start_s=start, end_s=end, score=score,
                  evidence=[Evidence(event=event, size=size)])


JUMPS = [_moment("a.mp4", 1.0, 2.0, size=1.2), _moment("b.mp4", 5.0, 5.5, size=2.6),
         _moment("a.mp4", 9.0, 11.0, size=0.8), _moment("b.mp4", 20.0, 21.0, size=2.1)]


def test_the_highest_and_lowest_jump_are_ranked_over_every_video_by_their_stored_height():
    kept, unranked = ranked(JUMPS, _plan(superlative="highest"))
    assert [(m.video_path, m.start_s) for m in kept] == [("b.mp4", 5.0)] and unranked == 0
    kept, _ = ranked(JUMPS, _plan(superlative="highest", top=3))
    assert [m.evidence[0].size for m in kept] == [2.6, 2.1, 1.2]
    kept, _ = ranked(JUMPS, _plan(superlative="lowest"))
    assert [m.evidence[0].size for m in kept] == [0.8]
    words = order_words(_plan(superlative="highest", top=2), ranked(JUMPS, _plan(superlative="highest", top=2))[0],
                        4, 0)
    assert words == ["the 2 highest of 4 found: 2.6 object heights above its resting line"]


def test_longest_and_shortest_rank_by_how_long_a_moment_lasts_on_any_route():
    verified = [_moment("a.mp4", 0.0, 3.0, event=None), _moment("a.mp4", 10.0, 10.5, event=None),
                _moment("c.mp4", 4.0, 9.0, event=None)]
    assert ranked(verified, _plan(superlative="longest"))[0] == [verified[2]]
    assert ranked(verified, _plan(superlative="shortest"))[0] == [verified[1]]
    assert order_words(_plan(superlative="longest"), [verified[2]], 3, 0) == ["the longest of 3 found: 5.0 s"]


def test_a_height_ranks_only_jumps_and_moments_without_one_are_counted():
    """A stop has a speed, not a height: "the highest stop" keeps nothing; a moment the model verified has no size."""
    mixed = [*JUMPS[:2], _moment("a.mp4", 30.0, 30.5, event="stops_moving", size=4.0),
             _moment("c.mp4", 0.0, 4.0, event=None)]
    kept, unranked = ranked(mixed, _plan(superlative="highest"))
    assert [m.evidence[0].size for m in kept] == [2.6] and unranked == 2
    assert "2 with no height left out" in order_words(_plan(superlative="highest"), kept, 4, unranked)[0]
    stops = [_moment("a.mp4", 30.0, 30.5, event="stops_moving", size=4.0)]
    assert ranked(stops, _plan(superlative="highest")) == ([], 1)
    assert ranked(stops, _plan(superlative="fastest"))[0] == stops


def test_ties_go_to_the_better_scored_moment_and_no_superlative_keeps_everything():
    tied = [_moment("a.mp4", 1.0, 2.0, size=2.0, score=0.4), _moment("b.mp4", 3.0, 4.0, size=2.0, score=0.9)]
    assert ranked(tied, _plan(superlative="highest"))[0] == [tied[1]]
    assert ranked(JUMPS, _plan()) == (JUMPS, 0)


def test_a_length_bound_keeps_moments_lasting_that_long():
    spans = [_moment("a.mp4", 0.0, 5.0), _moment("a.mp4", 10.0, 40.0), _moment("b.mp4", 0.0, 12.0)]
    assert within_length(spans, _plan(min_duration_s=10.0)) == spans[1:]
    assert within_length(spans, _plan(max_duration_s=12.0)) == [spans[0], spans[2]]
    assert within_length(spans, _plan(min_duration_s=6.0, max_duration_s=20.0)) == [spans[2]]
    assert order_words(_plan(min_duration_s=10.0), spans[1:], 2, 0) == ["lasting at least 10 s"]


def test_how_long_a_stop_lasts_is_how_long_the_thing_stays_still():
    assert lasting_kinds(["stops_moving"], _plan(superlative="longest")) == ["still"]
    assert lasting_kinds(["stops_moving", "starts_moving"], _plan(min_duration_s=5.0)) == ["still", "moving"]
    assert lasting_kinds(["stops_moving"], _plan(superlative="fastest")) == ["stops_moving"]
    assert lasting_kinds(["jump"], _plan(superlative="longest")) == ["jump"]
