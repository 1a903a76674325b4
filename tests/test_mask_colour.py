"""The colour under a mask (tools/mask_colour.py): Lab colours that match the CIE values of known colours, filled into
the present points of a clip's masklets, and a distance that weighs lightness at half."""

from __future__ import annotations

import numpy as np
import pytest

from sa2va_engine.masklet import Masklet, Rle, TrackPoint
from tools.mask_colour import colour_distance, mask_colour, with_colours


def _frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey 60x80 frame with a red square and a yellow disc; their masks."""
    image = np.full((60, 80, 3), 128, dtype=np.uint8)
    red = np.zeros((60, 80), dtype=bool)
    red[10:30, 5:25] = True
    yy, xx = np.mgrid[:60, :80]
    yellow = (yy - 35) ** 2 + (xx - 55) ** 2 <= 10**2
    image[red] = (255, 0, 0)
    image[yellow] = (255, 255, 0)
    return image, red, yellow


def test_the_colour_under_a_mask_is_the_cie_lab_of_what_it_covers():
    image, red, yellow = _frame()
    # sRGB red and yellow in CIE Lab (D65): (53.24, 80.09, 67.20) and (97.14, -21.55, 94.48); mid grey (53.59, 0, 0).
    assert mask_colour(image, red) == pytest.approx((53.24, 80.09, 67.20), abs=0.5)
    assert mask_colour(image, yellow) == pytest.approx((97.14, -21.55, 94.48), abs=0.5)
    grey = np.zeros_like(red)
    grey[50:, 70:] = True
    assert mask_colour(image, grey) == pytest.approx((53.59, 0.0, 0.0), abs=0.5)
    # Half on the red square, half on grey: the mean of the two Lab colours.
    half = np.zeros_like(red)
    half[10:30, 15:35] = True
    assert mask_colour(image, half) == pytest.approx(((53.24 + 53.59) / 2, 80.09 / 2, 67.20 / 2), abs=0.5)
    assert mask_colour(image, np.zeros_like(red)) is None


def test_present_points_of_a_clip_get_the_colour_of_their_own_frame():
    image, red, yellow = _frame()
    other = np.full_like(image, 128)
    other[red] = (255, 255, 0)  # on the second frame the square is yellow
    points = [TrackPoint.from_mask(0.0, red, 0.9), TrackPoint.from_mask(0.25, red, 0.9),
              TrackPoint(time_s=0.5, present=False, score=0.1)]
    wrong_size = TrackPoint(time_s=0.0, present=True, score=0.9, box=(0, 0, 2, 2), area=4,
                            mask=Rle.encode(np.ones((2, 2), bool)))
    [square, odd] = with_colours([Masklet(expression="the square", points=points),
                                  Masklet(expression="odd", points=[wrong_size])], [image, other, image])
    first, second, absent = square.points
    assert first.colour[1] > 70 and second.colour[2] > 90 and second.colour[1] < 0
    assert absent.colour is None and odd.points[0].colour is None  # nothing under it / a mask not of this frame
    assert (first.box, first.mask, first.area) == (points[0].box, points[0].mask, points[0].area)


def test_lightness_weighs_half():
    assert colour_distance((50.0, 0.0, 0.0), (10.0, 0.0, 0.0)) == pytest.approx(20.0)
    assert colour_distance((50.0, 10.0, 0.0), (50.0, 0.0, 0.0)) == pytest.approx(10.0)
    assert colour_distance((53.24, 80.09, 67.20), (97.14, -21.55, 94.48)) > 100
