"""Random walker: identical to scikit-image for its modes; the AMG path agrees with the exact solution."""

import warnings

import numpy as np
import pytest
from skimage import data, transform
from skimage.color import rgb2gray
from skimage.segmentation import random_walker as sk_random_walker

import seglab
from seglab._core.errors import MissingInputError, ParameterError, ShapeMismatchError
from seglab.interactive._random_walker import _linear_system, random_walker


def astronaut_head(scale=1.0):
    """Gray astronaut and seeds: disk r=20 at the head centre (row 100, col 220) = 1; ring 125..130 = 2."""
    image = rgb2gray(data.astronaut())
    if scale != 1.0:
        image = transform.rescale(image, scale, anti_aliasing=True)
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    dist = np.hypot(rows - 100 * scale, cols - 220 * scale)
    seeds = np.zeros(image.shape, np.int32)
    seeds[dist <= 20 * scale] = 1
    seeds[(dist >= 125 * scale) & (dist <= 130 * scale)] = 2
    return image, seeds


def _run_both(image, seeds, mode):
    """Our call and scikit-image's; the warnings scikit-image emits must be passed through unchanged."""
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_walker(image, seeds=seeds, beta=3000, mode=mode)
    with warnings.catch_warnings(record=True) as sk_warned:
        warnings.simplefilter("always")
        expected = sk_random_walker(image, seeds, beta=3000, mode=mode)
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in sk_warned]
    return ours, expected


@pytest.mark.parametrize("mode", ["bf", "cg_j", "cg_mg"])
def test_identical_to_skimage_on_small_astronaut_beta_3000(mode):
    image, seeds = astronaut_head(scale=0.25)
    ours, expected = _run_both(image, seeds, mode)
    np.testing.assert_array_equal(ours, expected)
    assert ours.dtype == np.int32


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bf", "cg", "cg_j", "cg_mg"])
def test_identical_to_skimage_on_full_astronaut_beta_3000(mode):
    image, seeds = astronaut_head()
    ours, expected = _run_both(image, seeds, mode)
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.slow
def test_amg_agrees_with_bf_on_full_astronaut_beta_3000():
    pytest.importorskip("pyamg", reason="mode='amg' needs pyamg (the [fast] extra)")
    image, seeds = astronaut_head()
    exact = sk_random_walker(image, seeds, beta=3000, mode="bf")
    ours = random_walker(image, seeds=seeds, beta=3000, mode="amg")
    assert (ours == exact).mean() >= 0.999


def test_amg_agrees_with_exact_on_astronaut_beta_3000():
    pytest.importorskip("pyamg", reason="mode='amg' needs pyamg (the [fast] extra)")
    image, seeds = astronaut_head(scale=0.25)
    exact = sk_random_walker(image, seeds, beta=3000, mode="bf")
    result = seglab.segment(image, "random_walker", seeds=seeds, beta=3000, mode="amg")
    np.testing.assert_array_equal(result.labels, random_walker(image, seeds=seeds, beta=3000, mode="amg"))
    assert (result.labels == exact).mean() >= 0.999
    assert result.info["residual"][0] <= result.info["tol"] == 1e-5


def test_amg_agrees_with_exact_where_cg_stops_early():
    pytest.importorskip("pyamg", reason="mode='amg' needs pyamg (the [fast] extra)")
    image = data.camera()[::4, ::4]
    rows, cols = np.mgrid[:128, :128]
    seeds = np.zeros(image.shape, np.int32)
    seeds[np.hypot(rows - 50, cols - 62) < 4] = 1
    seeds[(rows < 2) | (rows > 125) | (cols < 2) | (cols > 125)] = 2
    exact = sk_random_walker(image, seeds, beta=3000, mode="bf")
    ours = random_walker(image, seeds=seeds, beta=3000, mode="amg")
    assert (ours == exact).mean() >= 0.999


def test_linear_system_matches_skimage_internals():
    from skimage.segmentation import random_walker_segmentation as rws
    from skimage.util import img_as_float

    rng = np.random.default_rng(3)
    image = rng.random((12, 15))
    seeds = np.zeros((12, 15), np.int32)
    seeds[0, :] = 1
    seeds[-1, :] = 2
    A, rhs, _ = _linear_system(img_as_float(image)[..., None], seeds, np.array([1, 2]), 130.0, multichannel=False)
    A_sk, rhs_sk = rws._build_linear_system(np.atleast_3d(image)[..., None], np.ones(3), np.atleast_3d(seeds), 2,
                                            None, 130.0, False)
    np.testing.assert_allclose(A.toarray(), A_sk.toarray(), rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(rhs, rhs_sk.toarray(), rtol=1e-12, atol=1e-18)



def test_linear_system_identical_to_skimage_3d_colour_three_classes():
    """The grid-slot assembly reproduces scikit-image's system (3-D, 3 channels, 3 classes)."""
    from skimage.segmentation import random_walker_segmentation as rws

    rng = np.random.default_rng(7)
    image = rng.random((6, 9, 11, 3))
    seeds = np.where(rng.random((6, 9, 11)) < 0.2, rng.integers(1, 4, (6, 9, 11)), 0).astype(np.int32)
    A, rhs, _ = _linear_system(image, seeds, np.array([1, 2, 3]), 3000.0, multichannel=True)
    A_sk, rhs_sk = rws._build_linear_system(image, np.ones(3), seeds, 3, None, 3000.0, True)
    np.testing.assert_allclose(A.toarray(), A_sk.toarray(), rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(rhs, rhs_sk.toarray(), rtol=1e-12, atol=1e-18)


def test_amg_agrees_with_exact_colour_three_classes():
    """Colour, three classes, scikit-image's default beta (at beta=3000 this input's seeds sit in regions joined
    only by ~1e-10 edges and every iterative solver stalls near a relative residual of 1e-7: 99.7 % agreement)."""
    pytest.importorskip("pyamg", reason="mode='amg' needs pyamg (the [fast] extra)")
    image = data.astronaut()[::2, ::2]
    seeds = np.zeros(image.shape[:2], np.int32)
    seeds[40:50, 100:115] = 1  # the head
    seeds[200:210, 30:60] = 2  # the suit
    seeds[:3] = 3  # the top rows
    exact = sk_random_walker(image, seeds, beta=130, mode="bf", channel_axis=-1)
    ours = random_walker(image, seeds=seeds, beta=130, mode="amg")
    assert (ours == exact).mean() >= 0.999


def test_colour_and_seed_values_kept():
    image = data.astronaut()[::4, ::4]
    seeds = np.zeros(image.shape[:2], np.int32)
    seeds[25, 55] = 3
    seeds[2, 2] = 7
    ours = random_walker(image, seeds=seeds, beta=130)
    expected = sk_random_walker(image, np.where(seeds == 3, 1, np.where(seeds == 7, 2, 0)), beta=130, mode="bf",
                                channel_axis=-1)
    np.testing.assert_array_equal(ours, np.array([0, 3, 7])[expected])


def test_through_segment_needs_seeds():
    image, seeds = astronaut_head(scale=0.25)
    result = seglab.segment(image, "random_walker", seeds=seeds, beta=3000)
    np.testing.assert_array_equal(result.labels, sk_random_walker(image, seeds, beta=3000, mode="bf"))
    with pytest.raises(MissingInputError, match="needs `seeds`"):
        seglab.segment(image, "random_walker")


def test_errors():
    image = np.zeros((10, 10))
    with pytest.raises(ParameterError, match="has no seed"):
        random_walker(image, seeds=np.zeros((10, 10), np.int32))
    with pytest.raises(ShapeMismatchError, match="`seeds` has shape"):
        random_walker(image, seeds=np.ones((5, 5), np.int32))
    with pytest.raises(ParameterError, match="parameter `mode` of 'random_walker' got 'cgj'.*Did you mean"):
        random_walker(image, seeds=np.ones((10, 10), np.int32), mode="cgj")
