"""Write a comparison: results.csv, results.json and a self-contained report.html."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._compare import BASE_COLUMNS, metric_columns

__all__ = ["write_results", "write_report", "OverlayCollector", "png_data_uri", "fmt"]


def _write_text(path: Path, text: str) -> None:
    try:
        from seglab.io import write_text_atomic
    except ImportError:  # seglab.io not installed in this build: plain write
        path.write_text(text, encoding="utf-8")
        return
    write_text_atomic(path, text)


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def write_results(rows: Sequence[Mapping[str, Any]], ranking: Sequence[Mapping[str, Any]], out_dir: Path,
                  *, extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write ``results.csv`` (one row per image x method) and ``results.json`` (rows, ranking, extra)."""
    out_dir = Path(out_dir)
    columns = [*BASE_COLUMNS, *metric_columns(rows)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    csv_path, json_path = out_dir / "results.csv", out_dir / "results.json"
    _write_text(csv_path, buffer.getvalue())
    payload = {
        "rows": [{k: _jsonable(v) for k, v in row.items()} for row in rows],
        "ranking": json.loads(json.dumps(ranking, default=_jsonable)),
        **(dict(extra) if extra else {}),
    }
    _write_text(json_path, json.dumps(payload, indent=1, default=_jsonable, allow_nan=False) + "\n")
    return {"csv": csv_path, "json": json_path}


def png_data_uri(rgb: np.ndarray) -> str:
    """Encode an (M, N, 3) uint8 array as a ``data:image/png;base64`` URI (Pillow)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _display_gray(image: np.ndarray) -> np.ndarray:
    """Image as uint8 RGB for display (percentile stretch; colour images kept)."""
    array = np.asarray(image, dtype=np.float64)
    low, high = np.percentile(array, (0.5, 99.5))
    array = np.clip((array - low) / max(high - low, 1e-12), 0, 1)
    array = (array * 255).astype(np.uint8)
    return array if array.ndim == 3 else np.stack([array] * 3, axis=-1)


def _stride(shape, max_side):
    return max(1, int(math.ceil(max(shape[:2]) / max_side)))


class OverlayCollector:
    """``on_prediction`` callback of :func:`compare` keeping small overlays of the first images.

    Masks get confusion colours (:func:`seglab.viz.confusion.confusion_overlay`: TP, FP, FN);
    labels get their region boundaries drawn on the image.
    """

    def __init__(self, max_images: int = 6, max_side: int = 220):
        self.max_images = max_images
        self.max_side = max_side
        self.images: dict[int, tuple[str, str]] = {}  # index -> (name, data uri)
        self.cells: dict[tuple[int, str], str] = {}

    def __call__(self, *, index, name, label, image, truth, prediction, kind):
        if index >= self.max_images:
            return
        step = _stride(np.shape(prediction), self.max_side)
        sub = (slice(None, None, step), slice(None, None, step))
        if index not in self.images:
            self.images[index] = (name, png_data_uri(_display_gray(np.asarray(image)[sub])))
        self.cells[(index, label)] = png_data_uri(self._overlay(image, truth, prediction, kind)[sub])

    @staticmethod
    def _overlay(image, truth, prediction, kind) -> np.ndarray:
        base = _display_gray(image)
        if kind == "binary":
            from seglab.viz.confusion import confusion_overlay

            return np.asarray(confusion_overlay(base, truth, prediction))
        from skimage.segmentation import find_boundaries

        out = base.copy()
        out[find_boundaries(prediction, mode="inner")] = (255, 40, 40)
        return out


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#e8f6e8}
.grid img{max-width:220px;display:block}.grid td{vertical-align:top;font-size:11px}
.note{color:#666;font-size:13px}
"""


def ranking_table(ranking: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str:
    """HTML table: rank, method, n, errors, mean ± std per metric key."""
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    lines = [f"<table><tr><th>rank</th><th>method</th><th>n</th><th>errors</th>{head}</tr>"]
    for entry in ranking:
        if entry.get("skipped"):
            continue
        cls = ' class="best"' if entry.get("rank") == 1 else ""
        cells = []
        for key in keys:
            m = entry["metrics"].get(key)
            cells.append(f'<td class="num">{fmt(m["mean"])} ± {fmt(m["std"])}</td>' if m else "<td>–</td>")
        lines.append(
            f"<tr{cls}><td>{entry.get('rank') or '–'}</td><td>{html.escape(entry['method'])}</td>"
            f"<td class=num>{entry['n']}</td><td class=num>{entry['n_errors']}</td>{''.join(cells)}</tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def _ranking_plot(ranking, by: str) -> str | None:
    entries = [e for e in ranking if by in e.get("metrics", {})]
    if not entries:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4.0, 0.6 * len(entries) + 2), 3.2))
    ax = fig.add_subplot()
    means = [e["metrics"][by]["mean"] for e in entries]
    stds = [e["metrics"][by]["std"] for e in entries]
    ax.bar(range(len(entries)), means, yerr=stds, color="#4a7ab5", capsize=3)
    ax.set_xticks(range(len(entries)), [e["method"] for e in entries], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"{by} (mean ± std over images)")
    ax.set_title(f"Methods ranked by {by}")
    return _figure_uri(fig)


def write_report(rows: Sequence[Mapping[str, Any]], ranking: Sequence[Mapping[str, Any]], out_dir: Path, *,
                 overlays: OverlayCollector | None = None, title: str = "seglab compare") -> Path:
    """Write ``report.html``: ranking table (mean ± std per metric), plot, overlay grid, errors."""
    out_dir = Path(out_dir)
    by = ranking[0]["by"] if ranking else "f1"
    keys = [k for k in metric_columns(rows) if k not in ("tp", "tn", "fp", "fn")] + ["seconds", "peak_mb"]
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class=note>Ranked by <b>{html.escape(by)}</b> "
             f"({'lower' if by.startswith('vi') else 'higher'} is better); mean ± standard deviation over images. "
             f"{len({r['image'] for r in rows if r['image']})} images.</p>",
             ranking_table(ranking, keys)]
    plot = _ranking_plot(ranking, by)
    if plot:
        parts.append(f'<img alt="ranking plot" src="{plot}">')
    skipped = [e for e in ranking if e.get("skipped")]
    if skipped:
        parts.append("<h2>Skipped</h2><ul>" + "".join(
            f"<li><b>{html.escape(e['method'])}</b>: {html.escape(e['skipped'])}</li>" for e in skipped) + "</ul>")
    if overlays is not None and overlays.images:
        labels = [e["method"] for e in ranking if not e.get("skipped")]
        parts.append("<h2>Overlays</h2><p class=note>Masks: confusion colours (true positive, false positive, "
                     "false negative). Labels: region boundaries in red.</p><table class=grid><tr><th>image</th>"
                     + "".join(f"<th>{html.escape(lab)}</th>" for lab in labels) + "</tr>")
        for index, (name, uri) in sorted(overlays.images.items()):
            cells = [f'<td>{html.escape(name)}<img src="{uri}"></td>']
            for lab in labels:
                cell = overlays.cells.get((index, lab))
                cells.append(f'<td><img src="{cell}"></td>' if cell else "<td>–</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    errors = [r for r in rows if r.get("error") and not str(r["error"]).startswith("skipped:")]
    if errors:
        parts.append("<h2>Errors</h2><table><tr><th>image</th><th>method</th><th>error</th></tr>" + "".join(
            f"<tr><td>{html.escape(str(r['image']))}</td><td>{html.escape(r['method'])}</td>"
            f"<td>{html.escape(str(r['error']))}</td></tr>" for r in errors) + "</table>")
    parts.append("</body></html>")
    path = out_dir / "report.html"
    _write_text(path, "\n".join(parts))
    return path
