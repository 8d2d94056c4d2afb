"""Write a comparison: results.csv, results.json and a self-contained report.html."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seglab.viz.pictures import png_uri as png_data_uri
from seglab.viz.report import REPORT_CSS, figure_data_uri, fmt, html_page

from ._compare import BASE_COLUMNS, metric_columns
from ._score import LOWER_IS_BETTER

# REPORT_CSS, fmt and figure_data_uri live in seglab.viz.report (the one page builder); compare re-exports them.
__all__ = ["write_results", "write_report", "OverlayCollector", "fmt", "figure_data_uri", "REPORT_CSS"]


def _write_text(path: Path, text: str) -> None:
    try:
        from seglab.io import write_text_atomic
    except ImportError:  # seglab.io not installed in this build: plain write
        path.write_text(text, encoding="utf-8")
        return
    write_text_atomic(path, text)


def _jsonable(value):
    from seglab._core.provenance import jsonable  # the one JSON converter

    return jsonable(value)


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


def _display_gray(image: np.ndarray) -> np.ndarray:
    """Image as uint8 RGB by the display rule of :mod:`seglab.viz.display` (8-bit as stored,
    16-bit/float stretched from the 0.5th to the 99.5th percentile; colour kept)."""
    from seglab.viz.display import to_display

    return to_display(image, rgb=True)


def _stride(shape, max_side):
    return max(1, int(math.ceil(max(shape[:2]) / max_side)))


class OverlayCollector:
    """``on_prediction`` callback of :func:`compare` keeping overlays of the first images.

    Every picture is drawn on the original image (what the user gave, not the pre-processed
    one) by the display rule of :mod:`seglab.viz.display`. Binary and instance scores get
    confusion colours of the foreground (:func:`seglab.viz.confusion.confusion_overlay`: TP, FP,
    FN; the report shows the colour key); region scores get the predicted region boundaries.
    """

    def __init__(self, max_images: int = 6, max_side: int = 360):
        self.max_images = max_images
        self.max_side = max_side
        self.images: dict[int, tuple[str, str]] = {}  # index -> (name, data uri)
        self.notes: dict[int, str] = {}  # index -> how the image is shown
        self.cells: dict[tuple[int, str], str] = {}
        self.kinds: dict[tuple[int, str], str] = {}

    def __call__(self, *, index, name, label, image, truth, prediction, kind):
        if index >= self.max_images:
            return
        step = _stride(np.shape(prediction), self.max_side)
        sub = (slice(None, None, step), slice(None, None, step))
        if index not in self.images:
            from seglab.viz.display import display_note

            self.images[index] = (name, png_data_uri(_display_gray(np.asarray(image)[sub])))
            self.notes[index] = display_note(image) + (f"; drawn at 1/{step} size" if step > 1 else "")
        small_truth = truth[0] if isinstance(truth, (list, tuple)) else truth
        self.cells[(index, label)] = png_data_uri(
            self._overlay(np.asarray(image)[sub], np.asarray(small_truth)[sub], np.asarray(prediction)[sub], kind))
        self.kinds[(index, label)] = kind

    @staticmethod
    def _overlay(image, truth, prediction, kind) -> np.ndarray:
        base = _display_gray(image)
        if kind in ("binary", "instance"):
            from seglab.viz.confusion import confusion_overlay

            return np.asarray(confusion_overlay(base, np.asarray(truth) != 0, np.asarray(prediction) != 0))
        from skimage.segmentation import find_boundaries

        out = base.copy()
        out[find_boundaries(prediction, mode="inner")] = (255, 40, 40)
        return out


_KIND_TITLE = {
    "binary": "Masks scored against a binary truth",
    "instance": "Scored as objects against an instance truth",
    "region": "Scored as partitions (region metrics)",
}
_KIND_NOTE = {
    "binary": "Binary scores of the predicted mask (f1 = Dice, iou = Jaccard).",
    "instance": "Objects matched at IoU 0.5 (precision, recall, f1), DSB-2018 AP and panoptic quality; a mask's "
                "connected components are its objects. fg_* are binary scores of the foreground.",
    "region": "Label outputs (k-means, superpixels, watershed, ...) are partitions: they are scored with region "
              "metrics (segmentation covering, adjusted Rand index, variation of information), never as "
              "\u201cevery label is foreground\u201d, and ranked only among themselves. Against a binary truth "
              "the truth is the partition into background and foreground.",
}

_KEY_HTML = ("<p class='note key'>Confusion colours:<span style='background:rgb(0,158,115)'></span>TP found"
             "<span style='background:rgb(213,94,0)'></span>FP false alarm"
             "<span style='background:rgb(0,114,178)'></span>FN missed"
             "<span style='background:#bbb'></span>TN: the image itself. Region scores: predicted boundaries in "
             "red.</p>")



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
    return figure_data_uri(fig)


def write_report(rows: Sequence[Mapping[str, Any]], ranking: Sequence[Mapping[str, Any]], out_dir: Path, *,
                 overlays: OverlayCollector | None = None, title: str = "seglab compare") -> Path:
    """Write ``report.html``: one ranking table per metric kind (like with like), plots, overlays, errors.

    The overlays wrap in a grid of 300-px cells, so the page fits a 1400-px window whatever the
    number of methods.
    """
    out_dir = Path(out_dir)
    n_images = len({r["image"] for r in rows if r["image"]})
    parts = [f"<p class=note>{n_images} images; mean ± standard deviation over images. Each output kind is scored "
             "by the rule of <code>seglab.metrics._rule</code> and ranked only against methods scored the same "
             "way.</p>"]
    kinds = list(dict.fromkeys(e.get("metric_kind", "") for e in ranking if not e.get("skipped")))
    for kind in kinds:
        entries = [e for e in ranking if e.get("metric_kind", "") == kind and not e.get("skipped")]
        if not entries:
            continue
        by = entries[0]["by"]
        kind_rows = [r for r in rows if r.get("metric_kind") == kind]
        keys = [k for k in metric_columns(kind_rows) if k not in ("tp", "tn", "fp", "fn")] + ["seconds", "peak_mb"]
        better = "lower" if by in LOWER_IS_BETTER else "higher"
        parts.append(f"<h2>{html.escape(_KIND_TITLE.get(kind, kind or 'not scored'))}</h2>"
                     f"<p class=note>{html.escape(_KIND_NOTE.get(kind, ''))} Ranked by <b>{html.escape(by)}</b> "
                     f"({better} is better).</p>")
        parts.append(f"<div class=wide>{ranking_table(entries, keys)}</div>")
        noted = [e for e in entries if e.get("notes")]
        if noted:
            # Degenerate results (seglab.metrics.diagnose): what looks wrong and what usually helps.
            parts.append("<ul class=notes>" + "".join(
                f"<li><b>{html.escape(e['method'])}</b>: {html.escape('; '.join(e['notes']))}</li>" for e in noted)
                + "</ul>")
        plot = _ranking_plot(entries, by)
        if plot:
            parts.append(f'<img alt="ranking plot ({html.escape(kind)})" src="{plot}">')
    skipped = [e for e in ranking if e.get("skipped")]
    if skipped:
        parts.append("<h2>Skipped</h2><ul>" + "".join(
            f"<li><b>{html.escape(e['method'])}</b>: {html.escape(e['skipped'])}</li>" for e in skipped) + "</ul>")
    if overlays is not None and overlays.images:
        labels = list(dict.fromkeys(e["method"] for e in ranking if not e.get("skipped")))
        parts.append("<h2>Overlays</h2>" + _KEY_HTML)
        for index, (name, uri) in sorted(overlays.images.items()):
            parts.append(f"<h3>{html.escape(name)}</h3><p class=note>Drawn on the original image: "
                         f"{html.escape(overlays.notes.get(index, ''))}.</p><div class=cells>")
            parts.append(f'<figure class=cell><img alt="{html.escape(name)}" src="{uri}"><figcaption>image'
                         "</figcaption></figure>")
            for lab in labels:
                cell = overlays.cells.get((index, lab))
                if cell:
                    kind = overlays.kinds.get((index, lab), "")
                    parts.append(f'<figure class=cell><img alt="{html.escape(lab)}" src="{cell}"><figcaption>'
                                 f"{html.escape(lab)} <span class=note>({html.escape(kind)})</span></figcaption>"
                                 "</figure>")
            parts.append("</div>")
    errors = [r for r in rows if r.get("error") and not str(r["error"]).startswith("skipped:")]
    if errors:
        parts.append("<h2>Errors</h2><table><tr><th>image</th><th>method</th><th>error</th></tr>" + "".join(
            f"<tr><td>{html.escape(str(r['image']))}</td><td>{html.escape(r['method'])}</td>"
            f"<td>{html.escape(str(r['error']))}</td></tr>" for r in errors) + "</table>")
    path = out_dir / "report.html"
    _write_text(path, html_page(title, parts))
    return path

