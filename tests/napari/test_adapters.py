"""The plugin's napari-free parts: registry schema -> widgets, drawn layers -> inputs, jobs, reader/writer.

These run in the default suite (no napari, no display needed); the viewer tests are in test_viewer.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import seglab
from seglab.napari._adapters import (
    FLOAT_LIMIT,
    contour_from_shape,
    float_decimals,
    layer_metadata,
    pipeline_yaml,
    rect_from_shape,
    result_layer,
    seeds_from_points,
    widget_options,
)
from seglab.napari._io import get_reader, read_seglab_zarr, write_labels
from seglab.napari._jobs import Job, RunCancelled, RunState, route, run_job


def _blobs(shape=(64, 80), seed=3):
    gen = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    truth = ((rows - 20) ** 2 + (cols - 25) ** 2 < 150) | ((rows - 40) ** 2 + (cols - 55) ** 2 < 220)
    image = np.clip(np.where(truth, 170, 60) + gen.normal(0, 10, shape), 0, 255).astype(np.uint8)
    return image, truth


# -- registry schema -> widgets --------------------------------------------------------------------
def _all_params():
    for spec in seglab.all_specs():
        for param in spec.to_dict()["params"]:
            yield spec.name, param


def test_every_registered_parameter_gets_a_widget_that_shows_its_default_exactly():
    kinds = {}
    for owner, param in _all_params():
        made = widget_options(param)
        kind, options = made["widget_type"], made["options"]
        kinds.setdefault(kind, 0)
        kinds[kind] += 1
        assert options["label"] == param["name"]
        assert param.get("help", "") in options["tooltip"], (owner, param["name"])
        if kind == "SpinBox":
            assert options["value"] == param["default"] and options["min"] <= param["default"] <= options["max"]
            if param.get("min") is not None:
                assert options["min"] == param["min"]
        elif kind == "FloatSpinBox":
            assert options["value"] == param["default"] and options["min"] <= param["default"] <= options["max"]
            # the spin box keeps enough decimals to hold the default exactly
            assert round(param["default"], made["decimals"]) == param["default"], (owner, param)
        elif kind == "ComboBox":
            assert options["value"] in options["choices"]
            assert options["choices"] == param.get("choices", ["None", "true", "false"])
        elif kind == "CheckBox":
            assert options["value"] is param["default"]
        else:
            assert kind == "LineEdit"
            # what the line edit shows reads back to the default through the registry's own coercion
            spec = next(s for s in seglab.all_specs() if s.name == owner and param["name"] in s.param_names)
            assert spec.param(param["name"]).coerce(options["value"]) == spec.param(param["name"]).default
    # the registry has every kind of field; a regression to "all text boxes" would show here
    assert {"SpinBox", "FloatSpinBox", "ComboBox", "CheckBox"} <= set(kinds)


def test_schema_mapping_per_type():
    assert widget_options({"name": "n", "type": "int", "default": 5, "min": 1, "max": 9})["options"] == {
        "label": "n", "tooltip": "(min 1, max 9)  [default: 5]", "value": 5, "min": 1, "max": 9, "step": 1}
    made = widget_options({"name": "beta", "type": "float", "default": 130.0, "min": 1e-6, "help": "Edge penalty."})
    assert made["widget_type"] == "FloatSpinBox" and made["decimals"] == 6
    assert made["options"]["min"] == 1e-6 and made["options"]["max"] == FLOAT_LIMIT
    assert made["options"]["tooltip"].startswith("Edge penalty. (min 1e-06)")
    assert widget_options({"name": "m", "type": "str", "default": "bf", "choices": ["bf", "cg"]})["widget_type"] \
        == "ComboBox"
    assert widget_options({"name": "b", "type": "bool", "default": True})["widget_type"] == "CheckBox"
    assert widget_options({"name": "s", "type": "str", "default": "x"})["widget_type"] == "LineEdit"
    assert widget_options({"name": "t", "type": "float", "default": None, "nullable": True})["options"]["value"] \
        == "None"
    assert widget_options({"name": "k", "type": "ints", "default": [1, 2]})["options"]["value"] == "1,2"


def test_float_decimals_hold_small_defaults():
    assert float_decimals(1e-14) == 14
    assert float_decimals(0.1, 2.5) == 3
    assert round(1e-6, float_decimals(1e-6)) == 1e-6


# -- drawn layers -> inputs --------------------------------------------------------------------------
def test_points_become_seed_pixels_with_their_classes():
    seeds = seeds_from_points(np.array([[0, 2.4, 3.6], [0, 7, 1]]), (10, 10), classes=[2, 1])
    assert seeds.dtype == np.int32 and seeds[2, 4] == 2 and seeds[7, 1] == 1 and np.count_nonzero(seeds) == 2
    with pytest.raises(seglab.ParameterError, match=r"seed point \[12.0, 1.0\] lies outside the image"):
        seeds_from_points(np.array([[12.0, 1.0]]), (10, 10))
    with pytest.raises(seglab.ParameterError, match=r"the seeds layer has no points"):
        seeds_from_points(np.zeros((0, 2)), (10, 10))
    with pytest.raises(seglab.ParameterError, match=r"point classes must be integers >= 1"):
        seeds_from_points(np.array([[1, 1]]), (10, 10), classes=[0])


def test_ellipse_contour_is_the_inscribed_ellipse():
    corners = np.array([[10, 20], [10, 60], [30, 60], [30, 20]], float)  # rows 10..30, cols 20..60
    points = contour_from_shape(corners, "ellipse")
    assert points.shape == (400, 2)
    centred = (points - [20, 40]) / [10, 20]
    np.testing.assert_allclose((centred**2).sum(axis=1), 1.0, atol=1e-12)
    with pytest.raises(seglab.ParameterError, match=r"a 'line' shape cannot be a contour"):
        contour_from_shape(corners[:2], "line")


def test_rectangle_covers_the_pixels_drawn_and_must_overlap_the_image():
    assert rect_from_shape(np.array([[-3.0, 5.2], [-3.0, 15], [8.5, 15], [8.5, 5.2]]), (20, 12)) == (0, 5, 9, 7)
    with pytest.raises(seglab.ParameterError, match=r"does not overlap the image of 20 rows x 12 cols"):
        rect_from_shape(np.array([[30.0, 1], [40, 5]]), (20, 12))


# -- results and pipelines ---------------------------------------------------------------------------
def test_result_layer_carries_pipeline_and_what_the_method_chose():
    image, _ = _blobs()
    result = seglab.segment(image, "otsu", pre=["median:size=3"])
    metadata = layer_metadata(result, source="blobs")
    data, kwargs, kind = result_layer(result.data, result.output, "blobs otsu", metadata)
    assert kind == "labels" and data.dtype == np.uint8
    np.testing.assert_array_equal(data.astype(bool), result.mask)
    record = kwargs["metadata"]["seglab"]
    assert record["info"]["threshold"] == pytest.approx(float(result.info["threshold"]))
    assert record["pipeline"] == result.pipeline.to_dict() and record["source"] == "blobs"
    edges = seglab.segment(image, "sobel")
    assert result_layer(edges.data, edges.output, "e", {})[2] == "image"


def test_pipeline_yaml_reads_back_to_the_same_pipeline():
    pipeline = seglab.Pipeline.build("random_walker", {"beta": 1234.5678, "tol": 1e-7, "mode": "cg"},
                                     pre=["gaussian:sigma=0.7"], post=["remove_small_objects"])
    text = pipeline_yaml(pipeline, command="seglab segment IMAGE --pipeline p.yaml")
    assert text.startswith("# seglab segment IMAGE --pipeline p.yaml\n")
    again = seglab.Pipeline.from_dict(yaml.safe_load(text))
    assert again.to_dict() == pipeline.to_dict()
    assert again.method.params["beta"] == 1234.5678 and again.method.params["tol"] == 1e-7


# -- jobs: the three routes, progress and cancel ---------------------------------------------------
def test_in_memory_job_equals_segment():
    image, _ = _blobs()
    pipeline = seglab.Pipeline.build("li", pre=["gaussian:sigma=1"])
    state = RunState()
    result = run_job(Job(pipeline, image), state)
    assert result.route == "memory" and state.snapshot() == ("li", 1, 1)
    np.testing.assert_array_equal(result.data, seglab.segment(image, "li", pre=["gaussian:sigma=1"]).mask)


def test_stack_with_a_2d_method_runs_plane_by_plane_with_one_id_per_object():
    stack = np.stack([_blobs(seed=s)[0] for s in range(3)])
    pipeline = seglab.Pipeline.build("felzenszwalb", {"scale": 200.0})
    assert 3 not in pipeline.method.spec.dims
    result = run_job(Job(pipeline, stack))
    assert result.route == "planes" and result.output == "labels" and result.data.shape == stack.shape
    for index in range(3):
        expected = seglab.segment(stack[index], "felzenszwalb", scale=200.0).labels
        plane = result.data[index]
        # the same partition, ids shifted past the previous planes' ids
        pairs = set(zip(expected.ravel().tolist(), plane.ravel().tolist()))
        assert len(pairs) == len(np.unique(expected)) == len(np.unique(plane))
    ids = [set(np.unique(result.data[i])) - {0} for i in range(3)]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])  # no id reused across planes
    assert len(result.info["planes"]) == 3


def test_cancel_stops_between_planes():
    stack = np.stack([_blobs(seed=s)[0] for s in range(4)])
    state = RunState()
    state.cancel()
    with pytest.raises(RunCancelled, match="was cancelled"):
        run_job(Job(seglab.Pipeline.build("otsu"), stack), state)
    assert issubclass(RunCancelled, seglab.SeglabError)


def test_cancel_stops_a_tiled_run_after_a_tile(tmp_path):
    da = pytest.importorskip("dask.array")
    image, _ = _blobs((96, 96))
    state = RunState()
    events = []

    def cancel_after_the_first_tile(event, *rest):
        events.append(event)
        if getattr(event, "done", rest[0] if rest else 0) >= 1:
            state.cancel()
        RunState.update(state, event, *rest)

    state.update = cancel_after_the_first_tile
    job = Job(seglab.Pipeline.build("local", {"block_size": 11}), da.from_array(image, chunks=32), chunk=32,
              tile_out=tmp_path / "out.zarr")
    with pytest.raises(RunCancelled, match="was cancelled"):
        run_job(job, state)
    assert len(events) < 1 + 9  # the start event and 9 tiles: it stopped early


def test_dask_layer_goes_through_the_tiler_and_equals_in_memory(tmp_path):
    da = pytest.importorskip("dask.array")
    pytest.importorskip("zarr")
    image, _ = _blobs((96, 96))
    pipeline = seglab.Pipeline.build("otsu", pre=["median:size=3"])
    job = Job(pipeline, da.from_array(image, chunks=32), chunk=32, tile_out=tmp_path / "out.zarr")
    assert route(job) == "tiled"
    seen = []
    state = RunState()
    original = state.update
    state.update = lambda event, *rest: (seen.append(getattr(event, "stage", event)), original(event, *rest))
    result = run_job(job, state)
    assert result.route == "tiled" and "write" in seen
    np.testing.assert_array_equal(np.asarray(result.data), seglab.segment(image, "otsu", pre=["median:size=3"]).mask)
    assert result.info["threshold"] == pytest.approx(float(seglab.segment(image, "otsu",
                                                                           pre=["median:size=3"]).info["threshold"]))
    # the reader opens the store with its pipeline and provenance
    reader = get_reader(str(tmp_path / "out.zarr"))
    assert reader is read_seglab_zarr
    [(data, kwargs, kind)] = reader(str(tmp_path / "out.zarr"))
    assert kind == "labels" and kwargs["name"] == "out"
    assert kwargs["metadata"]["seglab"]["pipeline"] == pipeline.to_dict()
    assert kwargs["metadata"]["seglab"]["provenance"]["chunk"] == [32, 32]
    np.testing.assert_array_equal(np.asarray(data[:]), np.asarray(result.data))


def test_reader_leaves_other_paths_to_other_readers(tmp_path):
    zarr = pytest.importorskip("zarr")
    zarr.create_array(store=str(tmp_path / "plain.zarr"), shape=(4, 4), dtype="u1")
    assert get_reader(str(tmp_path / "plain.zarr")) is None
    seglab.write(tmp_path / "a.tif", np.zeros((4, 4), np.uint8))
    assert get_reader(str(tmp_path / "a.tif")) is None
    assert get_reader([str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]) is None


def test_writer_stores_labels_exactly_with_their_provenance(tmp_path):
    labels = np.zeros((20, 30), np.int32)
    labels[2:5, 3:9] = 1
    labels[10:12, 4:6] = 70_000
    meta = {"seglab": {"pipeline": {"method": {"name": "otsu", "params": {}}}}}
    written = write_labels(str(tmp_path / "cells.labels.tif"), labels, {"name": "cells", "metadata": meta})
    assert written == [str(tmp_path / "cells.labels.tif"), str(tmp_path / "cells.labels.json")]
    back = seglab.read(written[0])
    assert back.dtype == np.uint32
    np.testing.assert_array_equal(back, labels)
    import json

    assert json.loads((tmp_path / "cells.labels.json").read_text())["seglab"] == meta["seglab"]
    small = write_labels(str(tmp_path / "m.png"), labels.clip(0, 2), {})
    assert small == [str(tmp_path / "m.png")] and seglab.read(small[0]).dtype == np.uint16
    with pytest.raises(seglab.ImageWriteError, match=r"the labels hold negative values \(min -1\)"):
        write_labels(str(tmp_path / "neg.tif"), labels - 1, {})
    assert not (tmp_path / "neg.tif").exists()


def test_zarr_backed_stack_goes_through_the_tiler_plane_by_plane(tmp_path):
    zarr = pytest.importorskip("zarr")
    stack = np.stack([_blobs((64, 64), seed=s)[0] for s in range(3)])
    source = zarr.create_array(store=str(tmp_path / "stack.zarr"), shape=stack.shape, chunks=(1, 32, 32),
                               dtype=stack.dtype)
    source[:] = stack
    pipeline = seglab.Pipeline.build("local", {"block_size": 11})
    job = Job(pipeline, zarr.open_array(str(tmp_path / "stack.zarr"), mode="r"), chunk=32,
              tile_out=tmp_path / "out.zarr")
    result = run_job(job)
    assert result.route == "tiled"
    np.testing.assert_array_equal(np.asarray(result.data[:]), seglab.segment(stack, "local", block_size=11).mask)


def test_scribbles_job_trains_saves_and_predicts_like_the_api(tmp_path):
    from seglab.napari import _learn

    if not _learn.available():
        pytest.skip(_learn.UNAVAILABLE)
    assert _learn.trainer("otsu") is None and _learn.trainer("no_such_method") is None
    image, truth = _blobs()
    scribbles = np.zeros(image.shape, np.int32)
    scribbles[1:3, :] = 1
    scribbles[18:22, 20:30] = 2
    scribbles[38:42, 50:60] = 2
    pipeline = seglab.Pipeline.build("pixel_classifier", post=["fill_holes"])
    job = Job(pipeline, image, scribbles=scribbles, model_dir=tmp_path / "model")
    result = run_job(job)
    assert result.pipeline.method.params["model"] == str(tmp_path / "model")
    reference = seglab.segment(image, "pixel_classifier", model=str(tmp_path / "model"), post=["fill_holes"])
    np.testing.assert_array_equal(result.data, reference.mask)
    assert seglab.evaluate(truth, result.data)["f1"] > 0.9
