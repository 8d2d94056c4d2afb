"""``seglab tune``: search method parameters against ground truth with cross-validation."""

from __future__ import annotations

import click


@click.command(name="tune")
@click.argument("images", nargs=-1, required=True)
@click.option("--truth", "-t", "truth", multiple=True, required=True,
              help="Ground-truth files, folder or glob (repeatable). Paired with IMAGES by file stem.")
@click.option("--methods", "-m", default=None, help="Comma-separated method names to tune.")
@click.option("--pipeline", "pipelines", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Pipeline file (YAML/JSON) whose method and steps are tuned (repeatable).")
@click.option("--pre", multiple=True, metavar="NAME[:K=V,...]", help="Pre-step before each method (repeatable).")
@click.option("--post", multiple=True, metavar="NAME[:K=V,...]", help="Post-step after each method (repeatable).")
@click.option("--metric", default="f1", show_default=True,
              help="f1|mcc|iou|precision|recall (masks), ari|vi|covering (regions), ap|ap75|map|pq (instances).")
@click.option("--trials", "n_trials", default=30, show_default=True, type=click.IntRange(1, None),
              help="Trials per study (one study per fold plus one on all images).")
@click.option("--folds", default=3, show_default=True, type=click.IntRange(1, None),
              help="k of k-fold cross-validation over images (1: no held-out score).")
@click.option("--jobs", "n_jobs", default=2, show_default=True, type=click.IntRange(1, None),
              help="Trials in parallel (threads).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the fold split and the TPE sampler.")
@click.option("--steps/--no-steps", "tune_steps", default=True, show_default=True,
              help="Also search the parameters of the pre- and post-steps.")
@click.option("--pair-regex", default=None, help="Regex whose first group in each file stem is the pairing key.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(), help="Output folder (study.db lives here).")
def command(images, truth, methods, pipelines, pre, post, metric, n_trials, folds, n_jobs, seed, tune_steps,
            pair_regex, out_dir):
    """Tune METHODS on IMAGES against --truth; write best.yaml, report.html, history.png, tune.json, study.db.

    Each fold is tuned on the other folds' images and scored on its own; the pipeline in
    best.yaml is tuned on all images (run it with `seglab segment --pipeline best.yaml`).
    Rerunning with the same inputs resumes the studies in study.db up to --trials.
    """
    import numpy as np

    from seglab._core.errors import ParameterError
    from seglab.compare import load_input
    from seglab.tune import tune, write_tune_outputs

    from ._common import ensure_out_dir
    from ._compare import _read_pairs

    targets = [m for m in (methods or "").split(",") if m.strip()] + list(pipelines)
    if not targets:
        raise ParameterError("give --methods NAMES or --pipeline FILE to tune")
    pairs = _read_pairs(images, truth, pair_regex)
    out = ensure_out_dir(out_dir)
    loaded = [(np.asarray(load_input(i, "image")), np.asarray(load_input(t, "truth"))) for _, i, t in pairs]

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]tune"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=Console(stderr=True)) as bar:
        task = bar.add_task("", total=None)

        def progress(done, total, description):
            bar.update(task, completed=done, total=total, description=description)

        result = tune([a for a, _ in loaded], [b for _, b in loaded], targets, metric=metric, n_trials=n_trials,
                      folds=folds, seed=seed, storage_dir=out, n_jobs=n_jobs, pre=list(pre), post=list(post),
                      tune_steps=tune_steps, names=[i.stem for _, i, _ in pairs], progress=progress)
    paths = write_tune_outputs(result, out, images=[a for a, _ in loaded][:2], truths=[b for _, b in loaded][:2])
    for m in result.methods:
        held, default = m.heldout, m.default_heldout
        if result.folds > 1:
            click.echo(f"{m.label:<30} {result.key}: defaults {default[0]:.3f} -> tuned {held[0]:.3f} ± {held[1]:.3f}"
                       f" (held-out, {result.folds} folds); train {m.train[0]:.3f}")
        else:
            click.echo(f"{m.label:<30} {result.key}: defaults {m.default_all:.3f} -> tuned {m.best_value:.3f} "
                       "(on the tuning images; no held-out folds)")
    click.echo(f"best: {result.best.label}; wrote {paths['best']}, {paths['report']}")
