"""`seglab train` through the installed entry point: truths and scribbles -> model folder -> `seglab segment`."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

import seglab
from seglab.learn import PixelClassifier

SEGLAB = shutil.which("seglab")
pytestmark = pytest.mark.skipif(SEGLAB is None, reason="the `seglab` entry point is not installed (pip install -e .)")


def run(*args):
    return subprocess.run([SEGLAB, *map(str, args)], capture_output=True, text=True)


def _pair(seed, shape=(64, 80)):
    gen = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    truth = np.zeros(shape, bool)
    for _ in range(5):
        r, c, rad = gen.uniform(8, shape[0] - 8), gen.uniform(8, shape[1] - 8), gen.uniform(4, 10)
        truth |= (rows - r) ** 2 + (cols - c) ** 2 <= rad**2
    image = np.clip(np.where(truth, 160, 70) + gen.normal(0, 15, shape), 0, 255).astype(np.uint8)
    return image, truth


@pytest.fixture
def files(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    for k in (1, 2, 3):
        image, truth = _pair(k)
        seglab.write(tmp_path / "img" / f"t0{k}.png", image)
        seglab.write(tmp_path / "gt" / f"man_seg0{k}.png", truth)
    return tmp_path


def test_train_from_truths_then_segment_reproduces_the_python_result(files):
    model_dir = files / "model"
    done = run("train", files / "img", "--truth", files / "gt", "--model", "pixel_classifier", "--out", model_dir,
               "--trees", "10", "--sigmas", "0.7,2,5", "--val-fraction", "0.34")
    assert done.returncode == 0, done.stderr
    assert "validation F1" in done.stdout and "last 1 of 3 images held out" in done.stdout
    config = json.loads((model_dir / "config.json").read_text())
    assert config["kind"] == "pixel_classifier" and config["features"]["sigmas"] == [0.7, 2.0, 5.0]
    assert [f["file"] for f in config["training"]["files"]["images"]] == ["t01.png", "t02.png", "t03.png"]
    assert config["training"]["validation"]["f1"] > 0.9
    # segment with the model from the CLI: the same mask as the Python API on the same file
    out = files / "seg"
    done = run("segment", files / "img" / "t03.png", "--method", "pixel_classifier", "--param", f"model={model_dir}",
               "--out", out)
    assert done.returncode == 0, done.stderr
    written = seglab.read(out / "t03.mask.png") > 0
    expected, _ = PixelClassifier.load(model_dir).segment(seglab.read(files / "img" / "t03.png"))
    np.testing.assert_array_equal(written, expected)


def test_train_from_scribbles(files):
    image, truth = _pair(1)
    scribbles = np.zeros(truth.shape, np.uint8)
    scribbles[1, :] = 1
    scribbles[-2, :] = 1
    from scipy import ndimage as ndi

    objects, n = ndi.label(truth)
    for k in range(1, n + 1):
        r, c = np.argwhere(objects == k)[len(np.argwhere(objects == k)) // 2]
        scribbles[r, c] = 2
    seglab.write(files / "scribbles.png", scribbles)
    model_dir = files / "smodel"
    done = run("train", files / "img" / "t01.png", "--scribbles", files / "scribbles.png", "--model",
               "pixel_classifier", "--out", model_dir, "--trees", "10", "--sigmas", "1,3.5")
    assert done.returncode == 0, done.stderr
    assert "validation F1: n/a (none (scribbles have no truth))" in done.stdout
    mask, _ = PixelClassifier.load(model_dir).segment(image)
    assert (mask == truth).mean() > 0.9


def test_train_errors_are_one_line(files):
    done = run("train", files / "img", "--model", "pixel_classifier", "--out", files / "m")
    assert done.returncode == 2
    assert "give either --truth (ground-truth masks) or --scribbles" in done.stderr and "Traceback" not in done.stderr
    done = run("train", files / "img", "--truth", files / "gt", "--model", "pixel_classifier", "--task", "instance",
               "--out", files / "m")
    assert done.returncode == 2 and "--task instance applies to --model unet" in done.stderr
    done = run("train", files / "img", "--scribbles", files / "gt", "--model", "unet", "--out", files / "m")
    assert done.returncode == 2 and "--scribbles applies to --model pixel_classifier" in done.stderr
    (files / "lonely").mkdir()
    seglab.write(files / "lonely" / "a.png", np.zeros((4, 4), np.uint8))
    seglab.write(files / "lonely" / "b.png", np.zeros((4, 4), np.uint8))
    done = run("train", files / "lonely" / "a.png", files / "lonely" / "b.png", "--truth",
               files / "gt" / "man_seg01.png", "--truth", files / "gt" / "man_seg02.png", "--model",
               "pixel_classifier", "--out", files / "m")
    assert done.returncode == 2 and "no image could be paired with a truth file" in done.stderr
    assert not (files / "m").exists()


@pytest.mark.slow
def test_train_unet_is_dispatched_to_seglab_deep(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    image, truth = _pair(7, (160, 192))
    seglab.write(tmp_path / "a.png", image)
    seglab.write(tmp_path / "a_gt.png", truth)
    done = run("train", tmp_path / "a.png", "--truth", tmp_path / "a_gt.png", "--model", "unet", "--epochs", "1",
               "--out", tmp_path / "unet")
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stderr and "validation: metric f1" in done.stdout
    config = json.loads((tmp_path / "unet" / "config.json").read_text())
    assert config["kind"] == "unet" and config["validation"]["epochs_run"] == 1


@pytest.fixture
def unet_pair(tmp_path):
    """``IMAGE --truth TRUTH`` arguments for one small image pair (skips without torch/MONAI)."""
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    image, truth = _pair(7)
    seglab.write(tmp_path / "a.png", image)
    seglab.write(tmp_path / "a_gt.png", truth)
    return tmp_path / "a.png", "--truth", tmp_path / "a_gt.png"


@pytest.mark.parametrize(("args", "message"), [
    (["--option", "patch=abc"], "option `patch` got 'abc'; expected a whole number >= 16"),
    (["--option", "batch_size=1.5"], "option `batch_size` got 1.5; expected a whole number >= 1"),
    (["--option", "time_limit=soon"], "option `time_limit` got 'soon'; expected a number"),
    (["--option", "learning_rate=true"], "option `learning_rate` got True; expected a number"),
    (["--option", "features=wide"], "option `features` got 'wide'; expected 6 channel counts"),
    (["--option", "featurs=[8,8,8,8,8,8]"], "unknown U-Net training option `featurs`"),
    (["--option", "validation_fraction=0.5"], "set the validation share with --val-fraction"),
    (["--option", "patch"], "--option: expected KEY=VALUE, got 'patch'"),
    (["--touch-width", "3"], "--touch-width applies to --task instance"),
    (["--val-fraction", "0"], "--val-fraction 0: a U-Net keeps the weights of the epoch that scores best"),
])
def test_train_unet_bad_options_get_one_clear_line(unet_pair, tmp_path, args, message):
    done = run("train", *unet_pair, "--model", "unet", "--out", tmp_path / "m", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert not (tmp_path / "m").exists()


def test_train_pixel_classifier_refuses_unet_flags(files):
    done = run("train", files / "img", "--truth", files / "gt", "--model", "pixel_classifier", "--out",
               files / "m", "--touch-width", "2")
    assert done.returncode == 2 and "--touch-width and --option apply to --model unet" in done.stderr


def test_train_unet_instance_options_reach_the_model(unet_pair, tmp_path):
    """--touch-width and --option land in the model's recorded training options (a tiny, fast recipe)."""
    done = run("train", *unet_pair, "--model", "unet", "--task",
               "instance", "--epochs", "1", "--touch-width", "2", "--option", "patch=32", "--option", "batch_size=2",
               "--option", "steps_per_epoch=2", "--option", "features=[4,4,8,8,16,4]", "--option", "window=64",
               "--out", tmp_path / "m")
    assert done.returncode == 0, done.stderr
    options = json.loads((tmp_path / "m" / "config.json").read_text())["training"]["options"]
    assert options["touch_width"] == 2 and options["patch"] == 32 and options["batch_size"] == 2
    assert options["features"] == [4, 4, 8, 8, 16, 4] and options["steps_per_epoch"] == 2


def test_train_out_never_overwrites_a_folder_that_is_not_a_pixel_classifier(files):
    # the image folder given as --out by mistake: its own config.json must survive, and nothing is trained first
    (files / "img" / "config.json").write_text('{"microscope": "settings"}')
    before = sorted(p.name for p in (files / "img").iterdir())
    done = run("train", files / "img" / "t01.png", "--truth", files / "gt" / "man_seg01.png", "--model",
               "pixel_classifier", "--out", files / "img", "--trees", "5")
    assert done.returncode == 2, done.stderr
    assert "exists and is not a pixel-classifier model folder" in done.stderr and "Traceback" not in done.stderr
    assert "random forest" not in done.stderr  # refused before the fit, not after it
    assert (files / "img" / "config.json").read_text() == '{"microscope": "settings"}'
    assert sorted(p.name for p in (files / "img").iterdir()) == before


def test_train_out_replaces_an_earlier_pixel_classifier(files):
    model_dir = files / "model"
    common = ("train", files / "img" / "t01.png", "--truth", files / "gt" / "man_seg01.png", "--model",
              "pixel_classifier", "--out", model_dir, "--sigmas", "1,3")
    assert run(*common, "--trees", "4").returncode == 0
    done = run(*common, "--trees", "7")
    assert done.returncode == 0, done.stderr
    assert "the earlier model there was replaced" in done.stderr
    assert PixelClassifier.load(model_dir).n_trees == 7


def test_pixel_classifier_save_refuses_another_kind_of_model(tmp_path):
    from seglab.learn import ModelError, fit_pixel_classifier, save_model

    image, truth = _pair(4)
    save_model(tmp_path / "unet", kind="unet", arrays={"w": np.zeros(3, np.float32)}, config={})
    weights = (tmp_path / "unet" / "weights.safetensors").read_bytes()
    model = fit_pixel_classifier(image, truth.astype(np.uint8) + 1, n_estimators=3, sigmas=(1.0,))
    with pytest.raises(ModelError, match="is not a pixel-classifier model folder.*'unet' model"):
        model.save(tmp_path / "unet")
    assert (tmp_path / "unet" / "weights.safetensors").read_bytes() == weights
