"""Interactive methods from the command line: --seeds-json and --contour give the Python API's result."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

import seglab
from seglab.interactive.inputs import circle_contour, seeds_from_json

SEGLAB = shutil.which("seglab")
pytestmark = pytest.mark.skipif(SEGLAB is None, reason="the `seglab` entry point is not installed")


@pytest.fixture
def coins_file(tmp_path):
    image = seglab.data.skimage_sample("coins")[:160, :200]
    path = tmp_path / "coins.png"
    seglab.write(path, image)
    return image, path


def test_random_walker_with_seeds_json_equals_python(tmp_path, coins_file):
    image, path = coins_file
    seeds = {"seeds": [{"class": 1, "circle": [45, 60, 6]}, {"class": 2, "points": [[5, 5], [150, 190], [5, 190]]}]}
    seeds_path = tmp_path / "seeds.json"
    seeds_path.write_text(json.dumps(seeds))
    done = subprocess.run([SEGLAB, "segment", path, "--method", "random_walker", "--seeds-json", seeds_path,
                           "--param", "beta=3000", "--out", tmp_path / "o"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = seglab.read(tmp_path / "o" / "coins.labels.tif")
    expected = seglab.segment(image, "random_walker", seeds=seeds_from_json(seeds, image.shape), beta=3000).labels
    np.testing.assert_array_equal(written, expected)
    assert set(np.unique(written)) == {1, 2}


def test_active_contour_with_circle_writes_mask_and_points(tmp_path, coins_file):
    image, path = coins_file
    done = subprocess.run([SEGLAB, "segment", path, "--method", "active_contour", "--contour", "45,60,25",
                           "--out", tmp_path / "o"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "o" / "coins.json").read_text())
    expected = seglab.segment(image, "active_contour", contour=circle_contour(45, 60, 25))
    np.testing.assert_allclose(np.asarray(record["contour"]), expected.contour)
    np.testing.assert_array_equal(seglab.read(tmp_path / "o" / "coins.mask.png") > 0, expected.mask)


def test_missing_seeds_is_a_clear_error(tmp_path, coins_file):
    _, path = coins_file
    done = subprocess.run([SEGLAB, "segment", path, "--method", "random_walker", "--out", tmp_path / "o"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "needs `seeds`" in done.stderr and "Traceback" not in done.stderr
