"""Local thresholds and hysteresis vs scikit-image; the constant-image policy and parameter errors of every method."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from skimage import data, filters

import seglab
from seglab import threshold
from seglab._core.errors import ConstantImageWarning, ParameterError
from seglab._core.registry import list_methods

TEXT = data.text()


def test_local_equals_skimage_on_text():
    mask = threshold.local(TEXT, block_size=51, offset=10)
    expected = filters.threshold_local(TEXT, 51, "gaussian", offset=10)
    np.testing.assert_array_equal(mask, TEXT > expected)
    result = seglab.segment(TEXT, "local", block_size=51, offset=10)
    np.testing.assert_array_equal(result.mask, TEXT > expected)
    assert result.info["threshold_mean"] == pytest.approx(float(expected.mean()))


@pytest.mark.parametrize("method", ["mean", "median"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_local_methods_and_dtypes(method, dtype):
    image = TEXT[:96, :128] if dtype == "uint8" else (TEXT[:96, :128] / 255).astype(np.float32)
    expected = filters.threshold_local(image, 15, method, offset=0.01, mode="nearest")
    mask = threshold.local(image, block_size=15, method=method, offset=0.01, mode="nearest", invert=True)
    np.testing.assert_array_equal(mask, image <= expected)


def test_local_on_a_volume():
    volume = np.stack([TEXT[:64, :64], TEXT[64:128, :64], TEXT[:64, 64:128]])
    mask = threshold.local(volume, block_size=7)
    np.testing.assert_array_equal(mask, volume > filters.threshold_local(volume, 7))


@pytest.mark.parametrize("name", ["niblack", "sauvola"])
def test_niblack_sauvola_equal_skimage(name):
    image = data.page()
    expected = getattr(filters, f"threshold_{name}")(image, window_size=25, k=0.3)
    mask = getattr(threshold, name)(image, window_size=25, k=0.3)
    np.testing.assert_array_equal(mask, image > expected)
    assert seglab.segment(image, name, window_size=25, k=0.3).info["threshold_max"] == pytest.approx(float(expected.max()))
    inverted = seglab.segment(image, name, window_size=25, k=0.3, invert=True).mask
    np.testing.assert_array_equal(inverted, image <= expected)


def test_sauvola_r_is_passed_through():
    image = data.page()
    np.testing.assert_array_equal(threshold.sauvola(image, r=64.0), image > filters.threshold_sauvola(image, r=64.0))


def test_hysteresis_equals_skimage_and_dark_side():
    image = data.coins()
    mask = threshold.hysteresis(image, low=90.5, high=150.5)
    np.testing.assert_array_equal(mask, filters.apply_hysteresis_threshold(image, 90.5, 150.5))
    info = seglab.segment(image, "hysteresis", low=90.5, high=150.5).info
    assert (info["low"], info["high"]) == (90.5, 150.5)
    dark = threshold.hysteresis(image, low=60.5, high=90.5, invert=True)
    # dark side: pixels <= 60.5 seed, <= 90.5 grow; on integers that is skimage on the negated image
    negated = -image.astype(np.float64)
    np.testing.assert_array_equal(dark, filters.apply_hysteresis_threshold(negated, -90.5, -60.5))


def test_hysteresis_defaults_come_from_otsu():
    image = data.coins()
    t = float(filters.threshold_otsu(image))
    info = seglab.segment(image, "hysteresis").info
    assert (info["low"], info["high"]) == (t, (t + float(image.max())) / 2)
    np.testing.assert_array_equal(threshold.hysteresis(image),
                                  filters.apply_hysteresis_threshold(image, info["low"], info["high"]))
    dark = seglab.segment(image, "hysteresis", invert=True).info
    assert (dark["low"], dark["high"]) == ((float(image.min()) + t) / 2, t)


@pytest.mark.parametrize("call", [
    lambda image: threshold.local(image, block_size=34),
    lambda image: seglab.segment(image, "local", block_size=34),
])
def test_even_block_size_is_refused(call):
    with pytest.raises(ParameterError, match=r"`block_size`.* must be (an )?odd.*34"):
        call(TEXT)


def test_other_parameter_errors():
    with pytest.raises(ParameterError, match=r"`window_size`.* got 1; expected .*3"):
        threshold.niblack(TEXT, window_size=1)
    with pytest.raises(ParameterError, match=r"`method`.* got 'gauss'.*Did you mean 'gaussian'"):
        threshold.local(TEXT, method="gauss")
    with pytest.raises(ParameterError, match=r"`low` \(200(\.0)?\) and `high` \(100(\.0)?\) are in the wrong order"):
        threshold.hysteresis(TEXT, low=200, high=100)
    with pytest.raises(ParameterError, match=r"parameter `window_size` of 'sauvola' must be odd; got 16"):
        seglab.segment(TEXT, "sauvola", window_size=16)


THRESHOLDS = sorted(list_methods("threshold"))


def test_every_threshold_method_is_covered():
    assert THRESHOLDS == sorted(["manual", "otsu", "multi_otsu", "li", "yen", "triangle", "isodata", "mean",
                                 "minimum", "local", "niblack", "sauvola", "hysteresis"])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("name", THRESHOLDS)
def test_constant_image_policy(name, dtype):
    image = np.full((20, 30), 7, dtype=dtype)
    function = getattr(threshold, name)
    with pytest.warns(ConstantImageWarning, match=r"single value \(7\.0\), so no foreground can be separated"):
        out = function(image)
    assert out.shape == image.shape and not out.any()
    with pytest.warns(ConstantImageWarning, match=f"threshold '{name}'"):
        result = seglab.segment(image, name)
    assert result.info["constant"] is True and result.info["threshold"] == 7.0 and not result.data.any()


def test_docstring_examples_run():
    from seglab.threshold import _global, _histogram, _local

    for module in (_global, _histogram, _local):
        failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert attempted > 0 and failed == 0, module.__name__
