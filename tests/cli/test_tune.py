"""`seglab tune` end to end: best.yaml runs with `seglab segment --pipeline`, reruns resume."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from seglab.cli.main import main

pytest.importorskip("seglab.io")


@pytest.fixture
def toys(monkeypatch):
    spec = importlib.util.spec_from_file_location("seglab_cli_toys", Path(__file__).parents[1] / "compare" / "_toys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install(monkeypatch)
    from seglab.testing import isolated_registry

    with isolated_registry() as registry:
        module.register_into(registry)
        yield module


def test_tune_cli_beats_defaults_held_out_and_writes_a_runnable_best_yaml(toys, tmp_path, capsys):
    from PIL import Image

    images, truths = toys.two_level_images(n=4, seed=9, fg=110, bg=15, noise=4.0)
    for k, (image, truth) in enumerate(zip(images, truths)):
        Image.fromarray(image).save(tmp_path / f"im{k}.png")
        Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / f"im{k}_gt.png")
    args = ["tune", *[str(tmp_path / f"im{k}.png") for k in range(4)], "--truth", str(tmp_path / "im*_gt.png"),
            "--methods", "toy_fixed", "--metric", "f1", "--trials", "12", "--folds", "2", "--jobs", "1",
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "tune.json").read_text())["methods"][0]
    assert summary["default_heldout"]["mean"] == 0.0 and summary["tuned_heldout"]["mean"] > 0.8
    assert "defaults 0.000 -> tuned" in capsys.readouterr().out
    best = yaml.safe_load((tmp_path / "out" / "best.yaml").read_text())
    assert best["method"]["name"] == "toy_fixed" and best["seglab"]["metric"] == "f1"
    assert main(args[:args.index("--trials") + 1] + ["14"] + args[args.index("--trials") + 2:]) == 0
    again = json.loads((tmp_path / "out" / "tune.json").read_text())["methods"][0]
    assert [f["n_trials"] for f in again["folds"]] == [14, 14]


def test_a_method_no_trial_can_score_says_why(tmp_path, capsys):
    # k-means labels every pixel 1..k (no background): f1 against a binary truth has no answer. The row of
    # NaN must come with the reason, in the terminal and in tune.json.
    from seglab.io import write

    rng = np.random.default_rng(3)
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    for k in range(2):
        truth = np.zeros((40, 40), np.uint8)
        truth[8:30, 10 + k:32] = 255
        image = np.where(truth > 0, 170, 50) + rng.normal(0, 10, truth.shape)
        write(tmp_path / "img" / f"a{k}.png", image.clip(0, 255).astype(np.uint8))
        write(tmp_path / "gt" / f"a{k}.png", truth)
    code = main(["tune", str(tmp_path / "img"), "--truth", str(tmp_path / "gt"), "--methods", "kmeans,otsu",
                 "--trials", "2", "--folds", "1", "--jobs", "1", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0
    assert "no trial scored: ParameterError: binary scores would call every pixel of this label output" in captured.err
    rows = {m["method"]: m for m in json.loads((tmp_path / "out" / "tune.json").read_text())["methods"]}
    assert rows["kmeans"]["failure"].startswith("ParameterError: binary scores")
    assert rows["otsu"]["failure"] == "" and rows["otsu"]["tuned_all"] == 1.0
