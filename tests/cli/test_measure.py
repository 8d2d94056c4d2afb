"""`seglab measure` through the installed entry point."""

from __future__ import annotations

import csv
import shutil
import subprocess

import numpy as np
import pytest
import tifffile
from skimage import data

from seglab.instance import split_touching

SEGLAB = shutil.which("seglab")


@pytest.fixture(scope="module", autouse=True)
def _needs_entry_point_and_reader():
    if SEGLAB is None:
        pytest.skip("the `seglab` entry point is not installed (pip install -e .)")
    try:
        from seglab.io import read  # noqa: F401
    except ImportError:
        pytest.skip("seglab.io.read is not available yet (another engineer is writing seglab.io)")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("measure")
    coins = data.coins()
    labels = split_touching(coins, min_distance=10)
    tifffile.imwrite(folder / "labels.tif", labels)
    tifffile.imwrite(folder / "coins.tif", coins)
    return folder, len(np.unique(labels[labels > 0]))


def test_measure_prints_count_and_writes_rows(files):
    folder, n_objects = files
    out = folder / "table.csv"
    run = subprocess.run([SEGLAB, "measure", str(folder / "labels.tif"), "--image", str(folder / "coins.tif"),
                          "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{n_objects} objects")
    with open(out, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == n_objects
    assert {"perimeter", "mean_intensity", "bbox_max_col"} <= set(rows[0])


def test_missing_file_is_one_line_and_exit_2(files, tmp_path):
    folder, _ = files
    run = subprocess.run([SEGLAB, "measure", str(tmp_path / "nope.tif"), "--out", str(tmp_path / "t.csv")],
                         capture_output=True, text=True)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seglab: error:") and "nope.tif" in lines[0]
    assert not (tmp_path / "t.csv").exists()


def test_bad_property_exit_2(files, tmp_path):
    folder, _ = files
    run = subprocess.run([SEGLAB, "measure", str(folder / "labels.tif"), "--properties", "aera",
                          "--out", str(tmp_path / "t.csv")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "unknown property 'aera'" in run.stderr


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_binary_mask_is_measured_as_connected_components(tmp_path, capsys):
    import seglab
    from seglab.cli.main import main

    mask = np.zeros((40, 50), np.uint8)
    mask[2:10, 2:12] = 255
    mask[20:30, 30:45] = 255
    seglab.write(tmp_path / "m.png", mask)
    assert main(["measure", str(tmp_path / "m.png"), "--out", str(tmp_path / "m.csv")]) == 0
    rows = _rows(tmp_path / "m.csv")
    assert [int(r["area"]) for r in rows] == [80, 150]  # two objects, not one labelled 255
    assert "binary mask (values 0 and 255): measuring its 2 connected components" in capsys.readouterr().err


def test_gray_image_is_refused_in_one_line(tmp_path, capsys, shared_data):
    from seglab.cli.main import main

    code = main(["measure", str(shared_data("kesm", "grayscale.png")), "--out", str(tmp_path / "g.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "looks like a gray image, not a label image" in err[0] and "segment it first" in err[0]
    assert not (tmp_path / "g.csv").exists()


def test_zarr_labels_and_physical_units(tmp_path, capsys):
    import seglab
    from seglab.cli.main import main

    labels = np.zeros((30, 40), np.uint16)
    labels[5:15, 5:25] = 1
    labels[20:28, 10:14] = 2
    seglab.write(tmp_path / "big.zarr", labels)
    assert main(["measure", str(tmp_path / "big.zarr"), "--pixel-size", "0.5", "--out", str(tmp_path / "z.csv")]) == 0
    rows = _rows(tmp_path / "z.csv")
    assert [int(r["area"]) for r in rows] == [200, 32]
    assert [float(r["area_um2"]) for r in rows] == [50.0, 8.0]
    assert float(rows[0]["centroid_col_um"]) == pytest.approx(0.5 * 14.5)


def test_pixel_size_is_read_from_the_tiff_resolution(tmp_path, capsys):
    from seglab.cli.main import main

    labels = np.zeros((20, 20), np.uint16)
    labels[2:12, 2:12] = 7
    # ImageJ convention: 4 pixels per micron -> 0.25 um per pixel
    tifffile.imwrite(tmp_path / "l.tif", labels, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "micron"})
    assert main(["measure", str(tmp_path / "l.tif"), "--out", str(tmp_path / "l.csv")]) == 0
    (row,) = _rows(tmp_path / "l.csv")
    assert float(row["area_um2"]) == pytest.approx(100 * 0.25**2)
    assert "pixel size 0.25 um from the file's resolution" in capsys.readouterr().err
