"""Confusion overlay: each category gets its documented colour."""

from __future__ import annotations

import numpy as np
import pytest

from seglab._core.errors import ParameterError, ShapeMismatchError
from seglab.viz.confusion import CONFUSION_COLORS, FN_COLOR, FP_COLOR, TP_COLOR, confusion_legend, confusion_overlay


@pytest.fixture
def case(rng):
    image = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    t = rng.random((20, 30)) < 0.5
    p = rng.random((20, 30)) < 0.5
    return image, t, p


def test_exact_colours_at_full_opacity(case):
    image, t, p = case
    out = confusion_overlay(image, t, p, alpha=1.0)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    assert (out[t & p] == TP_COLOR).all()
    assert (out[~t & p] == FP_COLOR).all()
    assert (out[t & ~p] == FN_COLOR).all()
    tn = ~t & ~p
    assert (out[tn] == image[tn][:, None]).all()
    assert CONFUSION_COLORS == {"TP": (0, 158, 115), "FP": (213, 94, 0), "FN": (0, 114, 178), "TN": None}


def test_blending(case):
    image, t, p = case
    out = confusion_overlay(image, t, p, alpha=0.25)
    fp = ~t & p
    expected = np.round(0.75 * image[fp][:, None] + 0.25 * np.array(FP_COLOR)).astype(np.uint8)
    assert (out[fp] == expected).all()
    assert (confusion_overlay(image, t, p, alpha=0.0) == image[..., None]).all()


def test_rgb_and_float_images(case):
    _, t, p = case
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 1] = 200
    out = confusion_overlay(rgb, t, p)
    tn = ~t & ~p
    assert (out[tn] == round(200 * 0.587)).all()
    ramp = np.tile(np.linspace(-1.0, 1.0, 30), (20, 1))
    out = confusion_overlay(ramp, np.zeros((20, 30), bool), np.zeros((20, 30), bool))
    assert out[0, 0, 0] == 0 and out[0, -1, 0] == 255


def test_legend_and_errors(case):
    image, t, p = case
    legend = confusion_legend()
    assert "FP  vermillion   (213, 94, 0)" in legend and "TP  bluish green (0, 158, 115)" in legend and "TN  gray image" in legend
    with pytest.raises(ShapeMismatchError, match=r"`mask_pred` has shape \(2, 2\); expected \(20, 30\)"):
        confusion_overlay(image, t, np.zeros((2, 2), bool))
    with pytest.raises(ParameterError, match=r"`alpha` is an opacity in \[0, 1\]; got 1.5"):
        confusion_overlay(image, t, p, alpha=1.5)
