"""seglab.tune: search space from the schema, cross-validated gain over defaults, resume, outputs."""

import json

import numpy as np
import pytest
import yaml

from seglab._core.errors import ParameterError
from seglab._core.pipeline import Pipeline
from seglab.tune import kfold_indices, search_space, space_of_pipeline, tune, write_tune_outputs


def test_search_space_reads_the_schema(toys):
    from seglab._core.registry import get_method, get_step

    dims = {d.key: d for d in search_space(get_method("toy_half"))}
    assert (dims["fraction"].low, dims["fraction"].high) == (0.05, 0.95)  # the Param's tune range
    assert [d.key for d in search_space(get_method("toy_fixed"))] == ["threshold"]
    assert search_space(get_method("toy_seeded")) == []
    pipe = Pipeline.build("toy_fixed", pre=["toy_median"], post=["toy_small"])
    keys = [d.key for d in space_of_pipeline(pipe)]
    assert keys == ["threshold", "pre0.toy_median.size", "post0.toy_small.min_size"]
    assert [d.key for d in space_of_pipeline(pipe, tune_steps=False)] == ["threshold"]
    assert (get_step("toy_small", "post").param("min_size").tune) == (0, 200)


def test_kfold_is_deterministic_and_covers_every_image_once():
    splits = kfold_indices(7, 3, seed=1)
    assert splits == kfold_indices(7, 3, seed=1)
    assert sorted(i for _, test in splits for i in test) == list(range(7))
    assert all(not set(tr) & set(te) for tr, te in splits)
    with pytest.raises(ParameterError, match="folds got 5; expected at most 4"):
        kfold_indices(4, 5, seed=0)


def test_tuning_beats_defaults_on_held_out_images(toys, tmp_path):
    images, truths = toys.two_level_images(n=6, seed=3, fg=110, bg=15, noise=4.0)
    # n_jobs=1: reproducible trial order (threads make TPE's order depend on timing).
    result = tune(images, truths, ["toy_fixed"], metric="f1", n_trials=20, folds=3, seed=0,
                  storage_dir=tmp_path, n_jobs=1)
    (method,) = result.methods
    assert len(method.folds) == 3
    for fold in method.folds:
        # Defaults (threshold 128 > foreground ~110) find nothing on the held-out images.
        assert fold.default_score == 0.0
        assert fold.heldout_score > 0.8
        assert fold.heldout_score >= fold.default_score
        assert not set(fold.train) & set(fold.test)
    assert method.heldout[0] > 0.85 and 15 < method.best.method.params["threshold"] < 110
    paths = write_tune_outputs(result, tmp_path)
    best = yaml.safe_load(paths["best"].read_text())
    rebuilt = Pipeline.from_dict(best)
    assert rebuilt.method.name == "toy_fixed"
    assert best["seglab"]["heldout_mean"] == pytest.approx(method.heldout[0])
    report = paths["report"].read_text()
    assert "defaults (held-out)" in report and f"{method.heldout[0]:.3f}" in report
    assert paths["history"].stat().st_size > 1000
    data = json.loads(paths["json"].read_text())
    assert data["methods"][0]["default_heldout"]["mean"] == 0.0


def test_rerun_resumes_to_the_requested_total(toys, tmp_path):
    images, truths = toys.two_level_images(n=4, seed=5)
    first = tune(images, truths, "toy_half", metric="iou", n_trials=4, folds=2, seed=0, storage_dir=tmp_path,
                 n_jobs=2)
    assert [f.n_trials for f in first.methods[0].folds] == [4, 4]
    again = tune(images, truths, "toy_half", metric="iou", n_trials=4, folds=2, seed=0, storage_dir=tmp_path,
                 n_jobs=1)
    assert [f.n_trials for f in again.methods[0].folds] == [4, 4]  # nothing re-run
    more = tune(images, truths, "toy_half", metric="iou", n_trials=7, folds=2, seed=0, storage_dir=tmp_path,
                n_jobs=2)
    assert [f.n_trials for f in more.methods[0].folds] == [7, 7]
    assert len(more.methods[0].history) == 7
    assert (tmp_path / "study.journal").exists()


def test_steps_are_searched_and_vi_is_minimised(toys):
    images, truths = toys.two_level_images(n=3, seed=2, noise=25.0)
    result = tune(images, truths, ["toy_half"], metric="f1", n_trials=10, folds=1, seed=1, n_jobs=1,
                  pre=["toy_median"], post=["toy_small"])
    m = result.methods[0]
    assert m.folds == [] and np.isnan(m.heldout[0])
    assert m.best_value >= m.default_all
    assert [d.key for d in m.space] == ["fraction", "pre0.toy_median.size", "post0.toy_small.min_size"]
    best = m.best.to_dict()
    assert best["pre"][0]["params"]["size"] in (1, 3, 5, 7, 9) and best["post"][0]["name"] == "toy_small"
    from scipy import ndimage as ndi

    regions = [ndi.label(t)[0] + 1 for t in truths]
    vi = tune(images, regions, ["toy_cc"], metric="vi", n_trials=8, folds=1, seed=0, n_jobs=1)
    assert not vi.maximize and vi.methods[0].best_value <= vi.methods[0].default_all


def test_bad_arguments_are_refused(toys):
    images, truths = toys.two_level_images(n=2)
    with pytest.raises(ParameterError, match="unknown metric 'mmc'.*Did you mean 'mcc'"):
        tune(images, truths, ["toy_half"], metric="mmc", n_trials=2)
    with pytest.raises(ParameterError, match=r"truths\[1\] has shape \(40, 64\); expected \(48, 64\)"):
        tune(images, [truths[0], truths[1][:40]], ["toy_half"], metric="f1", n_trials=2)
    with pytest.raises(ParameterError, match="folds got 3; expected at most 2"):
        tune(images, truths, ["toy_half"], metric="f1", n_trials=2, folds=3)
