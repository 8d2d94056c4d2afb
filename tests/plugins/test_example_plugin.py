"""A plugin installed through the ``seglab.methods`` entry point is a method like any other.

The plugin lives in ``tests/plugins/seglab-plugin-example`` (its own pyproject, no file of
``src/seglab`` touched); ``.ci/run`` installs it with ``pip install -e``. Its method ``box_mean``
must appear in ``seglab methods --json`` and run through ``segment``, ``compare``, ``tune`` and ``tile``.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pytest

import seglab
from seglab.cli.main import main

try:
    distribution("seglab-plugin-example")
except PackageNotFoundError:  # pragma: no cover - CI installs it
    pytest.skip("the test plugin is not installed: pip install -e tests/plugins/seglab-plugin-example",
                allow_module_level=True)


def _reference(image: np.ndarray, size: int, offset: float) -> np.ndarray:
    # the rule the plugin documents, computed independently in float64 with SciPy
    from scipy import ndimage as ndi

    local = ndi.uniform_filter(image.astype(np.float64), size=size, mode="nearest")
    return image.astype(np.float64) > local + offset + 1e-9


@pytest.fixture
def dataset(tmp_path):
    """Four seeded images of bright squares on a smooth gradient, with their truth masks, as PNG files."""
    from seglab.io import write

    rng = np.random.default_rng(11)
    (tmp_path / "images").mkdir()
    (tmp_path / "truths").mkdir()
    rows, cols = np.mgrid[:72, :96]
    for index in range(4):
        truth = np.zeros((72, 96), bool)
        for _ in range(4):
            r, c = rng.integers(2, 60), rng.integers(2, 84)
            truth[r:r + 9, c:c + 9] = True
        image = 40 + rows * 0.8 + np.where(truth, 70, 0) + rng.normal(0, 4, truth.shape)
        write(tmp_path / "images" / f"im{index}.png", np.clip(image, 0, 255).astype(np.uint8))
        write(tmp_path / "truths" / f"im{index}.png", truth.astype(np.uint8) * 255)
    return tmp_path


def test_the_plugin_method_is_in_the_catalogue_with_its_schema_and_origin(capsys):
    assert main(["methods", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out) if e["kind"] == "method"}
    entry = entries["box_mean"]
    assert entry["origin"] == "example"
    assert entry["family"] == "example_plugin"
    assert [p["name"] for p in entry["params"]] == ["size", "offset"]
    assert entries["otsu"]["origin"] == "seglab"


def test_segment_runs_the_plugin_method_from_python_and_the_cli(dataset, capsys):
    image = seglab.read(dataset / "images" / "im0.png")
    result = seglab.segment(image, "box_mean", size=21, offset=10)
    np.testing.assert_array_equal(result.mask, _reference(image, 21, 10))
    out = dataset / "seg"
    assert main(["segment", str(dataset / "images" / "im0.png"), "--method", "box_mean",
                 "--param", "size=21", "--param", "offset=10", "--out", str(out), "--no-overlay"]) == 0
    written = seglab.read(out / "im0.mask.png") > 0
    np.testing.assert_array_equal(written, result.mask)


def test_compare_ranks_the_plugin_method_beside_a_builtin(dataset, capsys):
    out = dataset / "cmp"
    code = main(["compare", str(dataset / "images"), "--truth", str(dataset / "truths"),
                 "--methods", "box_mean,otsu", "--out", str(out), "--overlays", "0"])
    assert code == 0
    ranking = {row["method"]: row for row in json.loads((out / "results.json").read_text())["ranking"]}
    assert set(ranking) == {"box_mean", "otsu"}
    # the plugin method is really run and scored: its F1 is the mean F1 of the documented rule's masks
    expected = np.mean([
        seglab.evaluate(seglab.read(dataset / "truths" / f"im{i}.png") > 0,
                        _reference(seglab.read(dataset / "images" / f"im{i}.png"), 15, 0.0))["f1"]
        for i in range(4)
    ])
    assert ranking["box_mean"]["metric_kind"] == "binary" and ranking["box_mean"]["n_errors"] == 0
    assert ranking["box_mean"]["metrics"]["f1"]["mean"] == pytest.approx(expected, abs=1e-9)


def test_tune_searches_the_plugin_parameters(dataset, capsys):
    pytest.importorskip("optuna")
    out = dataset / "tune"
    assert main(["tune", str(dataset / "images"), "--truth", str(dataset / "truths"), "--methods", "box_mean",
                 "--trials", "6", "--folds", "2", "--jobs", "1", "--no-steps", "--out", str(out)]) == 0
    best = seglab.io.read_pipeline(out / "best.yaml")
    assert best.method.name == "box_mean"
    assert set(best.method.params) == {"size", "offset"}


def test_tile_gives_the_in_memory_result(dataset, capsys):
    pytest.importorskip("dask")
    import tifffile

    image = np.concatenate([seglab.read(dataset / "images" / f"im{i}.png") for i in range(4)], axis=1)
    tifffile.imwrite(dataset / "wide.tif", image)
    out = dataset / "wide.zarr"
    assert main(["tile", str(dataset / "wide.tif"), "--method", "box_mean", "--param", "size=21",
                 "--out", str(out), "--chunk", "40,50", "--workers", "1", "--quiet"]) == 0
    import zarr

    tiled = zarr.open(str(out), mode="r")[:]
    np.testing.assert_array_equal(tiled, seglab.segment(image, "box_mean", size=21).mask)
