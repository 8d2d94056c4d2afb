"""watershed_distance at its defaults counts the coins of scikit-image's ``coins`` (24)."""

import numpy as np
import pytest

import seglab


def test_defaults_find_one_object_per_coin():
    from skimage.data import coins

    labels = seglab.segment(coins(), "watershed_distance").labels
    sizes = np.bincount(labels.ravel())[1:]
    sizes = sizes[sizes > 0]
    assert 23 <= len(sizes) <= 26
    # a coin covers 600-2500 pixels: 24 objects of coin size, one per coin
    assert int((sizes > 300).sum()) == 24


def test_the_tutorial_recipe_is_still_available_and_undercounts():
    from skimage.data import coins

    tutorial = seglab.segment(coins(), "watershed_distance", fill_holes=False, fg_fraction=0.7).labels
    assert len(np.unique(tutorial)) - 1 <= 3


@pytest.mark.parametrize("fraction", [0.2, 0.25, 0.3])
def test_the_count_is_stable_around_the_default(fraction):
    from skimage.data import coins

    labels = seglab.segment(coins(), "watershed_distance", fg_fraction=fraction).labels
    assert 23 <= len(np.unique(labels)) - 1 <= 26
