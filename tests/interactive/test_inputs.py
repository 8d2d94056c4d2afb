"""Seeds, contours and rectangles parsed from what a user types or saves."""

import json

import numpy as np
import pytest
from skimage.draw import disk, line

from seglab._core.errors import ParameterError
from seglab.interactive.inputs import parse_contour, parse_rect, seeds_from_json


def test_seeds_from_json_draws_each_shape(tmp_path):
    spec = {"seeds": [{"class": 1, "circle": [20, 30, 5]}, {"class": 2, "points": [[0, 0], [39, 59]]},
                      {"class": 3, "polyline": [[35, 5], [35, 25]], "width": 1}]}
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(spec))
    seeds = seeds_from_json(path, (40, 60))
    expected = np.zeros((40, 60), np.int32)
    expected[disk((20, 30), 5, shape=(40, 60))] = 1
    expected[0, 0] = expected[39, 59] = 2
    expected[line(35, 5, 35, 25)] = 3
    np.testing.assert_array_equal(seeds, expected)
    assert seeds.dtype == np.int32
    wide = seeds_from_json({"seeds": [{"class": 1, "polyline": [[20, 10], [20, 40]], "width": 3}]}, (40, 60))
    assert wide[19:22, 10:41].all() and wide.sum() == 3 * 31 + 2  # a disk of diameter 3 (a cross) along the line


def test_seeds_from_json_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{seeds: [")
    with pytest.raises(ParameterError, match="is not valid JSON"):
        seeds_from_json(bad, (10, 10))
    with pytest.raises(ParameterError, match="unknown key 'circel'.*Did you mean 'circle'"):
        seeds_from_json({"seeds": [{"class": 1, "circel": [1, 1, 1]}]}, (10, 10))
    with pytest.raises(ParameterError, match=r"point \(12, 3\) is outside the image \(10 rows x 10 cols\)"):
        seeds_from_json({"seeds": [{"class": 1, "points": [[12, 3]]}]}, (10, 10))
    with pytest.raises(ParameterError, match="class 0; expected an integer >= 1"):
        seeds_from_json({"seeds": [{"class": 0, "points": [[1, 3]]}]}, (10, 10))
    with pytest.raises(ParameterError, match="width got 2; expected an odd integer"):
        seeds_from_json({"seeds": [{"class": 1, "polyline": [[1, 1], [1, 5]], "width": 2}]}, (10, 10))
    with pytest.raises(ParameterError, match="does not exist"):
        seeds_from_json(tmp_path / "missing.json", (10, 10))


def test_parse_contour_and_rect(tmp_path):
    circle = parse_contour("100,220,100")
    s = np.linspace(0, 2 * np.pi, 400)
    np.testing.assert_array_equal(circle, np.array([100 + 100 * np.sin(s), 220 + 100 * np.cos(s)]).T)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"points": [[1, 1], [1, 5], [5, 5]]}))
    np.testing.assert_array_equal(parse_contour(str(path)), [[1, 1], [1, 5], [5, 5]])
    assert parse_rect("10,20,30,40") == (10, 20, 30, 40)
    with pytest.raises(ParameterError, match="expected ROW,COL,HEIGHT,WIDTH"):
        parse_rect("10,20,30")
    with pytest.raises(ParameterError, match="expected ROW,COL,RADIUS"):
        parse_contour("1,2")
