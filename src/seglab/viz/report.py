"""The one HTML page builder behind every self-contained report (compare, tune, demo).

Reports are single files: pictures are embedded as ``data:`` URIs
(:func:`seglab.viz.pictures.png_uri`, :func:`figure_data_uri`), one style sheet
(:data:`REPORT_CSS`) gives them one look, and :func:`html_page` writes the
document's frame so that no report hand-writes its own ``<head>``.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["REPORT_CSS", "html_page", "figure_data_uri", "fmt"]

REPORT_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#e8f6e8}
.grid img{max-width:220px;display:block}.grid td{vertical-align:top;font-size:11px}
.note{color:#666;font-size:13px}
.cells{display:flex;flex-wrap:wrap;gap:10px;max-width:1360px}
figure.cell{margin:0;width:300px}figure.cell img{width:300px;image-rendering:pixelated;display:block;
border:1px solid #ccc}figure.cell figcaption{font-size:12px;overflow-wrap:anywhere}
.key span{display:inline-block;width:14px;height:14px;border:1px solid #333;vertical-align:middle;margin:0 4px 0 10px}
ul.notes{font-size:13px;color:#8a4b00}td.num{white-space:nowrap}
.wide{overflow-x:auto;max-width:100%}
"""


def html_page(title: str, body: Iterable[str], *, css: str = "") -> str:
    """Return a complete HTML document: the shared style sheet (plus `css`), ``<h1>title</h1>`` and `body`.

    Parameters
    ----------
    title : str
        Page title and top heading (escaped here).
    body : iterable of str
        HTML fragments, joined by newlines (the caller escapes its own text).
    css : str, optional
        Rules added after :data:`REPORT_CSS` (later rules win).

    Examples
    --------
    >>> page = html_page("seglab <demo>", ["<p>hello</p>"])
    >>> page.startswith("<!doctype html>"), "<h1>seglab &lt;demo&gt;</h1>" in page, page.endswith("</html>\\n")
    (True, True, True)
    """
    title_text = html.escape(title)
    head = (f"<!doctype html><html><head><meta charset=utf-8><title>{title_text}</title>"
            f"<style>{REPORT_CSS}{css}</style></head><body><h1>{title_text}</h1>")
    return "\n".join([head, *body, "</body></html>"]) + "\n"


def figure_data_uri(fig: Any) -> str:
    """Return a matplotlib figure as a ``data:image/png;base64`` URI (for self-contained HTML reports)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def fmt(value: float | None, digits: int = 3) -> str:
    """A score for a table cell: fixed `digits`, an en dash for a missing or non-finite value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"
