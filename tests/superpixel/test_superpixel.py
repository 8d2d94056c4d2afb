"""Oracle tests: seglab superpixels == scikit-image on the same input (felzenszwalb/quickshift shifted by +1)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import color, data, graph, segmentation
from skimage.util import img_as_float

import seglab
from seglab._core.errors import InvalidImageError, ParameterError, ShapeMismatchError
from seglab.superpixel import felzenszwalb, quickshift, rag_merge, region_average, slic


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


def test_slic_astronaut_155_equals_skimage(astronaut):
    # n_segments=155 with the other parameters of the scikit-image superpixel examples (compactness=10, sigma=1).
    result = seglab.segment(astronaut, "slic", n_segments=155, compactness=10, sigma=1)
    labels, info = result.data, result.info
    expected = segmentation.slic(astronaut, n_segments=155, compactness=10, sigma=1, start_label=1)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, expected)
    assert info["n_segments_found"] == len(np.unique(expected))
    assert 100 <= info["n_segments_found"] <= 200


def test_slic_defaults_gray_and_3d(rng):
    gray = data.camera()[::2, ::2]
    labels = slic(gray)
    np.testing.assert_array_equal(labels, segmentation.slic(gray, channel_axis=None))
    volume = rng.random((10, 24, 24))
    result = seglab.segment(volume, "slic", n_segments=8, channel_axis=None)
    np.testing.assert_array_equal(result.labels, segmentation.slic(volume, n_segments=8, channel_axis=None))


def test_felzenszwalb_astronaut_defaults_equal_skimage_plus_one(astronaut):
    result = seglab.segment(astronaut, "felzenszwalb")
    labels, info = result.data, result.info
    expected = segmentation.felzenszwalb(astronaut)
    np.testing.assert_array_equal(labels, expected + 1)
    assert labels.min() == 1 and info["n_segments_found"] == expected.max() + 1


def test_felzenszwalb_gray_through_segment():
    gray = data.camera()[::2, ::2]
    result = seglab.segment(gray, "felzenszwalb", scale=100, sigma=0.5, min_size=50)
    expected = segmentation.felzenszwalb(gray, scale=100, sigma=0.5, min_size=50, channel_axis=None)
    np.testing.assert_array_equal(result.labels, expected + 1)


def test_quickshift_equals_skimage_plus_one(astronaut):
    image = img_as_float(astronaut[::4, ::4])
    labels = quickshift(image, kernel_size=3, max_dist=6, ratio=0.5)
    np.testing.assert_array_equal(labels, segmentation.quickshift(image, kernel_size=3, max_dist=6, ratio=0.5) + 1)
    with pytest.raises(InvalidImageError, match="quickshift needs a 2-D RGB image"):
        quickshift(image[..., 0])


def test_region_average_equals_label2rgb_avg(astronaut):
    labels = slic(astronaut, n_segments=155, compactness=10, sigma=1)
    np.testing.assert_array_equal(region_average(astronaut, labels), color.label2rgb(labels, astronaut, kind="avg"))
    # with a background label 0 and a float image
    with_bg = labels.copy()
    with_bg[:50] = 0
    image = img_as_float(astronaut)
    np.testing.assert_allclose(region_average(image, with_bg), color.label2rgb(with_bg, image, kind="avg"),
                               rtol=0, atol=1e-12)
    with pytest.raises(ShapeMismatchError, match="`labels` has shape"):
        region_average(astronaut, labels[:10])


@pytest.fixture(scope="module")
def tutorial_superpixels():
    image = data.coffee()[::2, ::2]
    return image, segmentation.slic(image, compactness=30, n_segments=400, start_label=1)


def test_rag_threshold_equals_tutorial(tutorial_superpixels):
    image, labels = tutorial_superpixels
    merged = rag_merge(labels, image=image, mode="threshold", thresh=29)
    expected = graph.cut_threshold(labels, graph.rag_mean_color(image, labels), 29)
    np.testing.assert_array_equal(merged, expected + 1)
    assert len(np.unique(merged)) == len(np.unique(expected)) < len(np.unique(labels))


def _weight_mean_color(g, src, dst, n):
    diff = g.nodes[dst]["mean color"] - g.nodes[n]["mean color"]
    return {"weight": np.linalg.norm(diff)}


def _merge_mean_color(g, src, dst):
    g.nodes[dst]["total color"] += g.nodes[src]["total color"]
    g.nodes[dst]["pixel count"] += g.nodes[src]["pixel count"]
    g.nodes[dst]["mean color"] = g.nodes[dst]["total color"] / g.nodes[dst]["pixel count"]


def test_rag_hierarchical_equals_tutorial(tutorial_superpixels):
    image, labels = tutorial_superpixels
    merged = rag_merge(labels, image=image, mode="hierarchical", thresh=35)
    rag = graph.rag_mean_color(image, labels)
    expected = graph.merge_hierarchical(labels, rag, thresh=35, rag_copy=False, in_place_merge=True,
                                        merge_func=_merge_mean_color, weight_func=_weight_mean_color)
    np.testing.assert_array_equal(merged, expected + 1)


def test_rag_merge_as_post_step(tutorial_superpixels):
    image, _ = tutorial_superpixels
    result = seglab.segment(image, "slic", compactness=30, n_segments=400, post=[("rag_merge", {"thresh": 29})])
    labels = segmentation.slic(image, compactness=30, n_segments=400, start_label=1)
    expected = graph.cut_threshold(labels, graph.rag_mean_color(image, labels), 29)
    np.testing.assert_array_equal(result.labels, expected + 1)
    with pytest.raises(ParameterError, match=r"parameter `mode` of 'rag_merge' got 'cut'; expected one of 'threshold', 'hierarchical'"):
        rag_merge(labels, image=image, mode="cut")
    with pytest.raises(ParameterError, match="needs `image`"):
        rag_merge(labels)
