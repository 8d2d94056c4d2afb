"""The tuner's time budget, pruning and parallel executors: same seed -> same result on every executor."""

from __future__ import annotations

import sys
import time
import types

import numpy as np
import pytest
import yaml

from seglab._core.errors import ParameterError
from seglab._core.registry import MethodSpec, Param
from seglab.tune import tune, write_tune_outputs

SLEEPY = "seglab_test_sleepy"


def _sleepy_threshold(image, *, threshold=128.0, nap=0.0):
    """image > threshold after sleeping `nap` seconds, or 60 s when threshold > 200 (a 'slow corner')."""
    time.sleep(60.0 if threshold > 200 else nap)
    return np.asarray(image) > threshold


def _install_sleepy(monkeypatch, seglab_registry, tune_range=(0.0, 255.0)):
    module = types.ModuleType(SLEEPY)
    module.sleepy = _sleepy_threshold
    monkeypatch.setitem(sys.modules, SLEEPY, module)
    spec = MethodSpec("toy_sleepy", "toy", f"{SLEEPY}:sleepy", "mask", "image > threshold, slowly",
                      params=(Param("threshold", "float", 128.0, min=0.0, max=255.0, tune=tune_range),
                              Param("nap", "float", 0.0, min=0.0, tune=())))
    seglab_registry.register(spec, replace=True)


def _trials(result):
    return [(m.label, m.history, [(f.best_params, f.train_score, f.heldout_score) for f in m.folds],
             m.best.to_dict(), m.best_value) for m in result.methods]


def test_pooled_run_equals_serial_run(toys):
    images, truths = toys.two_level_images(n=6, seed=4, noise=20.0)
    kwargs = {"metric": "f1", "n_trials": 12, "folds": 2, "seed": 3, "pre": ["toy_median"]}
    serial = tune(images, truths, ["toy_fixed", "toy_half"], n_jobs=1, **kwargs)
    pooled = tune(images, truths, ["toy_fixed", "toy_half"], n_jobs=2, **kwargs)
    assert _trials(serial) == _trials(pooled)
    # A different batch is a different (but again reproducible) search; the default batch is 4.
    assert serial.methods[0].history[0] == tune(images, truths, ["toy_fixed"], n_jobs=1, batch=3, **kwargs
                                                ).methods[0].history[0]


def test_trials_worse_than_the_median_are_pruned(toys):
    images, truths = toys.two_level_images(n=6, seed=1, noise=10.0)
    pruned = tune(images, truths, ["toy_half"], metric="f1", n_trials=24, folds=1, seed=0, prune=True)
    full = tune(images, truths, ["toy_half"], metric="f1", n_trials=24, folds=1, seed=0, prune=False)
    assert pruned.methods[0].states.get("pruned", 0) > 0
    assert "pruned" not in full.methods[0].states and full.methods[0].states["complete"] == 24
    # Pruning only stops trials that were losing: the best found is as good as without pruning here.
    assert pruned.methods[0].best_value == pytest.approx(full.methods[0].best_value, abs=0.02)


def test_trial_timeout_stops_a_slow_trial_and_the_study_goes_on(monkeypatch, seglab_registry):
    _install_sleepy(monkeypatch, seglab_registry)
    rng = np.random.default_rng(0)
    truths = [rng.random((24, 24)) > 0.5 for _ in range(2)]
    images = [np.where(t, 150, 60).astype(np.uint8) for t in truths]
    # The first trial is the base pipeline's parameters: threshold 250, a 60 s nap.
    base = {"method": {"name": "toy_sleepy", "params": {"threshold": 250.0}}}
    result = tune(images, truths, [base], metric="f1", n_trials=8, folds=1, seed=2, trial_timeout=1.0, batch=2)
    (method,) = result.methods
    values = [value for _, value in method.history]
    assert len(values) == 8
    assert values[0] is None and method.states["fail"] >= 1  # stopped, counted failed
    assert method.best_value == 1.0 and 60 <= method.best.method.params["threshold"] < 150


def test_timeout_stops_the_run_and_the_best_so_far_is_written(monkeypatch, tmp_path, seglab_registry):
    _install_sleepy(monkeypatch, seglab_registry, tune_range=(0.0, 200.0))
    rng = np.random.default_rng(1)
    truths = [rng.random((24, 24)) > 0.5 for _ in range(3)]
    images = [np.where(t, 150, 60).astype(np.uint8) for t in truths]
    base = {"method": {"name": "toy_sleepy", "params": {"nap": 0.2}}}
    result = tune(images, truths, [base], metric="f1", n_trials=200, folds=3, seed=0, timeout=4.0,
                  storage_dir=tmp_path)
    assert result.stopped == "timeout"
    (method,) = result.methods
    assert 0 < len(method.history) < 200
    paths = write_tune_outputs(result, tmp_path)
    best = yaml.safe_load(paths["best"].read_text())
    assert best["method"]["name"] == "toy_sleepy"
    assert "stopped" in best["seglab"]


def test_budget_errors():
    images = [np.zeros((8, 8), np.uint8)]
    with pytest.raises(ParameterError, match=r"timeout got 0; expected a number of seconds > 0"):
        tune(images, [images[0] > 0], "otsu", folds=1, timeout=0)
    with pytest.raises(ParameterError, match=r"batch got 0; expected at least 1"):
        tune(images, [images[0] > 0], "otsu", folds=1, batch=0)


@pytest.mark.slow
def test_dask_local_cluster_equals_serial_run():
    import seglab

    pairs = [seglab.data.nuclei((64, 64), seed=k) for k in range(3)]
    images, truths = [p[0] for p in pairs], [p[1] > 0 for p in pairs]
    kwargs = {"metric": "f1", "n_trials": 8, "folds": 1, "seed": 5}
    serial = tune(images, truths, "local,otsu", n_jobs=1, **kwargs)
    on_dask = tune(images, truths, "local,otsu", workers=2, **kwargs)
    assert _trials(serial) == _trials(on_dask)


def test_cli_timeout_writes_the_best_pipeline_so_far(monkeypatch, tmp_path, capsys, seglab_registry):
    from PIL import Image

    from seglab.cli.main import main

    _install_sleepy(monkeypatch, seglab_registry, tune_range=(0.0, 200.0))
    rng = np.random.default_rng(3)
    for k in range(3):
        truth = rng.random((24, 24)) > 0.5
        Image.fromarray(np.where(truth, 150, 60).astype(np.uint8)).save(tmp_path / f"im{k}.png")
        Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / f"im{k}_gt.png")
    pipeline = tmp_path / "sleepy.yaml"
    pipeline.write_text(yaml.safe_dump({"method": {"name": "toy_sleepy", "params": {"nap": 0.2}}}))
    args = ["tune", *[str(tmp_path / f"im{k}.png") for k in range(3)], "--truth", str(tmp_path / "im*_gt.png"),
            "--pipeline", str(pipeline), "--trials", "100", "--folds", "3", "--jobs", "2", "--timeout", "6",
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    assert "stopped by --timeout" in capsys.readouterr().err
    best = yaml.safe_load((tmp_path / "out" / "best.yaml").read_text())
    assert best["method"]["name"] == "toy_sleepy" and "stopped" in best["seglab"]
    assert (tmp_path / "out" / "study.journal").exists()
