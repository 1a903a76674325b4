"""The accuracy bench's metrics on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from agent.demo.metrics import (balanced_accuracy, boundary_f, keyword_accuracy, mask_iou, match_events,
                                picks_own_object, temporal_iou)


def test_temporal_iou_and_one_to_one_event_matching():
    assert temporal_iou((0, 2), (1, 3)) == pytest.approx(1 / 3)
    assert temporal_iou((0, 1), (2, 3)) == 0.0
    # One long moment over two jumps finds at most one of them (tIoU 2/6 each here: none).
    assert match_events([(0, 6)], [(1, 3), (4, 6)]) == 0
    # Two moments near one jump count once; the second jump is found by its own moment.
    assert match_events([(1, 3), (1.2, 3), (4, 6)], [(1, 3), (4.5, 6)]) == 2
    assert match_events([], [(1, 2)]) == 0


def test_mask_iou_and_boundary_f():
    a = np.zeros((20, 20), bool)
    a[5:15, 5:15] = True
    b = np.zeros_like(a)
    b[5:15, 10:20] = True
    assert mask_iou(a, b) == pytest.approx(50 / 150)
    assert mask_iou(np.zeros_like(a), np.zeros_like(a)) == 1.0  # correctly absent
    assert boundary_f(a, a) == 1.0
    shifted = np.roll(a, 1, axis=1)
    assert boundary_f(a, shifted) == 1.0  # within the 2-px tolerance
    assert boundary_f(a, np.zeros_like(a)) == 0.0


def test_a_mask_of_every_object_does_not_pick_the_named_one():
    small, big = np.zeros((20, 20), bool), np.zeros((20, 20), bool)
    small[2:6, 2:6] = True
    big[10:20, 8:20] = True
    truths = {0: small, 1: big}
    assert picks_own_object(small, truths, 0) and picks_own_object(big, truths, 1)
    union = small | big
    # The union overlaps the bigger object more, whichever object was asked for: right for one, wrong for the other.
    assert picks_own_object(union, truths, 1) and not picks_own_object(union, truths, 0)
    assert not picks_own_object(np.zeros_like(small), truths, 0)


def test_keyword_and_balanced_accuracy():
    assert keyword_accuracy("A red ball jumps near a blue box", ["red ball", "blue box", "green dog"]) == pytest.approx(2 / 3)
    always_no = [(False, True)] * 2 + [(False, False)] * 8
    assert balanced_accuracy(always_no) == 0.5  # 80% plain accuracy, still chance
    assert balanced_accuracy([(True, True), (False, True), (False, False)]) == pytest.approx(0.75)
    assert balanced_accuracy([]) == 0.0


def test_roc_auc_ranks_true_items_above_false_ones():
    from agent.demo.metrics import roc_auc

    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert roc_auc([0.46] * 4, [True, False, True, False]) == 0.5  # a constant answer is chance
    assert roc_auc([0.7, 0.5, 0.6], [True, False, False]) == 1.0
    assert roc_auc([0.3, 0.5, 0.6], [True, False, True]) == 0.5
    assert roc_auc([0.9, 0.1], [True, True]) == 0.5  # one class only: nothing to rank
