"""Scores against the synthetic world's ground truth: temporal IoU of moments vs events, mask IoU (J) and
boundary F-measure (F) of tracks, caption keyword accuracy. Pure functions on arrays and intervals."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from index.moments import temporal_iou  # noqa: F401  (scored here, defined where moments are merged)


def match_events(moments: Sequence[tuple[float, float]], events: Sequence[tuple[float, float]],
                 min_iou: float = 0.5) -> int:
    """How many events are found: one-to-one, best pairs first, a pair counts at temporal IoU >= min_iou."""
    pairs = sorted(((temporal_iou(m, e), i, j) for i, m in enumerate(moments) for j, e in enumerate(events)),
                   reverse=True)
    used_m, used_e = set(), set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i not in used_m and j not in used_e:
            used_m.add(i)
            used_e.add(j)
    return len(used_e)


def mask_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """IoU of two bool masks; both empty (object correctly absent) counts as 1."""
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


def picks_own_object(pred: np.ndarray, truths: dict[int, np.ndarray], own: int) -> bool:
    """Does the mask for ``own`` overlap that object (by IoU) more than any other object of the frame? A mask
    that covers every object scores well on IoU alone; this says whether the phrase chose the object."""
    ious = {oid: mask_iou(pred, truth) for oid, truth in truths.items()}
    return ious[own] > max((v for oid, v in ious.items() if oid != own), default=0.0)


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance_px: int = 2) -> float:
    """F-measure of boundary pixels matched within `tolerance_px` (the DAVIS F, with a fixed tolerance)."""
    bp, bt = _boundary(pred), _boundary(truth)
    if not bp.any() and not bt.any():
        return 1.0
    if not bp.any() or not bt.any():
        return 0.0
    kernel = np.ones((2 * tolerance_px + 1, 2 * tolerance_px + 1), np.uint8)
    near_t = cv2.dilate(bt.astype(np.uint8), kernel).astype(bool)
    near_p = cv2.dilate(bp.astype(np.uint8), kernel).astype(bool)
    precision = (bp & near_t).sum() / bp.sum()
    recall = (bt & near_p).sum() / bt.sum()
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def keyword_accuracy(text: str, names: Sequence[str]) -> float:
    """Share of `names` (e.g. 'red ball') the text mentions."""
    if not names:
        return 1.0
    lowered = text.lower()
    return sum(name.lower() in lowered for name in names) / len(names)


def balanced_accuracy(answers: list[tuple[bool, bool]]) -> float:
    """Mean of the recall on true and on false items, for (predicted, truth) pairs: 0.5 for a constant answer
    whatever the class balance; a class with no items is left out."""
    recalls = [np.mean([p == t for p, t in answers if t == cls]) for cls in (True, False)
               if any(t == cls for _, t in answers)]
    return float(np.mean(recalls)) if recalls else 0.0


def roc_auc(scores: Sequence[float], truths: Sequence[bool]) -> float:
    """Area under the ROC curve of `scores` for the `truths`: the chance a true item scores above a false one
    (ties count half). 0.5 for a constant score; 0.5 too when a class is missing (nothing to rank)."""
    pos = [s for s, t in zip(scores, truths) if t]
    neg = [s for s, t in zip(scores, truths) if not t]
    if not pos or not neg:
        return 0.5
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return float(wins / (len(pos) * len(neg)))
