"""The compare report in a real browser (Debian chromium): fits a 1400-px window with many methods."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from seglab.compare import OverlayCollector, compare, rank, write_report

METHODS = ("otsu,li,yen,triangle,isodata,mean,minimum,sauvola,kmeans,slic,felzenszwalb,watershed_distance")


def _browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (apt install chromium)")
    return playwright, chromium


def test_report_with_twelve_methods_fits_1400_px(tmp_path):
    playwright, chromium = _browser()
    rng = np.random.default_rng(0)
    truth = np.zeros((120, 160), bool)
    truth[20:60, 20:70] = truth[70:110, 90:150] = True
    image = np.clip(np.where(truth, 170, 60) + rng.normal(0, 12, truth.shape), 0, 255).astype(np.uint8)
    collector = OverlayCollector()
    rows = compare([image], [truth], METHODS, on_prediction=collector)
    page_path = write_report(rows, rank(rows), tmp_path, overlays=collector)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_path.as_uri())
            width = page.evaluate("document.documentElement.scrollWidth")
            cells = page.evaluate("document.querySelectorAll('figure.cell img').length")
            widths = page.evaluate("[...document.querySelectorAll('figure.cell img')].map(i => i.clientWidth)")
            headings = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        finally:
            browser.close()
    assert width <= 1400
    assert cells == 13  # the image and one overlay per method, wrapped in rows
    assert min(widths) >= 300  # large enough to see objects
    assert "Masks scored against a binary truth" in headings and "Scored as partitions (region metrics)" in headings
