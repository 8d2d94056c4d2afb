"""The seglab demo: the main job on bundled sample data, written as one HTML page.

Runs several methods on seeded synthetic images with exact ground truth (and on
scikit-image's offline images), evaluates where truth exists, and writes
``index.html`` with images, overlays and a metrics table. Nothing is downloaded.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["run_demo", "DEMO_CASES"]


@dataclass
class DemoCase:
    sample: str
    title: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    pre: tuple = ()
    post: tuple = ()
    instances: bool = False
    #: a learned method: the model kind trained for this case (on another seeded sample of the same kind)
    train: str | None = None


DEMO_CASES = (
    DemoCase("vessels", "KESM-like vessels: the article's pipeline", "otsu", pre=("invert", "median:size=3")),
    DemoCase("vessels", "KESM-like vessels: Li threshold", "li", pre=("invert", "median:size=3")),
    DemoCase("vessels", "KESM-like vessels: Sauvola (local)", "sauvola", {"invert": True}, pre=("median:size=3",)),
    DemoCase("vessels", "KESM-like vessels: pixel classifier trained here on another seeded sample",
             "pixel_classifier", train="pixel_classifier"),
    DemoCase("blobs", "Blobs: Otsu", "otsu"),
    DemoCase("blobs", "Blobs: local threshold", "local", {"block_size": 51}),
    DemoCase("blobs", "Blobs: k-means k=2", "kmeans", {"n_clusters": 2}, post=()),
    DemoCase("nuclei", "Nuclei: Otsu + connected components", "otsu", post=("label",), instances=True),
    DemoCase("nuclei", "Nuclei: split touching", "split_touching", instances=True),
    DemoCase("nuclei", "Nuclei: U-Net (interior / boundary / background + watershed) trained here on other seeded "
             "samples", "unet_instance", {"window": 128}, instances=True, train="unet"),
    DemoCase("coins", "Coins: watershed from intensity bands", "watershed", {"low": 30, "high": 150}),
    DemoCase("coins", "Coins: OpenCV distance-transform watershed (sure foreground at 0.25 of max distance)",
             "watershed_distance", {"fg_fraction": 0.25}),
    # Parameters of the scikit-image superpixel gallery example.
    DemoCase("astronaut", "Astronaut: SLIC superpixels", "slic", {"n_segments": 250, "compactness": 10, "sigma": 1}),
    DemoCase("astronaut", "Astronaut: Felzenszwalb", "felzenszwalb", {"scale": 100, "sigma": 0.5, "min_size": 50}),
)


def _samples() -> dict[str, tuple[np.ndarray, np.ndarray | None, str]]:
    from seglab import data

    vessels_image, vessels_truth = data.vessels((384, 384), seed=3)
    blobs_image, blobs_truth = data.blobs((256, 320), seed=1)
    nuclei_image, nuclei_truth = data.nuclei((256, 256), seed=2)
    return {
        "vessels": (vessels_image, vessels_truth, "seeded synthetic, exact truth (dark vessels)"),
        "blobs": (blobs_image, blobs_truth, "seeded synthetic, exact truth"),
        "nuclei": (nuclei_image, nuclei_truth, "seeded synthetic, exact instance truth"),
        "coins": (data.skimage_sample("coins"), None, "scikit-image coins (no truth)"),
        "astronaut": (data.skimage_sample("astronaut"), None, "scikit-image astronaut (no truth)"),
    }


def run_demo(out_dir: str | Path, *, progress=None) -> Path:
    """Run the demo and return the path of the HTML page (``scores.json`` beside it holds the table's numbers).

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created).
    progress : callable, optional
        ``progress(done, total, title)`` after each case.
    """
    import warnings

    from seglab._core.errors import SeglabError, SeglabWarning
    from seglab._core.pipeline import segment
    from seglab.io import write, write_text_atomic
    from seglab.viz import overlay_for

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = _samples()
    for name, (image, truth, _) in samples.items():
        write(out / f"{name}.png", image)
        if truth is not None:
            shown = (truth > 0).astype(np.uint8) * 255
            write(out / f"{name}.truth.png", shown)
    rows = []
    for index, case in enumerate(DEMO_CASES):
        image, truth, _ = samples[case.sample]
        row: dict[str, Any] = {"case": case, "index": index}
        start = time.perf_counter()
        try:
            params = dict(case.params)
            if case.train is not None:
                params["model"] = str(_train_demo_model(case, out))
                row["train_seconds"] = time.perf_counter() - start
                start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SeglabWarning)
                result = segment(image, case.method, pre=case.pre, post=case.post, **params)
            row["seconds"] = time.perf_counter() - start
            row["warnings"] = [str(w.message) for w in caught if issubclass(w.category, SeglabWarning)]
            row["info"] = {k: v for k, v in result.info.items() if k not in ("pipeline", "seconds", "pre", "post")}
            overlay_name = f"case{index:02d}.overlay.png"
            # On the original image (the input shown beside it), not the pre-processed one.
            write(out / overlay_name, overlay_for(result, image=image))
            row["overlay"] = overlay_name
            if truth is not None:
                # The scoring rule of seglab.metrics (the one compare and tune use).
                from seglab.metrics import score_output

                kind, row["scores"] = score_output(truth, result.data, result.output,
                                                   kind="instance" if case.instances else "auto")
                row["metric_kind"] = kind
                if result.output in ("mask", "contour") or case.instances:
                    from seglab.viz.confusion import confusion_overlay, with_confusion_key

                    confusion_name = f"case{index:02d}.confusion.png"
                    picture = confusion_overlay(image, truth != 0, np.asarray(result.data) != 0)
                    write(out / confusion_name, with_confusion_key(picture))
                    row["confusion"] = confusion_name
        except (SeglabError, ImportError) as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
        if progress is not None:
            progress(index + 1, len(DEMO_CASES), case.title)
    page = out / "index.html"
    write_text_atomic(page, _render(rows, samples))
    # the same numbers for scripts and tests: one entry per case, in the table's order
    import json

    summary = [{"title": row["case"].title, "method": row["case"].method, "sample": row["case"].sample,
                "metric_kind": row.get("metric_kind"), "scores": row.get("scores", {}),
                "seconds": row.get("seconds"), "train_seconds": row.get("train_seconds"), "error": row.get("error")}
               for row in rows]
    write_text_atomic(out / "scores.json", json.dumps(summary, indent=1, default=float))
    return page


#: The demo U-Net: MONAI BasicUNet (0.49 M parameters), 400 steps of 8 random 64 x 64 patches, cosine
#: learning-rate decay from 4e-3; 48 s on 2 quiet cores (the whole demo: 54 s, 4 s without it), AP@0.5 1.0 on the
#: scored sample (benchmarks/quality/RESULTS.md, "Cost on a quiet machine").
DEMO_UNET: dict[str, Any] = {"epochs": 40, "steps_per_epoch": 10, "patch": 64, "batch_size": 8, "window": 128,
                              "learning_rate": 4e-3, "patience": 40}


def _train_demo_model(case: DemoCase, out: Path) -> Path:
    """Train the case's model on different seeded samples than the one it is scored on; return its folder."""
    from seglab import data

    (out / "models").mkdir(parents=True, exist_ok=True)
    folder = out / "models" / f"{case.sample}-{case.train}"
    if case.train == "unet" and case.sample == "nuclei":
        import shutil

        from seglab.deep import train_unet

        # three samples: two to train on, one for the validation score that picks the kept epoch
        pairs = [data.nuclei((256, 256), seed=seed) for seed in (11, 12, 13)]
        if folder.exists():
            shutil.rmtree(folder)  # a rerun of the demo into the same folder trains afresh
        return train_unet([p[0] for p in pairs], [p[1] for p in pairs], out=folder, task="instance", seed=0,
                          **DEMO_UNET)
    makers = {"vessels": lambda: data.vessels((384, 384), seed=11), "blobs": lambda: data.blobs((256, 320), seed=11)}
    if case.train != "pixel_classifier" or case.sample not in makers:
        raise ValueError(f"the demo trains a pixel classifier on vessels or blobs, or a U-Net on nuclei; got "
                         f"{case.train!r} on {case.sample!r}")
    from seglab.learn import fit_pixel_classifier, labels_from_truth

    train_image, train_truth = makers[case.sample]()
    model = fit_pixel_classifier(train_image, labels_from_truth(train_truth), n_estimators=30, max_samples=30_000,
                                 seed=0)
    return model.save(folder)


_KEYS = ("f1", "iou", "mcc", "precision", "recall", "ap50", "map", "pq", "covering", "ari", "vi")


def _fmt(value: Any, digits: int = 0) -> str:
    if isinstance(value, float):
        # Scores with 3 decimals; chosen parameter values with 4 significant digits.
        return f"{value:.{digits}g}" if digits else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v, digits) for v in value) + "]"
    return html.escape(str(value))


# The demo's tables hold numbers in every column but the first three, and its pictures sit side by side.
_DEMO_CSS = ("td,th{text-align:right}td.l{text-align:left}"
             "td.v{min-width:160px;max-width:260px;overflow-wrap:anywhere;font-size:13px}td.c{max-width:170px}"
             "img{max-width:320px;border:1px solid #ddd}"
             ".case{display:inline-block;vertical-align:top;margin:0 1em 1.5em 0}.err{color:#b00}")


def _render(rows, samples) -> str:
    from seglab import __version__
    from seglab.viz.report import html_page

    parts = [
        f"<p>seglab {__version__}. Synthetic samples are seeded and carry exact ground truth; "
        "scikit-image samples have none, so they are shown without scores. Every picture is drawn on the "
        "input image as given (8-bit shown as stored). Confusion pictures carry their colour key: "
        "<span style='color:rgb(0,158,115)'>&#9632;</span> TP found, "
        "<span style='color:rgb(213,94,0)'>&#9632;</span> FP false alarm, "
        "<span style='color:rgb(0,114,178)'>&#9632;</span> FN missed, TN the image itself. Scores follow the rule "
        "of <code>seglab.metrics</code>: masks get binary scores, label outputs region scores (never "
        "\u201call foreground\u201d), instance truths instance scores.</p>",
        "<h2>Scores</h2><table><tr><th>case</th><th>method</th><th>scored as</th><th>seconds</th>"
        + "".join(f"<th>{k}</th>" for k in _KEYS) + "<th>chosen values</th></tr>",
    ]
    for row in rows:
        case = row["case"]
        scores = row.get("scores", {})
        chosen = {k: v for k, v in row.get("info", {}).items() if isinstance(v, (int, float, list, tuple))}
        if "train_seconds" in row:
            chosen = {"trained in (s)": row["train_seconds"], **chosen}
        parts.append(
            f"<tr><td class='l c'>{html.escape(case.title)}</td><td class='l'>{html.escape(case.method)}</td>"
            f"<td class='l'>{html.escape(row.get('metric_kind', ''))}</td><td>{_fmt(row.get('seconds', ''))}</td>"
            + "".join(f"<td>{_fmt(scores[k]) if k in scores else ''}</td>" for k in _KEYS)
            + f"<td class='l v'>{html.escape(', '.join(f'{k}={_fmt(v, 4)}' for k, v in list(chosen.items())[:4]))}"
            + "</td></tr>"
        )
    parts.append("</table><h2>Pictures</h2>")
    for name, (_, truth, note) in samples.items():
        parts.append(f"<h3>{html.escape(name)}</h3><p>{html.escape(note)}</p>")
        parts.append(f"<div class='case'><img src='{name}.png' alt='{name}'><br>input</div>")
        if truth is not None:
            parts.append(f"<div class='case'><img src='{name}.truth.png' alt='truth'><br>ground truth</div>")
        for row in rows:
            case = row["case"]
            if case.sample != name:
                continue
            if "error" in row:
                parts.append(f"<div class='case err'>{html.escape(case.title)}<br>{html.escape(row['error'])}</div>")
                continue
            parts.append(f"<div class='case'><img src='{row['overlay']}' alt='overlay'><br>"
                         f"{html.escape(case.title)}</div>")
            if "confusion" in row:
                parts.append(f"<div class='case'><img src='{row['confusion']}' alt='confusion'><br>"
                             "confusion colours</div>")
    return html_page("seglab demo", parts, css=_DEMO_CSS)
