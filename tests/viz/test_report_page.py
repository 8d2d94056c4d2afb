"""One HTML page builder: every report's frame comes from seglab.viz.report.html_page."""

from __future__ import annotations

from pathlib import Path

import seglab
from seglab.viz.report import REPORT_CSS, html_page


def test_only_the_page_builder_writes_a_document_frame():
    source = Path(seglab.__file__).parent
    writers = sorted(str(p.relative_to(source)) for p in source.rglob("*.py")
                     if "<!doctype" in p.read_text(encoding="utf-8").lower())
    # the web workbench's page is a static file, not a report; every generated report goes through html_page
    assert writers == ["viz/report.py"]


def test_page_escapes_the_title_and_carries_the_shared_style():
    page = html_page("a <b> & c", ["<p>x</p>"], css="td{color:red}")
    assert "<title>a &lt;b&gt; &amp; c</title>" in page and "<h1>a &lt;b&gt; &amp; c</h1>" in page
    assert REPORT_CSS + "td{color:red}" in page
    assert page.index("<p>x</p>") < page.index("</body></html>")
