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
@click.option("--jobs", "n_jobs", default=None, type=click.IntRange(1, None),
              help="Worker processes scoring trials in parallel [default: the available cores]. Results do not "
                   "depend on it.")
@click.option("--timeout", default=None, type=click.FloatRange(0, None, min_open=True), metavar="SECONDS",
              help="Time for the whole run; the best pipeline found so far is written when it runs out.")
@click.option("--trial-timeout", default=None, type=click.FloatRange(0, None, min_open=True), metavar="SECONDS",
              help="Time one trial may take (over all its images); a trial over it is stopped and counted failed.")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Stop trials whose running score after an image is below the median of completed trials.")
@click.option("--batch", default=4, show_default=True, type=click.IntRange(1, None),
              help="Trials asked from the sampler at once (with --seed, it fixes the result).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Score trials on a running dask.distributed scheduler (tcp://host:8786).")
@click.option("--workers", default=None, type=click.IntRange(1, None),
              help="Score trials on a dask LocalCluster of N worker processes.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the fold split and the TPE sampler.")
@click.option("--steps/--no-steps", "tune_steps", default=True, show_default=True,
              help="Also search the parameters of the pre- and post-steps.")
@click.option("--pair-regex", default=None, help="Regex whose first group in each file stem is the pairing key.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(),
              help="Output folder (study.journal lives here).")
def command(images, truth, methods, pipelines, pre, post, metric, n_trials, folds, n_jobs, timeout, trial_timeout,
            prune, batch, scheduler, workers, seed, tune_steps, pair_regex, out_dir):
    """Tune METHODS on IMAGES against --truth; write best.yaml, report.html, history.png, tune.json, study.journal.

    Each fold is tuned on the other folds' images and scored on its own; the pipeline in
    best.yaml is tuned on all images (run it with `seglab segment --pipeline best.yaml`).
    Rerunning with the same inputs resumes the studies in study.journal up to --trials.
    """
    import time

    started = time.monotonic()  # --timeout counts from here
    import numpy as np

    from seglab._core.errors import ParameterError, one_line, printable
    from seglab._core.pipeline import split_methods
    from seglab.compare import load_input
    from seglab.tune import tune, write_tune_outputs

    from ._common import ensure_out_dir
    from ._compare import _read_pairs

    targets = split_methods(methods or "") + list(pipelines)
    if not targets:
        raise ParameterError("give --methods NAMES or --pipeline FILE to tune")
    pairs = _read_pairs(images, truth, pair_regex)
    out = ensure_out_dir(out_dir)
    loaded = [(np.asarray(load_input(i, "image")), np.asarray(load_input(t, "truth"))) for _, i, t in pairs]

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if n_jobs is None:
        import os

        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if timeout is not None:
        # --timeout is the command's: reading the images counted, and writing the outputs needs its moment.
        reserve = min(10.0, 0.15 * timeout)
        timeout = max(timeout - (time.monotonic() - started) - reserve, 0.1 * timeout)
    # Trials done / total, elapsed, estimated time left, then the study, its best score so far and (with --timeout)
    # the time the budget leaves.
    console = Console(stderr=True)
    # The bar is drawn only for a terminal: redirected stderr gets seglab's one-line messages and nothing else.
    with Progress(TextColumn("[bold]tune"), BarColumn(), MofNCompleteColumn(), TextColumn("trials"),
                  TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), TextColumn("{task.description}"),
                  console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def progress(event):
            bar.update(task, completed=event.done, total=event.total, description=event.message)

        result = tune([a for a, _ in loaded], [b for _, b in loaded], targets, metric=metric, n_trials=n_trials,
                      folds=folds, seed=seed, storage_dir=out, n_jobs=n_jobs, pre=list(pre), post=list(post),
                      tune_steps=tune_steps, names=[i.stem for _, i, _ in pairs], progress=progress,
                      timeout=timeout, trial_timeout=trial_timeout, prune=prune, batch=batch, scheduler=scheduler,
                      workers=workers)
    paths = write_tune_outputs(result, out, images=[a for a, _ in loaded][:2], truths=[b for _, b in loaded][:2])
    if result.stopped:
        click.echo(f"seglab: note: stopped by --timeout after {result.seconds:.0f} s; the results below are the best "
                   "found so far (NaN: not computed in time)", err=True)
    for m in result.methods:
        held, default = m.heldout, m.default_heldout
        if result.folds > 1:
            click.echo(f"{m.label:<30} {result.key}: defaults {default[0]:.3f} -> tuned {held[0]:.3f} ± {held[1]:.3f}"
                       f" (held-out, {result.folds} folds); train {m.train[0]:.3f}")
        else:
            click.echo(f"{m.label:<30} {result.key}: defaults {m.default_all:.3f} -> tuned {m.best_value:.3f} "
                       "(on the tuning images; no held-out folds)")
        if m.failure:
            click.echo(printable(one_line(f"seglab: note: {m.label}: no trial scored: {m.failure}")), err=True)
    click.echo(f"best: {result.best.label}; wrote {paths['best']}, {paths['report']}")
