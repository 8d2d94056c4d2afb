"""benchmarks/memory.py: the full run rewrites only its generated section of MEMORY.md (no timing asserts)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

memory = pytest.importorskip("benchmarks.memory")

HAND_WRITTEN = """# Peak temporary memory per method

## Update 2026-12-02 13:30 UTC (lead): a dated section above the table

| method | before | after |
|---|---|---|
| log | 2.50 | 1.00 |
"""
AFTER = "\n## Update 2026-12-02 10:15 UTC: a dated section below the table\n\nlocal 2.88 -> 1.02.\n"


@pytest.fixture(scope="module")
def rows_by_size():
    # Real measurements of two methods on small images: one within the policy, one named outside it.
    return {size: memory.measure(size, {"otsu", "slic"}) for size in (48, 64)}


def test_full_run_replaces_only_its_section(rows_by_size):
    old = HAND_WRITTEN + "\n" + memory.BEGIN + "\n## Full table (earlier run)\n\n| old | row |\n" + memory.END + AFTER
    section = memory.render_section(rows_by_size, "2026-12-02 14:00 UTC")
    new = memory.update_document(old, section)
    # The dated sections before and after the table are kept byte for byte; the old table is gone.
    assert new.startswith(HAND_WRITTEN)
    assert new.endswith(AFTER)
    assert "| old | row |" not in new and "earlier run" not in new
    assert new.count(memory.BEGIN) == 1 and new.count(memory.END) == 1
    assert "## Full table (2026-12-02 14:00 UTC)" in new
    # A second full run replaces the section again instead of stacking a copy.
    again = memory.update_document(new, memory.render_section(rows_by_size, "2026-12-02 15:00 UTC"))
    assert again.count("## Full table") == 1 and "15:00 UTC" in again and again.startswith(HAND_WRITTEN)


def test_section_reports_each_size_and_the_policy(rows_by_size):
    section = memory.render_section(rows_by_size, "now")
    rows = {line.split(" | ")[1]: line for line in section.splitlines() if line.startswith("| ") and "---" not in line}
    otsu = rows["otsu"].strip("| ").split(" | ")
    # family, method, two peaks, two float64-image columns, verdict
    assert len(otsu) == 7 and otsu[-1] == "yes"
    assert float(otsu[4]) <= 2.0 and float(otsu[5]) <= 2.0
    assert rows["slic"].endswith("|") and ("outside the policy" in rows["slic"] or "| yes |" in rows["slic"])


def test_document_without_markers_keeps_everything(tmp_path):
    section = memory.BEGIN + "\n## Full table (x)\n" + memory.END
    assert memory.update_document(HAND_WRITTEN, section).startswith(HAND_WRITTEN)
    assert memory.update_document(None, section).count(memory.BEGIN) == 1


def test_verdict_names_the_reason():
    assert memory.verdict("log", [1.0, 1.9], "") == "yes"
    assert memory.verdict("log", [1.0, 2.5], "") == "**no**"
    assert memory.verdict("felzenszwalb", [38.0], "").startswith("outside the policy (one skimage")
    assert memory.verdict("unet", [0.5], "ParameterError: x") == "error: ParameterError: x"
