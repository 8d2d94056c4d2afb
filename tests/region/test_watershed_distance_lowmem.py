"""watershed_distance with fewer temporaries equals the OpenCV tutorial's recipe as it was written, step by step."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from seglab.region import watershed_distance

cv2 = pytest.importorskip("cv2")


def _tutorial(gray, *, invert=False, opening_iterations=2, dilate_iterations=3, dist_mask_size=5,
              fg_fraction=0.25, fill_holes=True):
    """The previous implementation, kept literally: float32 thresholded distance, uint8 copies, int32 copies."""
    from scipy import ndimage as ndi

    flag = (cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY) + cv2.THRESH_OTSU
    _, thresh = cv2.threshold(gray, 0, 255, flag)
    kernel = np.ones((3, 3), np.uint8)
    opening = cv2.morphologyEx(thresh, cv2.MORPH_OPEN, kernel, iterations=opening_iterations)
    if fill_holes:
        opening = np.where(ndi.binary_fill_holes(opening > 0), np.uint8(255), np.uint8(0))
    sure_bg = cv2.dilate(opening, kernel, iterations=dilate_iterations)
    dist = cv2.distanceTransform(opening, cv2.DIST_L2, dist_mask_size)
    _, sure_fg = cv2.threshold(dist, fg_fraction * float(dist.max()), 255, 0)
    sure_fg = sure_fg.astype(np.uint8)
    unknown = cv2.subtract(sure_bg, sure_fg)
    _, markers = cv2.connectedComponents(sure_fg)
    markers = markers + 1
    markers[unknown == 255] = 0
    flooded = cv2.watershed(cv2.merge([gray, gray, gray]), markers.astype(np.int32))
    return np.where(flooded > 1, flooded - 1, 0).astype(np.int32)


def _images():
    rng = np.random.default_rng(11)
    rows, cols = np.mgrid[:97, :131]
    disks = np.zeros((97, 131), bool)
    for _ in range(14):
        r, c, radius = rng.integers(10, 87), rng.integers(10, 121), rng.integers(5, 14)
        disks |= (rows - r) ** 2 + (cols - c) ** 2 < radius ** 2
    noisy = (np.where(disks, 170, 60) + rng.normal(0, 25, disks.shape)).clip(0, 255).astype(np.uint8)
    return {"coins": data.coins(), "touching disks, noisy, odd size": noisy,
            "camera": data.camera()[::2, ::2], "flat": np.full((20, 30), 7, np.uint8)}


@pytest.mark.parametrize("name", list(_images()))
@pytest.mark.parametrize("params", [
    {},
    {"invert": True},
    {"fill_holes": False, "fg_fraction": 0.7},
    {"opening_iterations": 0, "dilate_iterations": 1, "dist_mask_size": 0, "fg_fraction": 0.1},
    {"dist_mask_size": 3, "fg_fraction": 0.5},
    {"fg_fraction": 0.0},
    {"fg_fraction": 1.0},
])
def test_equals_the_tutorial_recipe(name, params):
    image = _images()[name]
    got = watershed_distance(image, **params)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, _tutorial(image, **params))
