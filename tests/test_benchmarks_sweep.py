"""The range sweep reads each method's tune range, times every corner beside its peer and reports the worst."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.sweep import corners  # noqa: E402
from seglab._core.registry import get_method  # noqa: E402


def test_corners_cover_the_ends_of_every_tuned_range():
    labels = dict(corners(get_method("local")))
    high = get_method("local").param("block_size").tune[1]
    assert labels["default"] == {}
    assert labels["block_size=3"] == {"block_size": 3} and labels[f"block_size={high}"] == {"block_size": high}
    # The slow corner the issue found: the median at the largest window, with the other numbers high too.
    assert labels["all-high, method=median"] == {"block_size": high, "offset": 40.0, "method": "median"}
    assert all(label == "default" or params for label, params in labels.items())


def test_sweep_runs_and_writes_the_worst_corner_table(tmp_path):
    out = tmp_path / "SWEEP.md"
    run = subprocess.run([sys.executable, "-m", "benchmarks", "sweep", "--size", "64", "--only", "otsu,median",
                          "--timeout", "60", "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads((tmp_path / "sweep.json").read_text())["rows"]
    assert {(r["kind"], r["method"]) for r in rows} == {("method", "otsu"), ("pre", "median")}
    assert all(r["seglab"].get("seconds", 0) > 0 for r in rows)
    assert {r["corner"] for r in rows if r["method"] == "median"} == {"default", "size=1", "size=15"}
    assert all(r["peer"].get("seconds", 0) > 0 for r in rows), "every corner has its peer call"
    text = out.read_text()
    assert "## Worst corner per method" in text and "| pre | median |" in text


def test_sweep_times_learned_methods_with_a_model_and_keeps_the_notes(tmp_path):
    from benchmarks.sweep import NOTES_MARKER

    out = tmp_path / "SWEEP.md"
    out.write_text(f"old tables\n\n{NOTES_MARKER}\n## Notes\n\nmeasured by hand\n")
    sweep = [sys.executable, "-m", "benchmarks", "sweep", "--size", "64", "--timeout", "120", "--out", str(out)]
    run = subprocess.run([*sweep, "--only", "pixel_classifier"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    run = subprocess.run([*sweep, "--only", "otsu", "--merge"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads((tmp_path / "sweep.json").read_text())["rows"]
    learned = [r for r in rows if r["method"] == "pixel_classifier"]
    # every corner of the tune range ran on a real trained model (no "needs `model`" error rows)
    assert {r["corner"] for r in learned} == {"default", "threshold=0.2", "threshold=0.8"}
    assert all(r["seglab"].get("seconds", 0) > 0 for r in learned), learned
    assert {r["method"] for r in rows} == {"pixel_classifier", "otsu"}  # --merge kept the first run's rows
    text = out.read_text()
    assert "old tables" not in text and text.endswith(f"{NOTES_MARKER}\n## Notes\n\nmeasured by hand\n")
    assert "Rows from several runs" in text and "| method | pixel_classifier |" in text
