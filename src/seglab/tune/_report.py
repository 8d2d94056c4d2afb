"""Write a tuning run: best.yaml, tune.json, history.png and report.html."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seglab.io import write_text_atomic
from seglab.viz.report import figure_data_uri, fmt, html_page

from ._tune import TuneResult

__all__ = ["write_tune_outputs", "best_pipeline_dict"]


def _num(value):
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def best_pipeline_dict(result: TuneResult) -> dict[str, Any]:
    """The winning pipeline as a dict (``Pipeline.to_dict``) plus a ``seglab`` provenance block."""
    best = result.best
    data = best.best.to_dict()
    data["seglab"] = {
        "tuned_by": "seglab tune",
        "metric": result.key,
        "score_all_images": _num(best.best_value),
        "heldout_mean": _num(best.heldout[0]),
        "default_heldout_mean": _num(best.default_heldout[0]),
        "folds": result.folds,
        "n_trials": result.n_trials,
        "seed": result.seed,
        "images": list(result.names),
    }
    if result.stopped:
        data["seglab"]["stopped"] = f"{result.stopped} after {result.seconds:.0f} s: the best pipeline found so far"
    return data


def summary(result: TuneResult) -> dict[str, Any]:
    """JSON-ready numbers of a tuning run."""
    return {
        "metric": result.key, "maximize": result.maximize, "folds": result.folds, "n_trials": result.n_trials,
        "seed": result.seed, "images": result.names, "best_method": result.best.label,
        "stopped": result.stopped, "seconds": _num(result.seconds),
        "methods": [
            {
                "method": m.label, "study": m.study_name,
                "default_heldout": {"mean": _num(m.default_heldout[0]), "std": _num(m.default_heldout[1])},
                "tuned_heldout": {"mean": _num(m.heldout[0]), "std": _num(m.heldout[1])},
                "tuned_train": {"mean": _num(m.train[0]), "std": _num(m.train[1])},
                "default_all": _num(m.default_all), "tuned_all": _num(m.best_value),
                "best_pipeline": m.best.to_dict(),
                "importance": m.importance, "importance_note": m.importance_note, "failure": m.failure,
                "folds": [
                    {"fold": f.fold, "train": f.train, "test": f.test, "best_params": f.best_params,
                     "train_score": _num(f.train_score), "heldout_score": _num(f.heldout_score),
                     "default_heldout_score": _num(f.default_score), "n_trials": f.n_trials}
                    for f in m.folds
                ],
            }
            for m in result.methods
        ],
    }


def _history_figure(result: TuneResult):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = len(result.methods)
    fig = Figure(figsize=(5.0 * min(n, 3), 3.2 * math.ceil(n / 3)))
    for position, m in enumerate(result.methods, 1):
        ax = fig.add_subplot(math.ceil(n / 3), min(n, 3), position)
        points = [(num, v) for num, v in m.history if v is not None]
        if points:
            xs, ys = zip(*points)
            ax.scatter(xs, ys, s=10, color="#999", label="trial")
            best, running = [], None
            for v in ys:
                running = v if running is None else (max(running, v) if result.maximize else min(running, v))
                best.append(running)
            ax.plot(xs, best, color="#c03030", label="best so far")
        if math.isfinite(m.default_all):
            ax.axhline(m.default_all, color="#3050c0", ls="--", lw=1, label="defaults")
        ax.set_title(m.label, fontsize=9)
        ax.set_xlabel("trial")
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are counted, never fractional
        ax.set_ylabel(result.key)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _rounded(value):
    """Floats to 4 significant digits for display (best.yaml and tune.json keep full precision)."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _pictures_html(result: TuneResult, images, truths, names) -> str:
    """Each method's tuned pipeline (tuned on all images) on the first images, drawn on the originals."""
    if not images:
        return ""
    from seglab.viz.pictures import png_uri as png_data_uri
    from seglab.viz.pictures import result_picture

    parts = ["<h2>Results of the tuned pipelines</h2><div class=cells>"]
    for m in result.methods:
        for index, (image, truth) in enumerate(zip(images, truths)):
            try:
                run = m.best.run(image)
                picture, caption = result_picture(image, run.data, run.output, truth, max_side=300)
            except Exception as exc:  # noqa: BLE001 - a picture must not cost the report
                caption, picture = f"could not draw: {type(exc).__name__}: {exc}", None
            name = names[index] if index < len(names) else f"image{index}"
            img = f'<img alt="{html.escape(m.label)}" src="{png_data_uri(picture)}">' if picture is not None else ""
            parts.append(f"<figure class=cell>{img}<figcaption>{html.escape(m.label)} on {html.escape(str(name))}"
                         f" <span class=note>({html.escape(caption)})</span></figcaption></figure>")
    parts.append("</div>")
    return "\n".join(parts)


def write_tune_outputs(result: TuneResult, out_dir: str | Path, *, images: Sequence[Any] = (),
                       truths: Sequence[Any] = ()) -> dict[str, Path]:
    """Write ``best.yaml``, ``tune.json``, ``history.png`` and ``report.html`` into `out_dir`.

    `images` and `truths` (optional, a few) get a picture of each tuned pipeline's result in the report.
    """
    import yaml

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"best": out_dir / "best.yaml", "json": out_dir / "tune.json", "history": out_dir / "history.png",
             "report": out_dir / "report.html"}
    write_text_atomic(paths["best"], yaml.safe_dump(best_pipeline_dict(result), sort_keys=False))
    data = summary(result)
    write_text_atomic(paths["json"], json.dumps(data, indent=1, default=str) + "\n")
    fig = _history_figure(result)
    fig.savefig(paths["history"], dpi=100)
    history_uri = figure_data_uri(fig)
    pictures = _pictures_html(result, list(images), list(truths), list(result.names))
    write_text_atomic(paths["report"], _html(result, data, history_uri).replace(
        "<h2>Optimisation history</h2>", pictures + "<h2>Optimisation history</h2>"))
    return paths


def _html(result: TuneResult, data, history_uri: str) -> str:
    better = "higher" if result.maximize else "lower"
    cv = (f"{result.folds}-fold cross-validation over {len(result.names)} images: each fold is tuned on the "
          "other folds' images and scored on its own (held-out) images."
          if result.folds > 1 else "No cross-validation (folds = 1): scores are on the tuning images themselves.")
    parts = [f"<p class=note>Metric <b>{html.escape(result.key)}</b> ({better} is better). {cv} "
             f"{result.n_trials} Optuna TPE trials per study (seed {result.seed}); the first trial of each study is "
             "the defaults.</p>",
             "<h2>Ranking after tuning</h2><table><tr><th>rank</th><th>method</th><th>defaults (held-out)</th>"
             "<th>tuned (held-out)</th><th>gain</th><th>tuned (train)</th><th>defaults (all)</th>"
             "<th>tuned (all)</th><th>best parameters (tuned on all images)</th></tr>"]
    sign = 1 if result.maximize else -1
    ordered = sorted(result.methods, key=lambda m: -sign * (m.heldout[0] if result.folds > 1 else m.best_value)
                     if math.isfinite(m.heldout[0] if result.folds > 1 else m.best_value) else math.inf)
    for rank, m in enumerate(ordered, 1):
        gain = m.heldout[0] - m.default_heldout[0]
        cls = ' class="best"' if rank == 1 else ""
        params = html.escape(json.dumps(_rounded(m.best.to_dict()), sort_keys=False))
        parts.append(
            f"<tr{cls}><td>{rank}</td><td>{html.escape(m.label)}</td>"
            f"<td class=num>{fmt(m.default_heldout[0])} ± {fmt(m.default_heldout[1])}</td>"
            f"<td class=num>{fmt(m.heldout[0])} ± {fmt(m.heldout[1])}</td><td class=num>{fmt(gain)}</td>"
            f"<td class=num>{fmt(m.train[0])}</td><td class=num>{fmt(m.default_all)}</td>"
            f"<td class=num>{fmt(m.best_value)}</td><td><code>{params}</code></td></tr>")
    parts.append("</table>")
    for m in result.methods:
        parts.append(f"<h3>{html.escape(m.label)}</h3>")
        if m.folds:
            parts.append("<table><tr><th>fold</th><th>held-out images</th><th>defaults (held-out)</th>"
                         "<th>tuned (held-out)</th><th>tuned (train)</th><th>trials</th><th>best parameters</th></tr>")
            for f in m.folds:
                parts.append(
                    f"<tr><td>{f.fold}</td><td>{html.escape(', '.join(f.test))}</td><td class=num>"
                    f"{fmt(f.default_score)}</td><td class=num>{fmt(f.heldout_score)}</td><td class=num>"
                    f"{fmt(f.train_score)}</td><td class=num>{f.n_trials}</td>"
                    f"<td><code>{html.escape(json.dumps(_rounded(f.best_params), default=str))}</code></td></tr>")
            parts.append("</table>")
        if m.importance:
            parts.append("<p>Parameter importance (fANOVA, study on all images): " + ", ".join(
                f"{html.escape(k)} {v:.2f}" for k, v in m.importance.items()) + "</p>")
        else:
            parts.append(f"<p class=note>{html.escape(m.importance_note)}</p>")
        if m.failure:
            parts.append(f"<p class=note>No trial scored: {html.escape(m.failure)}</p>")
        if not m.space:
            parts.append("<p class=note>This pipeline has no searchable parameter (schema ranges).</p>")
    parts.append(f'<h2>Optimisation history</h2><img alt="history" src="{history_uri}">')
    return html_page("seglab tune", parts)
