"""`seglab plot` through the installed entry point."""

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from skimage import data

pytest.importorskip("seglab.io", reason="seglab.io (read/write) is not available yet")

SEGLAB = shutil.which("seglab")
pytestmark = pytest.mark.skipif(SEGLAB is None, reason="the `seglab` entry point is not installed")


def run(*args):
    return subprocess.run([SEGLAB, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture
def camera_png(tmp_path):
    path = tmp_path / "camera.png"
    Image.fromarray(data.camera()[::4, ::4]).save(path)
    return path


def test_overlay_from_labels_file(tmp_path, camera_png):
    labels = np.zeros((128, 128), np.uint8)
    labels[20:60, 30:90] = 255
    Image.fromarray(labels).save(tmp_path / "mask.png")
    out = tmp_path / "overlay.png"
    done = run("plot", "overlay", camera_png, "--labels", tmp_path / "mask.png", "--out", out)
    assert done.returncode == 0, done.stderr
    picture = np.asarray(Image.open(out))
    assert picture.shape == (128, 128, 3)
    assert (picture[40, 60] != picture[40, 60][0]).any() and (picture[100, 100] == picture[100, 100][0]).all()


def test_histogram_and_contour(tmp_path, camera_png):
    done = run("plot", "histogram", camera_png, "--threshold", "87", "--out", tmp_path / "h.png")
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "h.png").size == (640, 360)
    done = run("plot", "contour", camera_png, "--contour", "50,60,30", "--param", "max_num_iter=20",
               "--out", tmp_path / "c.png")
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "c.png").size == (600, 600)


def test_bad_kind_is_one_line_and_exit_2(tmp_path, camera_png):
    done = run("plot", "histogramm", camera_png, "--out", tmp_path / "x.png")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown plot kind 'histogramm'" in lines[0] and "Did you mean 'histogram'" in lines[0]


def test_histogram_after_pre_steps_is_the_one_the_threshold_comes_from(tmp_path, camera_png, monkeypatch):
    import seglab.viz.plots as plots
    from seglab.cli.main import main

    seen = {}
    real = plots.histogram_plot

    def spy(image, thresholds=(), path=None, **kwargs):
        seen["image"], seen["thresholds"] = np.asarray(image), list(thresholds)
        return real(image, thresholds, path, **kwargs)

    monkeypatch.setattr(plots, "histogram_plot", spy)
    assert main(["plot", "histogram", str(camera_png), "--pre", "invert", "--method", "otsu",
                 "--out", str(tmp_path / "h.png")]) == 0
    original = np.asarray(Image.open(camera_png))
    assert np.array_equal(seen["image"], 255 - original)
    (threshold,) = seen["thresholds"]
    # the line falls inside the drawn data: pixels on both sides of it
    assert (seen["image"] < threshold).mean() > 0.05 and (seen["image"] > threshold).mean() > 0.05


def test_overlay_of_a_16_bit_image_is_not_flat(tmp_path, shared_data):
    from seglab.cli.main import main

    hela = shared_data("nuclei", "N2DL-HeLa", "img", "t13.tif")
    out = tmp_path / "o.png"
    assert main(["plot", "overlay", str(hela), "--method", "otsu", "--out", str(out)]) == 0
    gray = np.asarray(Image.open(out)).astype(float).mean(axis=-1)
    import seglab

    mask = seglab.segment(seglab.read(hela), "otsu").data
    # 0.5-99.5 percentile stretch: nuclei bright and the background's texture visible (a min..max
    # stretch of this offset 16-bit frame gave nuclei ~60 and a background within 2..14)
    assert np.percentile(gray[~mask], 99) > 30
    assert gray[mask].mean() > 120


def test_overlay_of_a_large_zarr_result_is_reduced(tmp_path, capsys):
    import seglab
    from seglab.cli.main import main

    image = np.tile(np.arange(100, dtype=np.uint8), (5000, 1))
    labels = (image > 50).astype(np.uint8)
    seglab.write(tmp_path / "img.zarr", image)
    seglab.write(tmp_path / "lab.zarr", labels)
    out = tmp_path / "o.png"
    assert main(["plot", "overlay", str(tmp_path / "img.zarr"), "--labels", str(tmp_path / "lab.zarr"),
                 "--out", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape == (2500, 50, 3)
    assert "drawn at 1/2 size" in capsys.readouterr().err
