"""Post-steps equal scikit-image / SciPy (OpenCV morphology and labelling give identical results)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import measure, morphology

import seglab
from seglab import postprocess
from seglab._core.errors import ParameterError

GEN = np.random.default_rng(11)
MASK = ndi.gaussian_filter(GEN.random((150, 170)), 2) > 0.5
VOLUME = ndi.gaussian_filter(GEN.random((12, 40, 50)), 1.5) > 0.5


@pytest.mark.parametrize("radius", [1, 2, 3, 5])
@pytest.mark.parametrize("operation", ["opening", "closing"])
def test_morphology_equals_skimage(operation, radius):
    out = getattr(postprocess, operation)(MASK, radius=radius)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, getattr(morphology, operation)(MASK, morphology.disk(radius)))
    assert out.sum() != MASK.sum()


@pytest.mark.parametrize("operation", ["opening", "closing"])
def test_morphology_volume_and_uint8_mask(operation):
    np.testing.assert_array_equal(getattr(postprocess, operation)(VOLUME, radius=1),
                                  getattr(morphology, operation)(VOLUME, morphology.ball(1)))
    as_png = MASK.astype(np.uint8) * 255
    np.testing.assert_array_equal(getattr(postprocess, operation)(as_png, radius=2),
                                  getattr(morphology, operation)(MASK, morphology.disk(2)))


def test_fill_holes_equals_scipy():
    np.testing.assert_array_equal(postprocess.fill_holes(MASK), ndi.binary_fill_holes(MASK))
    assert postprocess.fill_holes(MASK).sum() > MASK.sum()


@pytest.mark.parametrize("connectivity", [1, 2])
def test_remove_small_objects_equals_skimage(connectivity):
    out = postprocess.remove_small_objects(MASK, min_size=30, connectivity=connectivity)
    np.testing.assert_array_equal(out, morphology.remove_small_objects(MASK, max_size=29, connectivity=connectivity))
    sizes = np.bincount(measure.label(out, connectivity=connectivity).ravel())[1:]
    assert sizes.min() >= 30
    labels = measure.label(MASK)
    np.testing.assert_array_equal(postprocess.remove_small_objects(labels, min_size=30),
                                  morphology.remove_small_objects(labels, max_size=29))


@pytest.mark.parametrize("connectivity", [None, 1, 2])
def test_label_equals_skimage_exactly(connectivity):
    labels = postprocess.label(MASK, connectivity=connectivity)
    expected = measure.label(MASK, connectivity=connectivity)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, expected)
    info = seglab.segment(MASK.astype(np.uint8), "manual", threshold=0,
                          post=[("label", {"connectivity": connectivity})]).info["post"]["label"]
    assert info["n_labels"] == expected.max() > 10


def test_label_volume():
    labels = postprocess.label(VOLUME, connectivity=1)
    np.testing.assert_array_equal(labels, measure.label(VOLUME, connectivity=1))
    assert labels.dtype == np.int32


def test_parameter_errors():
    with pytest.raises(ParameterError, match=r"parameter `radius` of 'opening' got 0; expected an integer in \[1, 1000\]"):
        postprocess.opening(MASK, radius=0)
    with pytest.raises(ParameterError, match=r"`connectivity` got 3; expected an integer in \[1, 2\]"):
        postprocess.label(MASK, connectivity=3)
    with pytest.raises(ParameterError, match=r"parameter `min_size` of 'remove_small_objects' got 0; expected an integer >= 1"):
        postprocess.remove_small_objects(MASK, min_size=0)


def test_pipeline_post_steps():
    image = (MASK * 150 + 50).astype(np.uint8)
    result = seglab.segment(image, "otsu", post=["opening:radius=2", "fill_holes", "label"])
    expected = measure.label(ndi.binary_fill_holes(morphology.opening(MASK, morphology.disk(2))))
    assert result.output == "labels"
    np.testing.assert_array_equal(result.labels, expected)


def test_docstring_examples_run():
    from seglab.postprocess import _steps

    failed, attempted = doctest.testmod(_steps, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failed == 0
