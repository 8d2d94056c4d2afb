"""U-Net: training converges, determinism, safe model folders, exact tiling, MONAI equivalence, front ends."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import seglab
from seglab._core.errors import ParameterError
from seglab.learn import ModelError
from seglab.metrics.binary import binary_scores
from seglab.metrics.instance import instance_scores

TINY_FAST = {"features": (4, 8, 16, 32, 64, 4), "patch": 32, "batch_size": 2, "window": 32, "threads": 1,
             "steps_per_epoch": 2}


def _weights(folder):
    from safetensors.numpy import load_file

    return load_file(str(folder / "weights.safetensors"))


def test_import_seglab_and_the_catalogue_do_not_import_torch():
    code = ("import sys, seglab, seglab.deep; seglab.get_method('unet'); seglab.get_method('unet_instance'); "
            "print(sorted(m for m in ('torch', 'monai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_semantic_training_converges_on_disks(semantic_model, make_disks):
    image, labels = make_disks(99)
    result = seglab.segment(image, "unet", model=str(semantic_model), window=96)
    assert result.mask.dtype == bool
    assert binary_scores(labels > 0, result.mask)["f1"] > 0.9
    probability = result.extras["probability"]
    assert probability.shape == image.shape and probability.dtype == np.float32
    assert 0.0 <= probability.min() and probability.max() <= 1.0
    config = json.loads((semantic_model / "config.json").read_text())
    assert config["kind"] == "unet" and config["task"] == "semantic" and config["out_channels"] == 2
    assert config["normalization"]["percentiles"] == [1.0, 99.8]
    assert config["validation"]["metric"] == "f1" and config["validation"]["best"] > 0.8
    assert len(config["training"]["data"]) == 8  # 4 images + 4 truths (hashes of the arrays)


def test_instance_model_separates_two_touching_disks(instance_model):
    size = 96
    rows, cols = np.indices((size, size))
    truth = np.zeros((size, size), np.int32)
    truth[(rows - 48) ** 2 + (cols - 40) ** 2 <= 64] = 1
    truth[((rows - 48) ** 2 + (cols - 56) ** 2 <= 64) & (truth == 0)] = 2
    gen = np.random.default_rng(5)
    image = np.clip(np.where(truth > 0, 170.0, 50.0) + gen.normal(0, 18, truth.shape), 0, 255).astype(np.uint8)
    assert np.unique(truth[48, 30:66]).tolist() == [0, 1, 2]  # the disks touch along row 48
    labels = seglab.segment(image, "unet_instance", model=str(instance_model), window=96).labels
    scores = instance_scores(truth, labels)
    assert labels.max() == 2
    assert scores["tp"] == 2 and scores["ap50"] == 1.0


def test_instance_model_scores_held_out_disks(instance_model, make_disks):
    image, truth = make_disks(123, touching=3, n=3)
    labels = seglab.segment(image, "unet_instance", model=str(instance_model), window=96).labels
    assert instance_scores(truth, labels)["ap50"] >= 0.75


def test_same_seed_same_weights_and_another_seed_differs(tmp_path, make_disks):
    from seglab.deep import train_unet

    image, labels = make_disks(1, size=64)
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        runs[name] = _weights(train_unet([image], [labels > 0], out=tmp_path / name, epochs=1, seed=seed,
                                         **TINY_FAST))
    assert runs["a"].keys() == runs["b"].keys()
    for key in runs["a"]:
        np.testing.assert_array_equal(runs["a"][key], runs["b"][key])
    assert any(not np.array_equal(runs["a"][k], runs["c"][k]) for k in runs["a"])


def test_resume_continues_exactly_as_the_uninterrupted_run(tmp_path, make_disks):
    from seglab.deep import train_unet

    image, labels = make_disks(2, size=64)
    # a constant rate: a finished run can be extended (the cosine schedule's own case is the next test)
    options = dict(TINY_FAST, patience=50, schedule="constant")
    train_unet([image], [labels > 0], out=tmp_path / "full", epochs=3, seed=0, **options)
    train_unet([image], [labels > 0], out=tmp_path / "part", epochs=1, seed=0, **options)
    train_unet([image], [labels > 0], out=tmp_path / "part", epochs=3, seed=0, resume=True, **options)
    full = _weights(tmp_path / "full" / "checkpoint")
    part = _weights(tmp_path / "part" / "checkpoint")
    for key in full:
        np.testing.assert_array_equal(full[key], part[key], err_msg=key)
    history = json.loads((tmp_path / "part" / "config.json").read_text())["validation"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    with pytest.raises(ModelError, match="other data, seed, task or options"):
        train_unet([image], [labels > 0], out=tmp_path / "part", epochs=4, seed=1, resume=True, **options)


def test_an_interrupted_cosine_run_resumes_exactly_and_keeps_its_epochs(tmp_path, make_disks):
    from seglab.deep import train_unet

    image, labels = make_disks(3, size=64)
    options = dict(TINY_FAST, patience=50)  # the default schedule: warm-up, then cosine decay over the 3 epochs
    train_unet([image], [labels > 0], out=tmp_path / "full", epochs=3, seed=0, **options)

    class Interrupted(Exception):
        pass

    def stop_after_first_epoch(event):
        raise Interrupted(f"stopped after epoch {event.done}")  # as a Ctrl-C would, once the checkpoint is written

    with pytest.raises(Interrupted, match="stopped after epoch 1"):
        train_unet([image], [labels > 0], out=tmp_path / "part", epochs=3, seed=0, progress=stop_after_first_epoch,
                   **options)
    with pytest.raises(ModelError, match="other epochs"):
        train_unet([image], [labels > 0], out=tmp_path / "part", epochs=5, seed=0, resume=True, **options)
    train_unet([image], [labels > 0], out=tmp_path / "part", epochs=3, seed=0, resume=True, **options)
    full = _weights(tmp_path / "full" / "checkpoint")
    part = _weights(tmp_path / "part" / "checkpoint")
    for key in full:
        np.testing.assert_array_equal(full[key], part[key], err_msg=key)


def test_learning_rate_schedule_warms_up_then_decays_to_one_percent():
    from seglab.deep._train import learning_rate_at

    rates = [learning_rate_at(step, 100, peak=1e-2, schedule="cosine", warmup=0.05) for step in range(100)]
    assert rates[:5] == pytest.approx([2e-3, 4e-3, 6e-3, 8e-3, 1e-2])  # linear warm-up over 5 % of the steps
    assert rates[5] == pytest.approx(1e-2) and rates[-1] == pytest.approx(1e-4)  # peak, then 1 % of it
    assert all(a >= b for a, b in zip(rates[5:], rates[6:]))  # never rises after the warm-up
    assert rates[52] == pytest.approx(1e-4 + 0.5 * (1e-2 - 1e-4), rel=0.05)  # half-way: half-way down
    assert learning_rate_at(77, 100, peak=3e-3, schedule="constant", warmup=0.05) == 3e-3


def test_flip_test_time_augmentation_is_the_mean_over_flipped_inputs(semantic_model, make_disks):
    from seglab.deep import predict_probabilities

    image, _ = make_disks(77)  # 96 x 96 = one window: flipping the image flips the window
    plain = predict_probabilities(image, semantic_model, window=96)[0]
    expected = np.mean([np.flip(predict_probabilities(np.flip(image, axes), semantic_model, window=96)[0],
                                tuple(a + 1 for a in axes)) for axes in ((), (0,), (1,), (0, 1))], axis=0)
    augmented = predict_probabilities(image, semantic_model, window=96, tta=True)[0]
    np.testing.assert_allclose(augmented, expected, atol=1e-6)
    assert np.abs(augmented - plain).max() > 1e-4  # the flips do change the answer
    mask = seglab.segment(image, "unet", model=str(semantic_model), window=96, tta=True).mask
    np.testing.assert_array_equal(mask, (1.0 - augmented[0]) > 0.5)


def test_progress_reports_the_validation_score_each_epoch(tmp_path, make_disks):
    from seglab.deep import train_unet

    image, labels = make_disks(4, size=64)
    events = []
    train_unet([image], [labels > 0], out=tmp_path / "m", epochs=2, seed=0,
               progress=lambda event: events.append((event.done, event.total, event.message)), **TINY_FAST)
    assert [e[:2] for e in events] == [(1, 2), (2, 2)]
    assert all("validation F1" in e[2] for e in events)


def test_save_load_predict_is_bit_identical(semantic_model, make_disks, tmp_path):
    from seglab.deep._predict import _CACHE, predict_probabilities

    image, _ = make_disks(7)
    first, _ = predict_probabilities(image, semantic_model, window=96)
    copy = tmp_path / "copy"
    shutil.copytree(semantic_model, copy, ignore=shutil.ignore_patterns("checkpoint"))
    _CACHE.clear()
    second, _ = predict_probabilities(image, copy, window=96)
    np.testing.assert_array_equal(first, second)


def test_a_pickle_disguised_as_weights_is_refused(semantic_model, tmp_path, make_disks):
    import pickle

    folder = tmp_path / "evil"
    shutil.copytree(semantic_model, folder)
    (folder / "weights.safetensors").write_bytes(pickle.dumps({"conv": [1, 2, 3]}))
    with pytest.raises(ModelError, match="pickle"):
        seglab.segment(make_disks(0)[0], "unet", model=str(folder))


def test_tampered_weights_and_foreign_models_are_refused(semantic_model, tmp_path, make_disks):
    folder = tmp_path / "tampered"
    shutil.copytree(semantic_model, folder)
    data = bytearray((folder / "weights.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (folder / "weights.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256 does not match"):
        seglab.segment(make_disks(0)[0], "unet", model=str(folder))
    with pytest.raises(ModelError, match="'unet_checkpoint' model; expected a 'unet' model"):
        seglab.segment(make_disks(0)[0], "unet", model=str(semantic_model / "checkpoint"))


def test_sliding_window_equals_monai_sliding_window_inference(semantic_model, make_disks):
    import torch
    from monai.inferers import sliding_window_inference

    from seglab.deep._data import normalize, percentile_range
    from seglab.deep._predict import load_unet, predict_probabilities

    image = np.concatenate([make_disks(s)[0] for s in (20, 21, 22)], axis=1)[:, :250]  # 96 x 250: a partial window
    bounds = percentile_range(image)
    ours, _ = predict_probabilities(image, semantic_model, window=64, overlap=0.25, intensity_range=bounds)
    net = load_unet(semantic_model).network
    with torch.inference_mode():
        theirs = sliding_window_inference(torch.from_numpy(normalize(image, bounds))[None, None], (64, 64), 1,
                                          lambda x: torch.softmax(net(x), 1), overlap=0.25, mode="gaussian")
    np.testing.assert_allclose(ours, theirs[0].numpy(), atol=1e-5, rtol=0)


def test_block_probabilities_equal_the_whole_image_on_the_core(semantic_model, make_disks):
    """The grid argument of seglab.deep._predict, checked directly: a stride-aligned block with its halo."""
    from seglab.deep._data import percentile_range
    from seglab.deep._predict import predict_probabilities, window_stride

    image = np.concatenate([make_disks(s, size=96)[0] for s in (30, 31, 32, 33)], axis=0)[:, :90]  # 384 x 90
    bounds = percentile_range(image)
    window, overlap = 64, 0.5
    stride = window_stride(window, overlap)
    whole, _ = predict_probabilities(image, semantic_model, window=window, overlap=overlap, intensity_range=bounds)
    core = (128, 256)  # a core that starts on the stride grid; halo = window = 2 strides
    lo, hi = core[0] - window, min(core[1] + window, image.shape[0])
    assert lo % stride == 0
    block, _ = predict_probabilities(image[lo:hi], semantic_model, window=window, overlap=overlap,
                                     intensity_range=bounds)
    np.testing.assert_array_equal(block[:, core[0] - lo:core[1] - lo], whole[:, core[0]:core[1]])


@pytest.mark.parametrize("method", ["unet", "unet_instance"])
def test_tiled_run_equals_in_memory(method, instance_model, make_disks, tmp_path):
    from seglab import Pipeline
    from seglab.tiling import run_tiled

    image = np.block([[make_disks(40 + 3 * r + c, touching=3, n=3)[0] for c in range(3)] for r in range(2)])
    bounds = seglab.deep.percentile_range(image)
    params = {"model": str(instance_model), "window": 64, "overlap": 0.5, "intensity_range": bounds}
    if method == "unet_instance":
        params["max_object_size"] = 40
    else:
        params["tta"] = True  # flips inside each window keep tiling exact
    memory = seglab.segment(image, method, **params).data
    pipeline = Pipeline.build(method, params)
    tiled = np.asarray(run_tiled(image, pipeline, tmp_path / "out.zarr", chunk=96, client="sync")[:])
    if method == "unet":
        np.testing.assert_array_equal(tiled, memory)
        assert 0.05 < memory.mean() < 0.5
    else:
        # labels are equal up to a renumbering: a one-to-one map between the two id sets
        pairs = np.unique(np.stack([tiled.ravel(), memory.ravel()]), axis=1)
        assert pairs.shape[1] == np.unique(memory).size == np.unique(tiled).size
        assert memory.max() >= 20


def test_declared_halo_makes_the_read_depth_a_stride_multiple():
    mask_spec, labels_spec = seglab.get_method("unet"), seglab.get_method("unet_instance")
    for window, overlap in ((256, 0.5), (96, 0.25), (64, 0.5)):
        stride = window - round(window * overlap)
        for min_size in (0, 30):
            halo = mask_spec.halo_for({"window": window, "overlap": overlap, "min_size": min_size})
            assert halo % stride == 0 and halo >= window + min_size
        halo = labels_spec.halo_for({"window": window, "overlap": overlap, "max_object_size": 50})
        assert (halo + 1) % stride == 0 and halo >= window + 50


def test_cli_segment_with_a_unet_model(semantic_model, make_disks, tmp_path):
    from click.testing import CliRunner

    from seglab.cli.main import cli

    image, _ = make_disks(8)
    seglab.write(tmp_path / "cells.png", image)
    result = CliRunner().invoke(cli, ["segment", str(tmp_path / "cells.png"), "--method", "unet",
                                      "--param", f"model={semantic_model}", "--param", "window=96",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = seglab.read(tmp_path / "out" / "cells.mask.png") > 0
    expected = seglab.segment(image, "unet", model=str(semantic_model), window=96).mask
    np.testing.assert_array_equal(written, expected)


def test_bad_inputs_get_one_clear_error(semantic_model, make_disks, tmp_path):
    from seglab.deep import train_unet

    image, labels = make_disks(0)
    with pytest.raises(ParameterError, match="the U-Net needs `model`"):
        seglab.segment(image, "unet")
    with pytest.raises(ParameterError, match="`window` got 100; expected a positive multiple of 16"):
        seglab.segment(image, "unet", model=str(semantic_model), window=100)
    with pytest.raises(ModelError, match="does not exist"):
        seglab.segment(image, "unet", model=str(tmp_path / "nowhere"))
    with pytest.raises(ParameterError, match="got 1 images and 2 truths"):
        train_unet([image], [labels, labels], out=tmp_path / "m", epochs=1)
    with pytest.raises(ParameterError, match="unknown option `batchsize`.*'batch_size'"):
        train_unet([image], [labels], out=tmp_path / "m", epochs=1, batchsize=2)
    with pytest.raises(ParameterError, match="exists and is not empty; pass resume=True"):
        train_unet([image], [labels > 0], out=semantic_model, epochs=1)
    with pytest.raises(ParameterError, match="nothing to resume"):
        train_unet([image], [labels > 0], out=tmp_path / "fresh", epochs=1, resume=True)
    with pytest.raises(ParameterError, match="look like instance labels: use task='instance'"):
        train_unet([image], [labels * 3 + np.arange(96)[None, :]], out=tmp_path / "m2", epochs=1)
    with pytest.raises(ParameterError, match="`task` got 'panoptic'"):
        train_unet([image], [labels], out=tmp_path / "m3", epochs=1, task="panoptic")


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize("method", ["unet", "unet_instance"])
def test_contract_with_a_trained_model(method, dtype, semantic_model, make_disks):
    """The registry contract (tests/test_contract.py) for the learned methods, which need a model."""
    from seglab._core.errors import InvalidImageError

    image8, labels = make_disks(50)
    image = {"uint8": image8, "uint16": image8.astype(np.uint16) * 257}.get(dtype, (image8 / 255.0).astype(dtype))
    spec = seglab.get_method(method)
    first = seglab.segment(image, method, model=str(semantic_model), window=96)
    second = seglab.segment(image, method, model=str(semantic_model), window=96)
    assert first.output == spec.output and first.data.shape == image.shape
    assert first.data.dtype == (bool if spec.output == "mask" else np.int32)
    np.testing.assert_array_equal(first.data, second.data)
    # percentile normalisation makes the result independent of the intensity scale
    reference = seglab.segment(image8, method, model=str(semantic_model), window=96).data
    assert np.mean((first.data > 0) == (reference > 0)) > 0.999
    with pytest.raises(InvalidImageError, match="supports 2-D images; got a 3-D image"):
        seglab.segment(np.stack([image] * 3), method, model=str(semantic_model), channel_axis=None)
    with pytest.raises(InvalidImageError, match="'grayscale'"):  # the error names the fix: the grayscale pre-step
        seglab.segment(np.stack([image8] * 3, axis=-1), method, model=str(semantic_model))


def test_instance_norm_option_is_recorded_and_used_by_prediction(tmp_path, make_disks):
    from seglab.deep import train_unet

    image, labels = make_disks(6, size=64)
    folder = train_unet([image], [labels > 0], out=tmp_path / "m", epochs=1, seed=0, norm="instance", **TINY_FAST)
    config = json.loads((folder / "config.json").read_text())
    assert config["norm"] == "instance"
    assert not any("running_mean" in key for key in _weights(folder))  # no BatchNorm statistics were saved
    result = seglab.segment(image, "unet", model=str(folder), window=32)
    assert result.mask.shape == image.shape
    with pytest.raises(ParameterError, match="option `norm` got 'group'"):
        train_unet([image], [labels > 0], out=tmp_path / "m2", epochs=1, norm="group")


def test_tiling_without_a_fixed_intensity_range_is_refused_with_the_reason(instance_model, make_disks):
    from seglab import Pipeline
    from seglab.tiling import TilingError, make_plan

    pipeline = Pipeline.build("unet_instance", {"model": str(instance_model), "window": 64})
    with pytest.raises(TilingError, match=r"give intensity_range=LO,HI"):
        make_plan(pipeline)
    make_plan(Pipeline.build("unet_instance", {"model": str(instance_model), "window": 64,
                                                "intensity_range": "0,255"}))


def _two_touching_disks_and_a_lone_one(size=96):
    rows, cols = np.indices((size, size))
    truth = np.zeros((size, size), np.int32)
    truth[(rows - 30) ** 2 + (cols - 30) ** 2 <= 64] = 1
    truth[((rows - 30) ** 2 + (cols - 46) ** 2 <= 64) & (truth == 0)] = 2
    truth[(rows - 70) ** 2 + (cols - 60) ** 2 <= 81] = 3
    gen = np.random.default_rng(5)
    image = np.clip(np.where(truth > 0, 170.0, 50.0) + gen.normal(0, 18, truth.shape), 0, 255).astype(np.uint8)
    return image, truth


def test_split_neck_parts_touching_disks_that_the_plain_watershed_merges(semantic_model):
    # a semantic model has no boundary class: its foreground joins the two touching disks into one object
    image, truth = _two_touching_disks_and_a_lone_one()
    assert np.unique(truth[30, 20:56]).tolist() == [0, 1, 2]  # the disks touch along row 30
    plain = seglab.segment(image, "unet_instance", model=str(semantic_model), window=96).labels
    assert plain.max() == 2 and instance_scores(truth, plain)["tp"] == 1
    split = seglab.segment(image, "unet_instance", model=str(semantic_model), window=96, split_neck=0.7).labels
    scores = instance_scores(truth, split)
    assert split.max() == 3 and scores["tp"] == 3 and scores["ap50"] == 1.0  # the lone disk is not cut


@pytest.mark.parametrize("radius", [10, 30])
def test_split_neck_is_a_ratio_of_widths_not_a_size(radius):
    from seglab.deep._data import labels_from_probabilities

    size = 8 * radius
    rows, cols = np.indices((size, 2 * size))
    # two overlapping disks (centres 1.8 radii apart: the neck is ~0.87 of a radius wide) and an ellipse
    pair = ((rows - 2 * radius) ** 2 + (cols - 2 * radius) ** 2 <= radius**2) | \
           ((rows - 2 * radius) ** 2 + (cols - 3.8 * radius) ** 2 <= radius**2)
    ellipse = ((rows - 6 * radius) / radius) ** 2 + ((cols - 6 * radius) / (2.5 * radius)) ** 2 <= 1
    foreground = (pair | ellipse).astype(np.float32)
    common = {"threshold": 0.5, "seed_threshold": 0.5, "min_size": 0}
    plain = labels_from_probabilities(foreground, foreground, **common)
    assert plain.max() == 2  # without splitting: the pair is one object, the ellipse another
    for neck in (0.6, 0.9):  # the pair's neck is far narrower than 0.6 of a disk; the ellipse has no neck
        labels = labels_from_probabilities(foreground, foreground, split_neck=neck, **common)
        assert labels.max() == 3
        assert np.unique(labels[ellipse]).size == 1
        halves = labels[2 * radius, 2 * radius], labels[2 * radius, int(3.8 * radius)]
        assert halves[0] != halves[1] and 0 not in halves
        assert set(np.unique(labels[pair])) == set(halves)  # every pixel of the pair goes to one of the two
    off = labels_from_probabilities(foreground, foreground, split_neck=0.0, **common)
    assert np.array_equal(off, plain)


def test_touch_width_widens_the_band_only_where_objects_touch(tmp_path, make_disks):
    from seglab.deep import train_unet
    from seglab.deep._data import BOUNDARY, instance_target

    labels = np.zeros((40, 60), np.int32)
    labels[10:30, 10:30] = 1
    labels[10:30, 30:50] = 2  # touching along the column 29 | 30
    plain, wide = instance_target(labels), instance_target(labels, touch_width=5)
    row = 20
    assert np.flatnonzero(plain[row] == BOUNDARY).tolist() == [10, 11, 28, 29, 30, 31, 48, 49]
    assert np.flatnonzero(wide[row] == BOUNDARY).tolist() == [10, 11, *range(25, 35), 48, 49]
    assert np.array_equal(plain[:, :20], wide[:, :20])  # the outer boundary keeps its two pixels
    image, truth = make_disks(6, size=64)
    with pytest.raises(ParameterError, match="option `touch_width` got -1"):
        train_unet([image], [truth], out=tmp_path / "m", task="instance", epochs=1, touch_width=-1)


def test_tiled_split_neck_equals_in_memory(semantic_model, make_disks, tmp_path):
    from seglab import Pipeline
    from seglab.tiling import run_tiled

    # the semantic model joins touching disks; split_neck parts them region by region, so a tile that holds
    # a foreground component whole splits it as the whole-image run does
    image = np.block([[make_disks(40 + 3 * r + c, touching=3, n=3)[0] for c in range(3)] for r in range(2)])
    params = {"model": str(semantic_model), "window": 64, "overlap": 0.5, "max_object_size": 40,
              "intensity_range": seglab.deep.percentile_range(image)}
    plain = seglab.segment(image, "unet_instance", **params).labels
    params["split_neck"] = 0.8
    memory = seglab.segment(image, "unet_instance", **params).labels
    assert memory.max() >= plain.max() + 12  # 18 touching pairs in the mosaic, merged without the split
    tiled = np.asarray(run_tiled(image, Pipeline.build("unet_instance", params), tmp_path / "out.zarr", chunk=96,
                                 client="sync")[:])
    pairs = np.unique(np.stack([tiled.ravel(), memory.ravel()]), axis=1)
    assert pairs.shape[1] == np.unique(memory).size == np.unique(tiled).size
