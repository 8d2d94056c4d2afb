"""`seglab evaluate` end to end: zarr outputs, swapped arguments, overlay, notes, BSDS boundaries."""

from __future__ import annotations

import json

import numpy as np
import pytest

import seglab
from seglab.cli.main import main


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    truth = np.zeros((60, 70), np.uint8)
    truth[10:30, 10:40] = 255
    truth[40:55, 45:65] = 255
    pred = truth.copy()
    pred[10:14, 10:40] = 0
    image = np.clip(np.where(truth > 0, 160, 60) + rng.normal(0, 10, truth.shape), 0, 255).astype(np.uint8)
    return image, truth, pred


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_zarr_pair_prints_the_same_keys_and_values_as_pngs(tmp_path, capsys):
    _, truth, pred = _pair()
    for suffix in ("png", "zarr"):
        seglab.write(tmp_path / f"t.{suffix}", truth)
        seglab.write(tmp_path / f"p.{suffix}", pred)
    assert main(["evaluate", str(tmp_path / "t.png"), str(tmp_path / "p.png"), "--json"]) == 0
    from_png = _json(capsys)
    assert main(["evaluate", str(tmp_path / "t.zarr"), str(tmp_path / "p.zarr"), "--json"]) == 0
    from_zarr = _json(capsys)
    assert list(from_zarr) == list(from_png)
    assert from_zarr == pytest.approx(from_png)
    assert from_png["fn"] == 4 * 30


def test_zarr_pair_larger_than_the_pixel_budget_is_counted_by_chunks(tmp_path, capsys, monkeypatch):
    _, truth, pred = _pair()
    seglab.write(tmp_path / "t.png", truth)
    seglab.write(tmp_path / "p.png", pred)
    assert main(["evaluate", str(tmp_path / "t.png"), str(tmp_path / "p.png"), "--json"]) == 0
    from_png = _json(capsys)
    seglab.write(tmp_path / "t.zarr", truth)
    seglab.write(tmp_path / "p.zarr", pred)
    monkeypatch.setenv("SEGLAB_MAX_PIXELS", "1000")
    assert main(["evaluate", str(tmp_path / "t.zarr"), str(tmp_path / "p.zarr"), "--json"]) == 0
    assert _json(capsys) == pytest.approx(from_png)


def test_swapped_image_and_truth_is_refused(tmp_path, capsys, shared_data):
    kesm = shared_data("kesm")
    code = main(["evaluate", str(kesm / "grayscale.png"), str(kesm / "groundtruth.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert "looks like a gray image" in err and "seglab evaluate TRUTH PRED" in err
    assert len(err.strip().splitlines()) == 1


def test_instance_truth_gets_instance_metrics_and_a_note(tmp_path, capsys):
    truth = np.zeros((60, 60), np.uint16)
    for k in range(4):
        truth[5 + 14 * k:15 + 14 * k, 5:15] = k + 1
    pred = np.zeros((60, 60), np.uint8)
    pred[::3, ::3] = 255  # 400 specks: fragmented
    seglab.write(tmp_path / "t.tif", truth)
    seglab.write(tmp_path / "p.png", pred)
    assert main(["evaluate", str(tmp_path / "t.tif"), str(tmp_path / "p.png"), "--json"]) == 0
    out = capsys.readouterr()
    scores = json.loads(out.out)
    assert {"ap50", "pq", "fg_f1"} <= set(scores)
    assert "100x more than the truth's 4" in out.err


def test_overlay_has_a_key_and_says_where_it_went(tmp_path, capsys):
    image, truth, pred = _pair()
    for name, array in (("i.png", image), ("t.png", truth), ("p.png", pred)):
        seglab.write(tmp_path / name, array)
    target = tmp_path / "over.png"
    assert main(["evaluate", str(tmp_path / "t.png"), str(tmp_path / "p.png"), "--image", str(tmp_path / "i.png"),
                 "--overlay", str(target), "--json"]) == 0
    out = capsys.readouterr()
    assert f"wrote overlay {target}" in out.err
    json.loads(out.out)  # stdout is still exactly one JSON object
    picture = seglab.read(target)
    assert picture.shape[0] > image.shape[0]  # the key is drawn under the picture
    key = picture[image.shape[0]:]
    from seglab.viz.confusion import FN_COLOR, FP_COLOR, TP_COLOR

    for colour in (TP_COLOR, FP_COLOR, FN_COLOR):
        assert (key == colour).all(axis=-1).any()


def test_bsds_mat_truth_gives_boundary_scores(tmp_path, capsys, shared_data):
    mats = sorted(shared_data("bsds500", "groundTruth").rglob("*.mat"))
    if not mats:
        pytest.skip("no BSDS .mat files in ../shared/data/bsds500/groundTruth")
    truths = seglab.io.read_truths(mats[0])
    seglab.write(tmp_path / "p.tif", truths[0].astype(np.uint16))
    assert main(["evaluate", str(mats[0]), str(tmp_path / "p.tif"), "--json"]) == 0
    scores = _json(capsys)
    # annotator 0's own boundaries all match (precision 1); the other annotators draw more (recall < 1)
    assert scores["boundary_precision"] == pytest.approx(1.0)
    assert 0.1 < scores["boundary_recall"] < 1.0
    assert scores["covering"] > 0.5


def test_large_zarr_labels_are_refused_not_scored_as_masks(tmp_path, capsys, monkeypatch):
    labels = np.zeros((60, 70), np.uint16)
    labels[5:20, 5:20], labels[30:50, 30:60] = 1, 2
    seglab.write(tmp_path / "t.zarr", labels)
    seglab.write(tmp_path / "p.zarr", labels)
    monkeypatch.setenv("SEGLAB_MAX_PIXELS", "1000")
    assert main(["evaluate", str(tmp_path / "t.zarr"), str(tmp_path / "p.zarr")]) == 2
    assert "truth holds labels" in capsys.readouterr().err
