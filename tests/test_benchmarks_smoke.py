"""The benchmark harness runs in quick mode and reports agreement figures (no timing asserts)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_quick_benchmarks_report_every_case(tmp_path):
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "threshold,steps,overhead",
                          "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["rows"], "no benchmark rows"
    assert not report["failures"], report["failures"]
    for row in report["rows"]:
        assert row["seglab_s"] > 0
        for entry in row["peers"].values():
            if "agreement" in entry and entry["agreement"]["kind"] == "equal":
                # Fast paths are only taken where they give the same answer.
                assert entry["agreement"]["value"] == 1.0, row["method"]
    assert "| threshold |" in (tmp_path / "RESULTS.md").read_text() or "threshold" in (tmp_path / "RESULTS.md").read_text()
