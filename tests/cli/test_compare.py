"""`seglab compare` end to end on files (toy registry entries, PNG masks)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

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


def _files(toys, tmp_path, n=3):
    from PIL import Image

    images, truths = toys.two_level_images(n=n)
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    for k, (image, truth) in enumerate(zip(images, truths)):
        Image.fromarray(image).save(tmp_path / "img" / f"t0{k}.png")
        Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "gt" / f"man_seg0{k}.png")
    return tmp_path / "img", tmp_path / "gt"


def test_compare_writes_results_and_ranks_the_known_best_first(toys, tmp_path, capsys):
    img, gt = _files(toys, tmp_path)
    # one pair with a wrong shape: reported, the run goes on
    from PIL import Image

    Image.fromarray(np.zeros((10, 10), np.uint8)).save(gt / "man_seg02.png")
    code = main(["compare", str(img), "--truth", str(gt), "--methods", "toy_fixed,toy_half,toy_seeded",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["ranking"][0]["method"] == "toy_half"
    assert [p[0] for p in data["pairs"]] == ["0", "1", "2"]
    errors = [r for r in data["rows"] if r["error"]]
    assert any("truth has shape (10, 10)" in r["error"] for r in errors)
    assert any(r["error"].startswith("skipped: needs user input") for r in errors)
    assert (tmp_path / "out" / "report.html").read_text().count("<tr") >= 3
    captured = capsys.readouterr()
    assert "toy_half" in captured.out
    # the failed pair is named on stderr with its reason (one line per distinct error), not only in the CSV
    [line] = [x for x in captured.err.splitlines() if "truth has shape (10, 10)" in x]
    assert line.startswith("seglab: warning: toy_fixed on t02, toy_half on t02: ParameterError: truth has shape")


def test_compare_exits_non_zero_when_nothing_is_evaluated(toys, tmp_path, capsys):
    img, gt = _files(toys, tmp_path, n=1)
    code = main(["compare", str(img), "--truth", str(gt), "--methods", "toy_fail", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "nothing could be evaluated" in capsys.readouterr().err


def test_compare_unknown_method_is_one_line_with_close_match(toys, tmp_path, capsys):
    img, gt = _files(toys, tmp_path, n=1)
    code = main(["compare", str(img), "--truth", str(gt), "--methods", "toy_hlf", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "Did you mean 'toy_half'" in capsys.readouterr().err


def test_single_pair_with_different_stems_pairs_and_report_separates_kinds(tmp_path, capsys, shared_data):
    kesm = shared_data("kesm")
    out = tmp_path / "out"
    code = main(["compare", str(kesm / "grayscale.png"), "--truth", str(kesm / "groundtruth.png"),
                 "--methods", "otsu,kmeans", "--pre", "invert", "--pre", "median:size=3", "--out", str(out)])
    assert code == 0
    data = json.loads((out / "results.json").read_text())
    assert [Path(p[1]).name for p in data["pairs"]] == ["grayscale.png"]
    rows = {r["method"]: r for r in data["rows"]}
    assert set(rows) == {"invert>median>otsu", "invert>median>kmeans"}
    assert rows["invert>median>otsu"]["metric_kind"] == "binary"
    assert rows["invert>median>otsu"]["f1"] > 0.7  # the article's pipeline
    assert rows["invert>median>kmeans"]["metric_kind"] == "region"
    assert "f1" not in rows["invert>median>kmeans"]
    page = (out / "report.html").read_text()
    assert "Masks scored against a binary truth" in page and "Scored as partitions (region metrics)" in page
    assert "Confusion colours:" in page and "uint8 shown as stored" in page
    printed = capsys.readouterr().out
    assert printed.index("masks vs binary truth") < printed.index("partitions (label outputs)")


def test_unused_truths_are_one_summary_line(toys, tmp_path, capsys):
    from PIL import Image

    img, gt = _files(toys, tmp_path, n=3)
    for k in range(3, 9):
        Image.fromarray(np.zeros((48, 64), np.uint8)).save(gt / f"man_seg0{k}.png")
    code = main(["compare", str(img / "t00.png"), str(img / "t01.png"), "--truth", str(gt), "--methods", "toy_half",
                 "--out", str(tmp_path / "o")])
    assert code == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "without an image" in line]
    assert notes == ["seglab: note: 7 truth file(s) without an image ignored (man_seg02.png, man_seg03.png, "
                     "man_seg04.png, ...)"]


def test_methods_estimated_over_max_seconds_are_skipped_with_a_note(toys, tmp_path, capsys):
    img, gt = _files(toys, tmp_path, n=2)
    # any run takes longer than a nanosecond: both are estimated over the limit and skipped
    code = main(["compare", str(img), "--truth", str(gt), "--methods", "toy_half,toy_fixed", "--max-seconds", "1e-9",
                 "--out", str(tmp_path / "o")])
    assert code == 2  # nothing left to evaluate
    err = capsys.readouterr().err
    assert "skipped 2 slow method(s), estimated over 1e-09 s per image: toy_half (~0 s), toy_fixed (~0 s)" in err
    data = json.loads((tmp_path / "o" / "results.json").read_text())
    reasons = {e["method"]: e["skipped"] for e in data["ranking"]}
    assert reasons["toy_half"].startswith("estimated 0 s per image")
    assert "--max-seconds 0 runs it" in reasons["toy_half"]
