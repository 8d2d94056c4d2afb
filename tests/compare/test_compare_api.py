"""seglab.compare: rows, errors that do not stop the run, skipping, auto grayscale, ranking, outputs."""

import json
import math

import numpy as np
import pytest

from seglab._core.errors import ParameterError, UnknownMethodError
from seglab.compare import compare, rank, write_report, write_results, OverlayCollector


def test_ranking_puts_the_known_best_method_first(toys):
    images, truths = toys.two_level_images(n=3)
    rows = compare(images, truths, ["toy_fixed", "toy_half"])
    assert len(rows) == 6 and all(not r["error"] for r in rows)
    ranking = rank(rows)
    assert [e["method"] for e in ranking] == ["toy_half", "toy_fixed"]
    assert ranking[0]["by"] == "f1"
    assert ranking[0]["metrics"]["f1"]["mean"] > 0.95
    # A threshold of 128 above the foreground (~100) finds nothing: f1 is exactly 0.
    assert ranking[1]["metrics"]["f1"]["mean"] == 0.0
    for row in rows:
        assert row["seconds"] >= 0 and row["peak_mb"] >= 0
        assert 0.0 <= row["f1"] <= 1.0 and -1.0 <= row["mcc"] <= 1.0


def test_shape_mismatch_and_failing_method_are_rows_not_crashes(toys):
    images, truths = toys.two_level_images(n=2)
    truths[1] = truths[1][:-3]
    rows = compare(images, truths, ["toy_half", "toy_fail"])
    by = {(r["image"], r["method"]): r for r in rows}
    assert by[("image0", "toy_half")]["error"] == "" and by[("image0", "toy_half")]["f1"] > 0.9
    assert "always fails" in by[("image0", "toy_fail")]["error"]
    assert "truth has shape (45, 64); expected (48, 64)" in by[("image1", "toy_half")]["error"]
    ranking = {e["method"]: e for e in rank(rows)}
    assert ranking["toy_half"]["n"] == 1 and ranking["toy_half"]["n_errors"] == 1
    assert ranking["toy_fail"]["rank"] is None


def test_methods_needing_user_input_are_skipped_with_a_note(toys):
    images, truths = toys.two_level_images(n=1)
    rows = compare(images, truths, ["toy_half", "toy_seeded"])
    skipped = [r for r in rows if r["method"] == "toy_seeded"]
    assert len(skipped) == 1 and skipped[0]["error"].startswith("skipped: needs user input (seeds)")
    assert rank(rows)[-1]["skipped"].startswith("needs user input")


def test_colour_image_gets_grayscale_pre_step_and_the_row_records_it(toys):
    images, truths = toys.two_level_images(n=1)
    colour = np.stack([images[0]] * 3, axis=-1)
    rows = compare([colour], truths, ["toy_half"])
    assert rows[0]["auto_pre"] == "grayscale"
    assert '"grayscale"' in rows[0]["pipeline"]
    assert rows[0]["f1"] > 0.95


def test_instance_truth_is_scored_with_instance_metrics(toys):
    images, truths = toys.two_level_images(n=1)
    from scipy import ndimage as ndi

    labels, n = ndi.label(truths[0])
    rows = compare(images, [labels], ["toy_cc", "toy_half"], pipelines=[{"method": {"name": "toy_cc",
                                                                         "params": {"threshold": 70}}}])
    by = {r["method"]: r for r in rows}
    assert {r["metric_kind"] for r in rows} == {"instance"}
    assert by["toy_cc"]["ap50"] == 0.0  # default threshold finds nothing
    assert by["toy_cc(threshold=70)"]["ap50"] > 0.6
    assert rank(rows)[0]["method"] in ("toy_cc(threshold=70)", "toy_half") and rank(rows)[0]["by"] == "ap50"


def test_unknown_method_is_refused_before_running_with_close_match(toys):
    with pytest.raises(UnknownMethodError, match="Did you mean 'toy_half'"):
        compare([np.zeros((4, 4))], [np.zeros((4, 4), bool)], ["toy_hlf"])


def test_counts_must_match(toys):
    with pytest.raises(ParameterError, match="got 2 images but 1 truths"):
        compare([np.zeros((4, 4))] * 2, [np.zeros((4, 4), bool)], ["toy_half"])
    with pytest.raises(ParameterError, match="metric_kind got 'bin'"):
        compare([np.zeros((4, 4))], [np.zeros((4, 4), bool)], ["toy_half"], metric_kind="bin")


def test_results_files_and_report(toys, tmp_path):
    images, truths = toys.two_level_images(n=2)
    collector = OverlayCollector(max_images=1)
    rows = compare(images, truths, ["toy_fixed", "toy_half", "toy_seeded"], on_prediction=collector)
    ranking = rank(rows)
    write_results(rows, ranking, tmp_path)
    write_report(rows, ranking, tmp_path, overlays=collector)
    payload = json.loads((tmp_path / "results.json").read_text())
    assert len([r for r in payload["rows"] if not r["error"]]) == 4
    assert payload["ranking"][0]["method"] == "toy_half"
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["image", "method", "metric_kind", "auto_pre", "seconds", "peak_mb", "error"]
    assert {"f1", "mcc", "iou", "precision", "recall"} <= set(header)
    report = (tmp_path / "report.html").read_text()
    assert report.count("data:image/png") == 1 + 1 + 2  # plot, one image, two overlays
    assert "needs user input" in report and "toy_half" in report
    f1 = [r["f1"] for r in rows if r["method"] == "toy_half"]
    assert f"{np.mean(f1):.3f} ± {np.std(f1):.3f}" in report
    assert all(math.isfinite(r["seconds"]) for r in payload["rows"] if not r["error"])
