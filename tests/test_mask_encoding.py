"""Track points computed on the logits' device equal the ones built from full-size masks on the host."""

from __future__ import annotations

import numpy as np
import torch

from sa2va_engine.mask_encoding import track_points, upscale
from sa2va_engine.masklet import TrackPoint


def _logits() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.randn(5, 1, 40, 40, generator=gen), 5, 1, 2)
    smooth[1] = -1.0  # empty mask
    smooth[2] = 1.0  # full mask: the RLE starts on a set pixel
    smooth[3, :, :4, :4] = 3.0  # a blob in the top-left corner, so the first run is empty
    return smooth


def test_device_track_points_equal_host_track_points():
    logits = _logits()
    scores = torch.tensor([0.9, 0.9, 0.8, 0.7, 0.3])  # the last one is scored absent
    for height, width in ((37, 53), (720, 1280), (40, 40)):
        masks = upscale(logits, height, width).numpy()
        expected = [TrackPoint.from_mask(1.5, masks[j], float(scores[j])) for j in range(len(scores))]
        assert track_points(1.5, logits, scores, height, width) == expected
    assert [p.present for p in expected] == [True, False, True, True, False]
    assert expected[2].area == 40 * 40 and expected[3].box is not None


def test_rle_round_trips_to_the_upscaled_mask():
    logits = _logits()
    points = track_points(0.0, logits, torch.ones(5), 91, 67)
    masks = upscale(logits, 91, 67).numpy()
    for point, mask in zip(points, masks):
        if point.present:
            assert np.array_equal(point.mask.decode(), mask)
            assert point.area == int(mask.sum())
