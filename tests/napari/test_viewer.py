"""The plugin in a real napari viewer (Qt, OpenGL canvas): run under a display, e.g.

    xvfb-run -a python3 -m pytest -m napari tests/napari

Skipped with a message when the napari extra (napari, npe2, magicgui, a Qt binding) or pytest-qt is
missing. Every result is compared with the same call through seglab's Python API or CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import seglab

napari = pytest.importorskip("napari", reason='the napari extra is not installed: pip install "seglab[napari]"')
pytest.importorskip("pytestqt", reason="pytest-qt is not installed: pip install pytest-qt")
pytest.importorskip("npe2", reason='npe2 is not installed: pip install "seglab[napari]"')

pytestmark = [
    pytest.mark.napari,
    # napari and npe2 still build pydantic-v1-style models; pydantic reports that at import time
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
]

WAIT_MS = 120_000


def _blobs(shape=(64, 80), seed=3):
    gen = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    truth = ((rows - 20) ** 2 + (cols - 25) ** 2 < 150) | ((rows - 40) ** 2 + (cols - 55) ** 2 < 220)
    image = np.clip(np.where(truth, 170, 60) + gen.normal(0, 10, shape), 0, 255).astype(np.uint8)
    return image, truth


@pytest.fixture
def viewer(qtbot):
    if not os.environ.get("DISPLAY"):
        # Qt's offscreen platform has no OpenGL context for napari's canvas: a virtual X display is needed
        pytest.skip("no display: run under xvfb-run -a python3 -m pytest -m napari tests/napari (Debian: xvfb)")
    view = napari.Viewer(show=False)
    yield view
    view.close()


def _segment_widget(viewer):
    # through napari's plugin machinery: the manifest, the command and the viewer injection
    _dock, widget = viewer.window.add_plugin_dock_widget("seglab", "Segment")
    return widget


def _run(qtbot, widget):
    worker = widget.run()
    assert worker is not None, widget.status.value
    qtbot.waitUntil(lambda: not widget.running, timeout=WAIT_MS)
    assert widget.status.value.startswith("done"), widget.status.value
    return widget.last_layer


def test_manifest_validates_and_declares_widgets_reader_writer():
    out = subprocess.run([sys.executable, "-m", "npe2", "validate", "seglab", "--imports"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout
    from npe2 import PluginManager

    manager = PluginManager.instance()
    manager.discover()
    manifest = manager.get_manifest("seglab")
    contributions = manifest.contributions
    assert [w.display_name for w in contributions.widgets] == ["Segment", "Compare", "Train"]
    assert contributions.readers[0].filename_patterns == ["*.zarr"]
    assert contributions.writers[0].layer_types == ["labels"]


def test_otsu_from_the_widget_equals_seglab_segment(qtbot, viewer):
    image, _ = _blobs()
    viewer.add_image(image, name="blobs")
    widget = _segment_widget(viewer)
    assert widget.image.value == "blobs"
    widget.method.value = "otsu"
    widget.pre.add("median", size=3)
    layer = _run(qtbot, widget)
    reference = seglab.segment(image, "otsu", pre=["median:size=3"])
    assert isinstance(layer, napari.layers.Labels) and layer.name == "blobs otsu"
    np.testing.assert_array_equal(layer.data.astype(bool), reference.mask)
    record = layer.metadata["seglab"]
    assert record["info"]["threshold"] == pytest.approx(float(reference.info["threshold"]))
    assert record["pipeline"] == reference.pipeline.to_dict()
    # running again replaces the result in place
    widget.set_params(invert=True)
    layer2 = _run(qtbot, widget)
    assert layer2.name == "blobs otsu" and len(viewer.layers) == 2
    np.testing.assert_array_equal(viewer.layers["blobs otsu"].data.astype(bool), ~reference.mask)
    assert viewer.layers["blobs otsu"].metadata["seglab"]["pipeline"]["method"]["params"]["invert"] is True


def test_every_method_in_the_registry_is_offered_with_its_form(qtbot, viewer):
    viewer.add_image(_blobs()[0], name="blobs")
    widget = _segment_widget(viewer)
    assert list(widget.method.choices) == seglab.list_methods()
    for name in ("random_walker", "active_contour", "sauvola"):
        widget.method.value = name
        spec = seglab.get_method(name)
        assert [w.param_name for w in widget.params] == list(spec.param_names)
        for box in widget.params:
            param = spec.param(box.param_name)
            if type(box).__name__ == "FloatSpinBox" and param.default is not None:
                assert box.value == param.default  # shown exactly, no rounding by Qt
                assert box.min == (param.min if param.min is not None else box.min)
    widget.method.value = "random_walker"
    assert list(widget._input_pickers) == ["seeds"]


def test_a_method_registered_later_appears_with_its_form_and_runs(qtbot, viewer):
    from seglab import MethodSpec, Param
    from seglab.testing import isolated_registry

    # a stand-in plugin method: a plain function declared with a schema the widget has never seen
    spec = MethodSpec(
        name="plugin_cut", family="threshold", target="seglab.threshold._global:manual", output="mask",
        summary="A plugin's fixed cut.", tiling="none", dims=(2, 3),
        params=(Param("threshold", "float", 97.25, "cut level", min=0.5, max=300.0),
                Param("invert", "bool", False, "dark side")),
    )
    image, _ = _blobs()
    viewer.add_image(image, name="blobs")
    with isolated_registry(spec):
        widget = _segment_widget(viewer)
        assert "plugin_cut" in widget.method.choices
        widget.method.value = "plugin_cut"
        box, check = list(widget.params)
        assert type(box).__name__ == "FloatSpinBox" and (box.value, box.min, box.max) == (97.25, 0.5, 300.0)
        assert "cut level" in box.tooltip and type(check).__name__ == "CheckBox"
        widget.set_params(threshold=120.5)
        layer = _run(qtbot, widget)
        np.testing.assert_array_equal(layer.data.astype(bool), image > 120.5)
        assert layer.metadata["seglab"]["pipeline"]["method"] == {"name": "plugin_cut",
                                                                   "params": {"threshold": 120.5, "invert": False}}


def test_3d_stack(qtbot, viewer):
    stack = np.stack([_blobs(seed=s)[0] for s in range(4)])
    viewer.add_image(stack, name="stack")
    widget = _segment_widget(viewer)
    widget.method.value = "li"
    layer = _run(qtbot, widget)
    reference = seglab.segment(stack, "li")
    assert layer.data.shape == stack.shape and layer.metadata["seglab"]["route"] == "memory"
    np.testing.assert_array_equal(layer.data.astype(bool), reference.mask)
    # a 2-D-only method runs plane by plane
    widget.method.value = "felzenszwalb"
    layer = _run(qtbot, widget)
    assert layer.metadata["seglab"]["route"] == "planes" and layer.metadata["seglab"]["per_plane"] is True
    for index in range(4):
        expected = seglab.segment(stack[index], "felzenszwalb").labels
        assert len(set(zip(expected.ravel().tolist(), layer.data[index].ravel().tolist()))) == \
            len(np.unique(expected))


def test_cancel_stops_a_plane_by_plane_run(qtbot, viewer):
    stack = np.stack([_blobs((96, 96), seed=s)[0] for s in range(40)])
    viewer.add_image(stack, name="stack")
    widget = _segment_widget(viewer)
    widget.method.value = "felzenszwalb"
    widget.run()
    widget.cancel()
    qtbot.waitUntil(lambda: not widget.running, timeout=WAIT_MS)
    assert widget.status.value == "cancelled"
    assert [layer.name for layer in viewer.layers] == ["stack"]


def test_dask_layer_runs_through_the_tiler(qtbot, viewer, tmp_path):
    da = pytest.importorskip("dask.array")
    image, _ = _blobs((128, 128))
    viewer.add_image(da.from_array(image, chunks=64), name="lazy")
    widget = _segment_widget(viewer)
    widget.method.value = "otsu"
    widget.chunk.value = 64
    layer = _run(qtbot, widget)
    assert layer.metadata["seglab"]["route"] == "tiled"
    np.testing.assert_array_equal(np.asarray(layer.data[:]).astype(bool), seglab.segment(image, "otsu").mask)
    # with a chosen folder the result is kept there, never over an earlier run
    widget.tile_folder.value = tmp_path
    _run(qtbot, widget)
    _run(qtbot, widget)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lazy_otsu-2.zarr", "lazy_otsu.zarr"]
    # a multiscale layer is segmented at full resolution (level 0)
    pyramid = [da.from_array(image, chunks=64), da.from_array(image[::2, ::2], chunks=64)]
    viewer.add_image(pyramid, multiscale=True, name="pyramid")
    widget.image.value = "pyramid"
    layer = _run(qtbot, widget)
    assert layer.name == "pyramid otsu" and layer.data.shape == image.shape
    np.testing.assert_array_equal(np.asarray(layer.data[:]).astype(bool), seglab.segment(image, "otsu").mask)


def test_seeds_from_points_for_random_walker(qtbot, viewer, tmp_path):
    image, truth = _blobs()
    viewer.add_image(image, name="blobs")
    points = [[5, 5], [60, 75], [20, 25], [40, 55]]
    viewer.add_points(points, name="seeds", features={"class": [1, 1, 2, 2]})
    widget = _segment_widget(viewer)
    widget.method.value = "random_walker"
    widget._input_pickers["seeds"].value = "seeds"
    layer = _run(qtbot, widget)
    from seglab.napari._adapters import seeds_from_points

    seeds = seeds_from_points(np.array(points, float), image.shape, [1, 1, 2, 2])
    reference = seglab.segment(image, "random_walker", seeds=seeds)
    np.testing.assert_array_equal(layer.data, reference.labels)
    assert layer.metadata["seglab"]["inputs"] == {"seeds": "seeds"}
    # the result is a segmentation a user would accept: the objects are class 2
    assert np.mean((layer.data == 2) == truth) > 0.95
    # the export writes the drawn seeds beside the pipeline, and the command on its first line reruns it
    source = seglab.write(tmp_path / "blobs.tif", image)
    exported = widget.export(tmp_path / "walk.yaml")
    assert exported.read_text().startswith("# seglab segment IMAGE --pipeline walk.yaml --seeds walk.seeds.tif")
    out = subprocess.run([sys.executable, "-m", "seglab", "segment", str(source), "--pipeline", str(exported),
                          "--seeds", str(tmp_path / "walk.seeds.tif"), "--out", str(tmp_path / "out"),
                          "--no-overlay"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(seglab.read(tmp_path / "out" / "blobs.labels.tif"), layer.data)


def test_seeds_from_a_labels_layer_for_region_growing_and_edges_as_an_image_layer(qtbot, viewer):
    image, truth = _blobs()
    viewer.add_image(image, name="blobs")
    seeds = np.zeros(image.shape, np.int32)
    seeds[20, 25] = 1
    seeds[40, 55] = 2
    viewer.add_labels(seeds, name="clicks")
    widget = _segment_widget(viewer)
    widget.method.value = "region_growing"
    widget._input_pickers["seeds"].value = "clicks"
    widget.set_params(tolerance=40.0)
    layer = _run(qtbot, widget)
    reference = seglab.segment(image, "region_growing", seeds=seeds, tolerance=40.0)
    np.testing.assert_array_equal(layer.data, reference.labels)
    assert seglab.evaluate(truth, layer.data > 0)["f1"] > 0.9
    widget.method.value = "sobel"
    layer = _run(qtbot, widget)
    assert isinstance(layer, napari.layers.Image)
    np.testing.assert_array_equal(layer.data, seglab.segment(image, "sobel").edges)


def test_rectangle_for_grabcut_and_ellipse_for_active_contour(qtbot, viewer):
    image, truth = _blobs()
    rgb = np.stack([image] * 3, axis=-1)
    viewer.add_image(rgb, name="rgb", rgb=True)
    viewer.add_shapes([np.array([[28.0, 38.0], [28.0, 72.0], [54.0, 72.0], [54.0, 38.0]])],
                      shape_type="rectangle", name="box")
    widget = _segment_widget(viewer)
    widget.method.value = "grabcut"
    widget._input_pickers["rect"].value = "box"
    layer = _run(qtbot, widget)
    reference = seglab.segment(rgb, "grabcut", rect=(28, 38, 26, 34))
    np.testing.assert_array_equal(layer.data.astype(bool), reference.mask)

    viewer.add_image(image, name="gray")
    viewer.add_shapes([np.array([[25.0, 38.0], [25.0, 72.0], [56.0, 72.0], [56.0, 38.0]])], shape_type="ellipse",
                      name="ring")
    widget.image.value = "gray"
    widget.method.value = "active_contour"
    widget._input_pickers["contour"].value = "ring"
    layer = _run(qtbot, widget)
    from seglab.napari._adapters import contour_from_shape

    contour = contour_from_shape(viewer.layers["ring"].data[0], "ellipse")
    reference = seglab.segment(image, "active_contour", contour=contour)
    np.testing.assert_array_equal(layer.data.astype(bool), reference.mask)
    assert "gray active_contour contour" in viewer.layers


def test_painting_scribbles_trains_the_pixel_classifier_and_retrains(qtbot, viewer, tmp_path):
    from seglab.napari import _learn

    if not _learn.available():
        pytest.skip(_learn.UNAVAILABLE)
    image, truth = _blobs()
    viewer.add_image(image, name="blobs")
    scribbles = viewer.add_labels(np.zeros(image.shape, np.int32), name="scribbles")
    scribbles.brush_size = 3
    with scribbles.block_history():
        for col in range(2, 78, 2):
            scribbles.paint((2, col), 1, refresh=False)  # background along the top
        for col in range(18, 32, 2):
            scribbles.paint((20, col), 2, refresh=False)  # inside the first blob
    widget = _segment_widget(viewer)
    widget.method.value = "pixel_classifier"
    widget._input_pickers["scribbles"].value = "scribbles"
    widget.set_params(model=str(tmp_path / "model"))
    layer = _run(qtbot, widget)
    record = layer.metadata["seglab"]
    assert record["inputs"] == {"scribbles": "scribbles"}
    assert record["pipeline"]["method"]["params"]["model"] == str(tmp_path / "model")
    # the same model rerun through the API gives the same mask; it finds the blob it was shown
    reference = seglab.segment(image, "pixel_classifier", model=str(tmp_path / "model"))
    np.testing.assert_array_equal(layer.data.astype(bool), reference.mask)
    first = layer.data.copy()
    # a new stroke on the second blob retrains by itself (live)
    with scribbles.block_history():
        for col in range(50, 60, 2):
            scribbles.paint((40, col), 2, refresh=False)
    qtbot.waitUntil(lambda: widget.running, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not widget.running, timeout=WAIT_MS)
    assert widget.status.value.startswith("done"), widget.status.value
    reference = seglab.segment(image, "pixel_classifier", model=str(tmp_path / "model"))
    np.testing.assert_array_equal(layer.data.astype(bool), reference.mask)
    assert not np.array_equal(layer.data, first)
    f1 = seglab.evaluate(truth, layer.data.astype(bool))["f1"]
    assert f1 > 0.9


def test_train_widget_saves_a_model_the_segment_widget_uses(qtbot, viewer, tmp_path):
    from seglab.napari import _learn

    if not _learn.available():
        pytest.skip(_learn.UNAVAILABLE)
    image, truth = _blobs()
    viewer.add_image(image, name="blobs")
    viewer.add_labels(truth.astype(np.uint8), name="truth")  # a full ground truth: 0 = background
    _dock, trainer = viewer.window.add_plugin_dock_widget("seglab", "Train")
    trainer.image.value, trainer.labels.value, trainer.truth.value = "blobs", "truth", True
    trainer.out.value = tmp_path / "trained"
    trainer.train()
    qtbot.waitUntil(lambda: trainer.worker is None, timeout=WAIT_MS)
    assert trainer.status.value == f"saved {tmp_path / 'trained'}"
    widget = _segment_widget(viewer)
    widget.method.value = "pixel_classifier"
    widget.set_params(model=str(tmp_path / "trained"))
    layer = _run(qtbot, widget)
    assert seglab.evaluate(truth, layer.data.astype(bool))["f1"] > 0.95


def test_exported_pipeline_reproduces_the_widget_bit_for_bit_in_the_cli(qtbot, viewer, tmp_path):
    image, _ = _blobs((96, 120))
    source = seglab.write(tmp_path / "cells.tif", image)
    viewer.add_image(seglab.read(source), name="cells")
    widget = _segment_widget(viewer)
    widget.pre.add("gaussian", sigma=1.3)
    widget.method.value = "sauvola"
    widget.set_params(window_size=25, k=0.137)
    widget.post.add("remove_small_objects", min_size=20)
    widget.post.add("label")
    layer = _run(qtbot, widget)
    exported = widget.export(tmp_path / "pipeline.yaml")
    text = exported.read_text()
    assert text.startswith("# seglab segment IMAGE --pipeline pipeline.yaml --out OUT\n")
    out = subprocess.run([sys.executable, "-m", "seglab", "segment", str(source), "--pipeline", str(exported),
                          "--out", str(tmp_path / "out"), "--no-overlay"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    written = seglab.read(tmp_path / "out" / "cells.labels.tif")
    np.testing.assert_array_equal(written, layer.data)
    record = json.loads((tmp_path / "out" / "cells.json").read_text())
    assert record["pipeline"] == layer.metadata["seglab"]["pipeline"]


def test_compare_widget_scores_and_colours_the_errors(qtbot, viewer):
    image, truth = _blobs()
    viewer.add_image(image, name="blobs")
    viewer.add_labels(truth.astype(np.uint8), name="truth")
    widget = _segment_widget(viewer)
    widget.method.value = "otsu"
    result = _run(qtbot, widget)
    _dock, compare = viewer.window.add_plugin_dock_widget("seglab", "Compare")
    compare.truth.value, compare.result.value, compare.image.value = "truth", "blobs otsu", "blobs"
    metrics = compare.compare()
    expected = seglab.evaluate(truth, result.data.astype(bool))
    assert metrics == expected
    table = compare.table.to_dict("dict")
    assert table["value"]["f1"] == pytest.approx(expected["f1"], abs=1e-6)
    from seglab.viz import confusion_overlay

    layer = viewer.layers["confusion blobs otsu"]
    assert layer.rgb
    np.testing.assert_array_equal(layer.data, confusion_overlay(image, truth, result.data.astype(bool)))


def test_reader_and_writer_through_napari(qtbot, viewer, tmp_path):
    pytest.importorskip("zarr")
    from seglab.tiling import run_tiled

    image, _ = _blobs((96, 96))
    pipeline = seglab.Pipeline.build("otsu", post=["label"])
    run_tiled(image, pipeline, tmp_path / "tiled.zarr", chunk=48, client="sync")
    [layer] = viewer.open(str(tmp_path / "tiled.zarr"), plugin="seglab")
    assert isinstance(layer, napari.layers.Labels) and layer.name == "tiled"
    assert layer.metadata["seglab"]["pipeline"] == pipeline.to_dict()
    written = layer.save(str(tmp_path / "saved.tif"), plugin="seglab")
    assert str(tmp_path / "saved.tif") in written
    np.testing.assert_array_equal(seglab.read(tmp_path / "saved.tif"), np.asarray(layer.data[:]))
    assert json.loads((tmp_path / "saved.json").read_text())["seglab"]["pipeline"] == pipeline.to_dict()


def test_screenshot_of_the_docked_widget(qtbot, viewer, tmp_path):
    from seglab.napari._screenshot import screenshot

    path = screenshot(tmp_path / "napari-widget.png", viewer=viewer)
    shot = seglab.read(path)
    assert shot.shape[0] >= 600 and shot.shape[1] >= 1000
    # the dock is on the right: its part of the window is not one flat colour
    assert np.unique(shot[:, -400:, :3].reshape(-1, 3), axis=0).shape[0] > 50


def test_step_forms_show_their_parameter_names_whole(qtbot, viewer):
    """A step's form gets the dock's width: no parameter name is cut ("connectivit" was, beside min_size)."""
    from qtpy.QtWidgets import QApplication, QLabel

    widget = _segment_widget(viewer)
    viewer.window._qt_window.resize(1400, 900)
    viewer.window._qt_window.show()
    row = widget.post.add("remove_small_objects", min_size=64)
    for _ in range(5):
        QApplication.processEvents()
    labels = [label for label in row.native.findChildren(QLabel) if label.text() in ("min_size", "connectivity")]
    assert sorted(label.text() for label in labels) == ["connectivity", "min_size"]
    for label in labels:
        assert label.contentsRect().width() >= label.fontMetrics().horizontalAdvance(label.text()), label.text()
