"""Snakes, morphological active contours and GrabCut equal the direct library calls on the same input."""

import numpy as np
import pytest
from skimage import data
from skimage.color import rgb2gray
from skimage.draw import polygon
from skimage.filters import gaussian

import seglab
from seglab._core.errors import ParameterError
from seglab.interactive._contours import (
    active_contour,
    morphological_chan_vese,
    morphological_geodesic_active_contour,
)
from seglab.interactive._grabcut import grabcut
from seglab.interactive.inputs import circle_contour


@pytest.fixture(scope="module")
def astronaut_gray():
    return rgb2gray(data.astronaut())


def head_circle():
    s = np.linspace(0, 2 * np.pi, 400)
    return np.array([100 + 100 * np.sin(s), 220 + 100 * np.cos(s)]).T


def test_active_contour_identical_to_skimage_issue_values(astronaut_gray):
    from skimage.segmentation import active_contour as sk_active_contour

    init = head_circle()
    expected = sk_active_contour(gaussian(astronaut_gray, sigma=3, preserve_range=False), init, alpha=0.06,
                                 beta=0.3, gamma=0.01, max_num_iter=100)
    result = seglab.segment(astronaut_gray, "active_contour", contour=(100, 220, 100), alpha=0.06, beta=0.3,
                            max_num_iter=100)
    mask = active_contour(astronaut_gray, contour=(100, 220, 100), alpha=0.06, beta=0.3, max_num_iter=100)
    np.testing.assert_array_equal(result.mask, mask)
    np.testing.assert_array_equal(result.contour, expected)
    filled = np.zeros(astronaut_gray.shape, bool)
    filled[polygon(expected[:, 0], expected[:, 1], filled.shape)] = True
    np.testing.assert_array_equal(mask, filled)
    # Through the registry: contour output with the points in extras.
    result = seglab.segment(astronaut_gray, "active_contour", contour=init, alpha=0.06, beta=0.3, max_num_iter=100)
    np.testing.assert_array_equal(result.contour, expected)
    np.testing.assert_array_equal(result.mask, filled)


def test_circle_contour_is_the_skimage_example_circle():
    np.testing.assert_array_equal(circle_contour(100, 220, 100), head_circle())


def test_chan_vese_identical_to_skimage(astronaut_gray):
    from skimage.segmentation import morphological_chan_vese as sk

    image = astronaut_gray[::2, ::2]
    ours = morphological_chan_vese(image, num_iter=20, smoothing=3)
    expected = sk(image, 20, init_level_set="checkerboard", smoothing=3)
    np.testing.assert_array_equal(ours, expected.astype(bool))
    assert 0.05 < ours.mean() < 0.95


def test_geodesic_active_contour_identical_to_skimage(astronaut_gray):
    from skimage.segmentation import inverse_gaussian_gradient
    from skimage.segmentation import morphological_geodesic_active_contour as sk

    image = astronaut_gray[::2, ::2]
    gimage = inverse_gaussian_gradient(image)
    init = np.zeros(image.shape, np.int8)
    rr, cc = polygon(*circle_contour(50, 110, 50).T, image.shape)
    init[rr, cc] = 1
    expected = sk(gimage, 60, init_level_set=init, smoothing=1, threshold=0.69, balloon=-1)
    ours = morphological_geodesic_active_contour(image, num_iter=60, threshold=0.69, balloon=-1,
                                                 contour=(50, 110, 50))
    np.testing.assert_array_equal(ours, expected.astype(bool))
    assert 0 < ours.sum() < init.sum()


def test_grabcut_identical_to_direct_cv2_call_with_same_seed():
    import cv2

    image = np.ascontiguousarray(data.astronaut()[::2, ::2])
    rect = (10, 60, 120, 90)  # row, col, height, width: the head and shoulders
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.setRNGSeed(7)
    cv2.grabCut(image, mask, (60, 10, 90, 120), np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)
    expected = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    ours = grabcut(image, rect=rect, iter_count=5, rng=7)
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(grabcut(image, rect=rect, iter_count=5, rng=7), ours)
    assert not ours[:10].any() and 0.2 < ours[10:130, 60:150].mean() < 0.95


def test_errors(astronaut_gray):
    with pytest.raises(ParameterError, match="does not fit inside the image"):
        grabcut(data.astronaut(), rect=(500, 0, 20, 20))
    with pytest.raises(seglab.InvalidImageError, match=r"method 'active_contour' works on single-channel images"):
        active_contour(data.astronaut(), contour=(100, 220, 100))
    with pytest.raises(ParameterError, match=r"`contour` has shape \(2, 3\)"):
        active_contour(astronaut_gray, contour=np.zeros((2, 3)))
    with pytest.raises(ParameterError, match="parameter `threshold` of 'morphological_geodesic_active_contour' got 'high'"):
        morphological_geodesic_active_contour(astronaut_gray, threshold="high")


def test_morphological_snakes_are_deterministic_across_calls():
    """scikit-image's curvature operator keeps state between calls; seglab resets it so a call never depends on the last."""
    import seglab

    image, _ = seglab.data.blobs((48, 64), n_blobs=4, seed=11)
    for name in ("morphological_chan_vese", "morphological_geodesic_active_contour"):
        first = seglab.segment(image, name).mask
        second = seglab.segment(image, name).mask
        assert np.array_equal(first, second), name
