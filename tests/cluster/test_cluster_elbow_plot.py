"""elbow_plot: the chosen k is marked where it belongs and the PNG is written."""

from __future__ import annotations

import numpy as np
import pytest

from seglab._core.errors import ParameterError
from seglab.viz.elbow import elbow_plot


def test_marker_sits_at_chosen_k_and_png_is_written(tmp_path):
    k = [2, 3, 4, 5, 6]
    inertia = [900.0, 300.0, 200.0, 170.0, 160.0]
    path = tmp_path / "elbow.png"
    fig = elbow_plot(k, inertia, 3, path=path)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    np.testing.assert_array_equal(lines["inertia"].get_xdata(), k)
    np.testing.assert_array_equal(lines["chosen k"].get_xdata(), [3])
    np.testing.assert_array_equal(lines["chosen k"].get_ydata(), [300.0])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chosen_k_must_be_on_the_curve():
    with pytest.raises(ParameterError, match=r"`chosen_k` got 9; expected one of \[2, 3\]"):
        elbow_plot([2, 3], [2.0, 1.0], 9)
