"""Faults where two routes to the same thing gave two answers (issue: one pipeline, one registry).

Each test failed before its fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import seglab
from seglab._core.errors import DecompressionBombError, ParameterError


@pytest.fixture
def noisy():
    return (np.random.default_rng(4).random((48, 64)) * 255).astype(np.uint8)


def test_a_method_parameter_named_like_segments_own_argument_reaches_the_method(noisy):
    from skimage.filters import threshold_local

    result = seglab.segment(noisy, "local", method="median", block_size=7)
    assert result.info["pipeline"]["method"]["params"]["method"] == "median"
    expected = noisy > threshold_local(noisy, 7, method="median")
    np.testing.assert_array_equal(result.mask, expected)


def test_params_mapping_passes_any_name_and_refuses_a_name_given_twice(noisy):
    via_mapping = seglab.segment(noisy, "local", params={"method": "mean", "block_size": 9})
    via_keywords = seglab.segment(noisy, "local", method="mean", block_size=9)
    np.testing.assert_array_equal(via_mapping.mask, via_keywords.mask)
    with pytest.raises(ParameterError, match=r"parameter `block_size` is given twice"):
        seglab.segment(noisy, "local", block_size=9, params={"block_size": 11})


def test_a_direct_call_enforces_the_same_range_as_the_registry(noisy):
    with pytest.raises(ParameterError, match=r"parameter `k` of 'niblack' got 100; expected a number in \[-5.0, 5.0\]"):
        seglab.segment(noisy, "niblack", window_size=3, k=100)
    with pytest.raises(ParameterError, match=r"parameter `k` of 'niblack' got 100; expected a number in \[-5.0, 5.0\]"):
        seglab.threshold.niblack(noisy, window_size=3, k=100)
    with pytest.raises(ParameterError, match=r"parameter `window_size` of 'niblack' must be odd; got 4"):
        seglab.threshold.niblack(noisy, window_size=4)
    # a valid direct call still equals the registry route
    direct = seglab.threshold.niblack(noisy, window_size=5, k=0.1)
    np.testing.assert_array_equal(direct, seglab.segment(noisy, "niblack", window_size=5, k=0.1).mask)


def _write_slices(folder, names):
    from seglab.io import write

    folder.mkdir()
    for value, name in enumerate(names, start=1):
        write(folder / name, np.full((8, 10), value * 20, np.uint8))


def test_segment_and_tile_read_a_folder_stack_in_the_same_natural_order(tmp_path):
    pytest.importorskip("dask")
    from seglab.tiling import open_array

    names = ["s1.tif", "s10.tif", "s2.tif"]
    _write_slices(tmp_path / "stack", names)
    in_memory = seglab.read_collection(tmp_path / "stack").as_stack()
    tiled = open_array(tmp_path / "stack").compute()
    np.testing.assert_array_equal(tiled, in_memory)
    # natural order: s1, s2, s10 -> values 20, 60, 40
    assert [int(p[0, 0]) for p in tiled] == [20, 60, 40]


def test_the_tiler_applies_the_pixel_budget(tmp_path):
    pytest.importorskip("dask")
    import tifffile

    from seglab.io import set_pixel_budget
    from seglab.tiling import open_array

    tifffile.imwrite(tmp_path / "big.tif", np.zeros((100, 120), np.uint8))
    set_pixel_budget(10_000)
    try:
        with pytest.raises(DecompressionBombError, match=r"declares 100 x 120 = 12,000 pixels, more than the pixel budget"):
            open_array(tmp_path / "big.tif")
    finally:
        set_pixel_budget(None)
    assert open_array(tmp_path / "big.tif").shape == (100, 120)


def test_one_parser_reads_what_to_run_from_every_front_end(tmp_path):
    from seglab._core.pipeline import as_pipeline, split_methods

    assert split_methods("otsu, local:block_size=51,offset=10, li") == [
        "otsu", "local:block_size=51,offset=10", "li"]
    from_string = as_pipeline("local:block_size=51,offset=10")[1]
    from_dict = as_pipeline({"method": {"name": "local", "params": {"block_size": 51, "offset": 10}}})[1]
    (tmp_path / "p.yaml").write_text("method:\n  name: local\n  params: {block_size: 51, offset: 10}\n")
    label, from_file = as_pipeline(str(tmp_path / "p.yaml"))
    from_object = as_pipeline(seglab.Pipeline.build("local", {"block_size": "51", "offset": "10"}))[1]
    assert from_string.to_dict() == from_dict.to_dict() == from_file.to_dict() == from_object.to_dict()
    assert label == "p"
    assert as_pipeline("local:block_size=51,offset=10")[0] == "local(block_size=51,offset=10)"


def test_compare_takes_method_parameters_and_explains_a_missing_model():
    from seglab.compare import resolve_candidates

    candidates = {c.label: c for c in resolve_candidates("otsu,local:block_size=51,offset=10,pixel_classifier")}
    assert candidates["local(block_size=51,offset=10)"].pipeline.method.params["block_size"] == 51
    assert "needs a trained model" in candidates["pixel_classifier"].skipped
    assert candidates["otsu"].skipped == ""


def _out_of_range_cases():
    cases = []
    for spec in seglab.all_specs():
        if not spec.target.startswith("seglab.") or spec.model:
            continue
        for param in spec.params:
            if param.type in ("int", "float") and param.max is not None and not param.choices:
                cases.append(pytest.param(spec, param.name, param.max + 1, id=f"{spec.kind}-{spec.name}-{param.name}"))
    return cases


@pytest.mark.parametrize(("spec", "name", "bad"), _out_of_range_cases())
def test_every_registered_function_enforces_its_declared_range_when_called_directly(spec, name, bad):
    expected = None
    try:
        spec.param(name).coerce(bad, owner=spec.name)
    except ParameterError as exc:
        expected = str(exc)
    assert expected is not None
    with pytest.raises(ParameterError) as caught:
        spec.load()(np.zeros((8, 8), np.uint8), **{name: bad})
    assert str(caught.value) == expected


def _runs_without_inputs(spec):
    return spec.kind == "method" and not spec.inputs and spec.model is None and spec.target.startswith("seglab.")


@pytest.mark.parametrize("name", sorted(s.name for s in seglab.all_specs() if _runs_without_inputs(s)))
def test_a_direct_call_returns_the_array_that_segment_returns(name, noisy):
    # Functions return arrays, as scikit-image's do; the values a method chose come back in segment(...).info.
    import importlib
    import inspect

    spec = seglab.get_method(name)
    module, attribute = spec.target.split(":")
    function = getattr(importlib.import_module(module), attribute)
    image = noisy if spec.channels == "gray" else np.dstack([noisy] * 3)
    result = seglab.segment(image, name)
    direct = function(image)
    assert isinstance(direct, np.ndarray)
    np.testing.assert_array_equal(direct, result.data)
    assert not str(inspect.signature(function).return_annotation).startswith("tuple")


@pytest.mark.parametrize("name", sorted(s.name for s in seglab.all_specs()
                                        if _runs_without_inputs(s) and s.channels == "gray"))
def test_a_colour_image_gets_one_message_from_every_gray_only_method(name, noisy):
    # One channel rule: the function called directly and the registry route say the same thing.
    import importlib

    spec = seglab.get_method(name)
    module, attribute = spec.target.split(":")
    function = getattr(importlib.import_module(module), attribute)
    colour = np.dstack([noisy] * 3)
    with pytest.raises(seglab.InvalidImageError,
                       match=rf"'{name}' works on single-channel images, but .* is colour \(shape \(48, 64, 3\)\); "
                             r"convert it first: pre=\['grayscale'\]"):
        function(colour)
    with pytest.raises(seglab.InvalidImageError, match=rf"method '{name}' works on single-channel images"):
        seglab.segment(colour, name)


@pytest.mark.parametrize("shape", [(8, 9), (8, 9, 3), (8, 9, 4), (8, 9, 2), (4, 8, 9), (5, 8, 9), (2, 8, 9, 3)])
def test_every_room_uses_one_channel_rule(shape):
    # check_image, the reader's pixel budget, the tiler and the limits disagreed on e.g. (8, 9, 2)
    from seglab._core.validation import check_image, has_channel_axis
    from seglab.io._read import _has_channels_auto
    from seglab.tiling._dask import spatial_ndim_of

    expected = len(shape) == 4 or (len(shape) == 3 and shape[-1] in (3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seglab.ConversionWarning)  # RGBA: the alpha channel is dropped
        _, info = check_image(np.zeros(shape, np.uint8))
    assert info.is_color == has_channel_axis(shape) == _has_channels_auto(shape) == expected
    assert spatial_ndim_of(shape) == len(shape) - expected == info.spatial_ndim
