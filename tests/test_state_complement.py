"""The time a state does not hold, as span arithmetic (agent/query/state_complement.py). Pure."""

from __future__ import annotations

import pytest

from agent.query.state_complement import spans_without, union, within


def test_union_joins_overlapping_and_touching_spans():
    assert union([(5.0, 6.0), (0.0, 2.0), (1.0, 3.0), (3.0, 4.0)]) == [(0.0, 4.0), (5.0, 6.0)]
    assert union([]) == []


@pytest.mark.parametrize(("base", "minus", "expected"), [
    ([(0.0, 10.0)], [(2.0, 3.0), (5.0, 7.0)], [(0.0, 2.0), (3.0, 5.0), (7.0, 10.0)]),
    ([(0.0, 10.0)], [], [(0.0, 10.0)]),
    ([(0.0, 10.0)], [(0.0, 10.0)], []),
    ([(0.0, 4.0), (6.0, 10.0)], [(3.0, 7.0)], [(0.0, 3.0), (7.0, 10.0)]),  # a hole across a gap in the base
    ([(0.0, 10.0)], [(-5.0, 1.0), (9.8, 20.0)], [(1.0, 9.8)]),  # holes past the ends
    ([(0.0, 10.0)], [(0.3, 9.9)], []),  # what is left is shorter than a state
    ([(0.0, 5.0), (2.0, 8.0)], [(4.0, 4.5), (4.2, 6.0)], [(0.0, 4.0), (6.0, 8.0)]),  # overlaps on both sides
])
def test_spans_without(base, minus, expected):
    assert spans_without(base, minus, min_len_s=0.5) == expected


def test_within_cuts_to_the_window_and_an_instant_keeps_what_holds_then():
    spans = [(0.0, 4.0), (6.0, 10.0)]
    assert within(spans, 3.0, 7.0) == [(3.0, 4.0), (6.0, 7.0)]
    assert within(spans, None, None) == spans
    assert within(spans, 4.0, None) == [(6.0, 10.0)]  # touching the window's edge is not inside it
    assert within(spans, 2.0, 2.0) == [(2.0, 2.0)] and within(spans, 5.0, 5.0) == []
