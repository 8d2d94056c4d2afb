"""contour_mask: the pixels skimage.draw.polygon fills (inside, edges, vertices), from a per-row crossing test."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.interactive._contours import contour_mask
from seglab.interactive.inputs import circle_contour

draw = pytest.importorskip("skimage.draw")


def _reference(contour, shape):
    mask = np.zeros(shape, bool)
    rr, cc = draw.polygon(contour[:, 0], contour[:, 1], shape)
    mask[rr, cc] = True
    return mask


def _polygons():
    gen = np.random.default_rng(0)
    cases = [(np.array([[1.0, 1.0], [2.0, 7.0], [8.0, 4.0]]), (10, 10)),  # scikit-image's docstring triangle
             (circle_contour(256, 256, 512 / 3), (512, 512)),  # the snake active_contour starts from
             (circle_contour(40, 40, 30) + gen.normal(0, 2, (400, 2)), (70, 90))]  # a wiggly, self-crossing snake
    for index in range(120):
        n = int(gen.integers(3, 40))
        shape = (int(gen.integers(5, 60)), int(gen.integers(5, 60)))
        kind = index % 4
        if kind == 0:  # anywhere, partly outside the image
            points = gen.uniform(-10, 70, (n, 2))
        elif kind == 1:  # integer vertices: pixels exactly on vertices and edges
            points = gen.integers(-5, 65, (n, 2)).astype(float)
        elif kind == 2:  # half-integers: horizontal and vertical edges through pixel centres
            points = np.round(gen.uniform(0, 50, (n, 2)) * 2) / 2
        else:  # star-shaped
            angle = np.sort(gen.uniform(0, 2 * np.pi, n))
            radius = gen.uniform(3, 25, n)
            points = np.stack([30 + radius * np.sin(angle), 30 + radius * np.cos(angle)], axis=1)
        cases.append((points, shape))
    return cases


def test_contour_mask_equals_skimage_polygon_fill():
    for contour, shape in _polygons():
        np.testing.assert_array_equal(contour_mask(contour, shape), _reference(contour, shape))


def test_contour_outside_the_image_gives_an_empty_mask():
    contour = np.array([[-20.0, -20.0], [-20.0, -5.0], [-5.0, -5.0]])
    assert not contour_mask(contour, (30, 30)).any()
