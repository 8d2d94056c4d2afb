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
