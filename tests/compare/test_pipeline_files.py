"""Pipelines as YAML/JSON files: read with seglab.io.read_pipeline (yaml.safe_load + Pipeline.from_dict)."""

import json

import pytest

from seglab._core.errors import ParameterError, UnknownMethodError, UnknownParameterError
from seglab.compare import compare, resolve_candidates

io = pytest.importorskip("seglab.io")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_and_json_round_trip_and_are_compared_under_the_file_stem(toys, tmp_path):
    y = write(tmp_path, "dim.yaml", "pre: [toy_median]\nmethod: {name: toy_fixed, params: {threshold: 70}}\n")
    j = write(tmp_path, "half.json", json.dumps({"method": "toy_half", "post": [{"name": "toy_small",
                                                                                  "params": {"min_size": 5}}]}))
    labels = [c.label for c in resolve_candidates(["toy_fixed"], [y, j])]
    assert labels == ["toy_fixed", "dim", "half"]
    assert io.read_pipeline(y).method.params["threshold"] == 70.0
    images, truths = toys.two_level_images(n=1)
    rows = {r["method"]: r for r in compare(images, truths, ["toy_fixed"], pipelines=[y, j])}
    assert rows["toy_fixed"]["f1"] == 0.0 and rows["dim"]["f1"] > 0.9 and rows["half"]["f1"] > 0.9


def test_unknown_key_has_a_close_match(toys, tmp_path):
    path = write(tmp_path, "bad.yaml", "methd: toy_half\n")
    with pytest.raises(ParameterError, match="unknown pipeline key 'methd'.*Did you mean 'method'"):
        io.read_pipeline(path)


def test_unknown_method_and_parameter_have_close_matches(toys, tmp_path):
    with pytest.raises(UnknownMethodError, match="unknown method 'toy_hafl'.*Did you mean 'toy_half'"):
        io.read_pipeline(write(tmp_path, "m.yaml", "method: toy_hafl\n"))
    with pytest.raises(UnknownParameterError, match="no parameter `fracton`.*Did you mean 'fraction'"):
        io.read_pipeline(write(tmp_path, "p.yaml", "method: {name: toy_half, params: {fracton: 0.3}}\n"))
    with pytest.raises(UnknownMethodError, match="unknown pre-step 'toy_medain'.*Did you mean 'toy_median'"):
        io.read_pipeline(write(tmp_path, "s.yaml", "pre: [toy_medain]\nmethod: toy_half\n"))
    with pytest.raises(ParameterError, match=r"parameter `fraction` of 'toy_half' got 2\.0; expected a number in"):
        io.read_pipeline(write(tmp_path, "r.yaml", "method: {name: toy_half, params: {fraction: 2.0}}\n"))
