"""The quality benchmark's --quick run writes the expected tables with finite scores."""

import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_quality_run_writes_every_table(shared_data, tmp_path, monkeypatch):
    shared_data("kesm", "grayscale.png")
    shared_data("bsds500", "images", "test")
    shared_data("nuclei", "N2DH-GOWT1")
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.quality.run import main

    out = tmp_path / "RESULTS.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    names = [r.split("|")[1].strip() for r in rows]
    for expected in ("article: invert > median(3) > otsu", "tuned on top half (see below)",
                     "felzenszwalb (ours)", "slic (ours)", "quickshift (ours)", "watershed (ours)",
                     "gPb-owt-ucm (published, 200 images)", "mean"):
        assert expected in names, expected
    kesm = [r for r in rows if r.startswith("| article") or r.startswith("| tuned")]
    for row in kesm:
        values = [float(v) for v in re.findall(r"\| (-?\d\.\d{3}) ", row + " ")]
        assert len(values) == 5 and all(0.0 <= v <= 1.0 for v in values)
    for row in (r for r in rows if "(ours)" in r):
        cells = [c.strip() for c in row.split("|")[3:-1]]
        values = [float(c) for c in cells]
        assert all(math.isfinite(v) for v in values)
        assert all(0.0 <= v <= 1.0 for v in values[:6])  # boundary F, covering, PRI; VI is >= 0
        assert all(v >= 0.0 for v in values[6:])
    mean = next(r for r in rows if r.startswith("| mean"))
    ap = [float(c) for c in mean.split("|")[3:-1] if c.strip()]
    assert len(ap) == 4 and all(0.0 <= v <= 1.0 for v in ap)
