"""``seglab compare``: run several methods against ground truth, rank them, write a report."""

from __future__ import annotations

import click


def _read_pairs(images, truth, pair_regex):
    """Expand inputs, pair by stem (rule in seglab.compare._pairing) and report unpaired files."""
    from seglab._core.errors import ParameterError
    from seglab.compare import expand_paths, pair_files

    image_paths = expand_paths(images)
    truth_paths = expand_paths(truth)
    pairs, lonely_images, lonely_truths = pair_files(image_paths, truth_paths, pair_regex=pair_regex)
    for path in lonely_images:
        click.echo(f"seglab: note: no truth for image {path}; skipped", err=True)
    if lonely_truths:
        # One line, not one per file: comparing a subset of a data set is normal.
        shown = ", ".join(p.name for p in lonely_truths[:3]) + (", ..." if len(lonely_truths) > 3 else "")
        click.echo(f"seglab: note: {len(lonely_truths)} truth file(s) without an image ignored ({shown})", err=True)
    if not pairs:
        raise ParameterError(
            f"no image could be paired with a truth file ({len(image_paths)} images, {len(truth_paths)} truths); "
            "pairing is by file stem (t01.tif <-> man_seg01.tif works); pass --pair-regex to set the key"
        )
    return pairs


_KIND_HEADING = {
    "binary": "masks vs binary truth",
    "instance": "objects vs instance truth",
    "region": "partitions (label outputs), region metrics",
}


def _with_steps(candidates, pre, post):
    """Add the --pre steps before, and the --post steps after, every candidate's pipeline.

    A post-step that does not take a method's output kind (remove_small_objects after k-means
    labels) is left out for that method, and the candidate's label says which steps it got.
    """
    from seglab._core.pipeline import Pipeline, parse_step

    pre_steps = [parse_step(p, "pre") for p in pre]
    post_steps = [parse_step(p, "post") for p in post]
    out = []
    for c in candidates:
        if c.pipeline is None:
            out.append(c)
            continue
        kind = c.pipeline.method.spec.output
        posts = []
        for step in [*c.pipeline.post, *post_steps]:
            if step.spec.accepts and kind not in step.spec.accepts:
                continue
            posts.append(step)
            if step.spec.output != "image":
                kind = step.spec.output
        pipeline = Pipeline(c.pipeline.method, [*pre_steps, *c.pipeline.pre], posts)
        added = [s.name for s in pre_steps] + [c.label] + [s.name for s in posts if s in post_steps]
        c.pipeline, c.label = pipeline, ">".join(added)
        out.append(c)
    return out


_PROBE_SIDE = 256


def _skip_slow(candidates, first_image, max_seconds):
    """Time each candidate on a copy of the first image reduced to 256 px a side; skip the slow ones.

    The estimate scales the probe's time by the pixel ratio (most methods are linear in the pixel
    count; iterative contours are at least that). A probe that fails is not held against the method:
    it runs, and its error (if any) is reported as usual.
    """
    import math
    import time

    import numpy as np

    from seglab.compare import auto_gray, load_input

    image = np.asarray(load_input(first_image, "image"))
    step = max(1, math.ceil(max(image.shape[:2]) / _PROBE_SIDE))
    small = image[::step, ::step]
    ratio = (image.shape[0] * image.shape[1]) / (small.shape[0] * small.shape[1])
    skipped = []
    for c in candidates:
        if c.pipeline is None:
            continue
        pipeline, _ = auto_gray(c.pipeline, small)
        start = time.perf_counter()
        try:
            pipeline.run(small)
        except Exception:  # noqa: BLE001 - the real run reports it
            continue
        estimate = (time.perf_counter() - start) * ratio
        if estimate > max_seconds:
            c.pipeline = None
            c.skipped = (f"estimated {estimate:.0f} s per image (timed on a 1/{step}-size copy), over "
                         f"--max-seconds {max_seconds:g}; --max-seconds 0 runs it")
            skipped.append(f"{c.label} (~{estimate:.0f} s)")
    if skipped:
        click.echo(f"seglab: note: skipped {len(skipped)} slow method(s), estimated over {max_seconds:g} s per "
                   f"image: {', '.join(skipped)}; --max-seconds 0 runs every method", err=True)
    return candidates


@click.command(name="compare")
@click.argument("images", nargs=-1, required=True)
@click.option("--truth", "-t", "truth", multiple=True, required=True,
              help="Ground-truth files, folder or glob (repeatable). Paired with IMAGES by file stem.")
@click.option("--methods", "-m", default=None,
              help="Comma-separated methods, each NAME or NAME:KEY=VALUE,KEY=VALUE (e.g. "
                   "'otsu,local:block_size=51,offset=10,unet:model=DIR'), or 'all' (methods needing user input "
                   "or a model are skipped). Default: all, or none when --pipeline is given.")
@click.option("--pipeline", "pipelines", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Pipeline file (YAML/JSON: {pre: [...], method: {name, params}, post: [...]}; example in "
                   "`seglab methods --help`) to compare as well (repeatable).")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(), help="Output folder.")
@click.option("--pair-regex", default=None,
              help="Regex whose first group (or whole match) in each file stem is the pairing key.")
@click.option("--metric-kind", type=click.Choice(["auto", "binary", "region", "instance"]), default="auto",
              show_default=True, help="auto: binary truth -> mask scores; truth with 0 -> instances; else regions.")
@click.option("--overlays", default=6, show_default=True, type=click.IntRange(0, 100),
              help="Images shown in the report's overlay grid.")
@click.option("--pre", multiple=True, metavar="NAME[:K=V,...]",
              help="Pre-step run before every method (repeatable, in order), e.g. --pre gaussian:sigma=2.")
@click.option("--post", multiple=True, metavar="NAME[:K=V,...]",
              help="Post-step run after every method whose output it takes (repeatable), e.g. "
                   "--post remove_small_objects:min_size=64.")
@click.option("--max-seconds", type=click.FloatRange(0, None), default=None, metavar="SECONDS",
              help="Skip methods estimated to take longer than this per image (timed on a reduced copy of the "
                   "first image). Default: 20 with --methods all, else no limit; 0 runs every method.")
@click.option("--method-timeout", type=click.FloatRange(0, None, min_open=True), default=None, metavar="SECONDS",
              help="Time each method may take over all images; a run past it is stopped and the method's remaining "
                   "images become error rows (the comparison goes on). Holds on dask workers too.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the image x method jobs on a running dask.distributed scheduler (tcp://host:8786).")
@click.option("--workers", default=None, type=click.IntRange(1, None),
              help="Run the jobs on a local dask cluster of N worker processes (results as without it).")
def command(images, truth, methods, pipelines, out_dir, pair_regex, metric_kind, overlays, pre, post, max_seconds,
            method_timeout, scheduler, workers):
    """Run METHODS on IMAGES, score each against --truth, write results.csv, results.json and report.html.

    \b
    Pairing: an image and a truth pair up when their file stems are equal; otherwise
    the prefix and suffix shared by all stems of each side are removed (never cutting a
    number) and numeric keys compare as numbers, so t01.tif pairs with man_seg01.tif and
    dna-3.png with 3.png; one image and one truth always pair. --pair-regex overrides the rule.

    
    Scoring (the rule seglab evaluate and tune use too):
      mask vs binary truth     binary scores, ranked by f1
      labels vs binary truth   region scores (covering, ari, vi), ranked in their own
                               table: never "every label is foreground"
      anything vs instance     instance scores (ap50, pq; a mask's connected components
      truth (0 = background)   are its objects) + fg_f1, fg_iou of the foreground
      anything vs a partition  region scores
    Degenerate results (empty, full, 10x more or fewer objects than the truth) get a
    note with a hint in the notes column and on the console.

    A pair whose shapes differ, or a method failing on an image, is reported in the
    error column and the run goes on; the exit code is non-zero only when nothing
    could be evaluated.
    """
    from seglab._core.errors import ParameterError
    from seglab.compare import OverlayCollector, compare, rank, resolve_candidates, write_report, write_results

    from ._common import ensure_out_dir

    if methods is None:
        # --pipeline alone compares the pipeline(s), not every method beside them
        methods = "" if pipelines else "all"
    if methods.strip() == "" and not pipelines:
        raise ParameterError("give --methods NAMES (or 'all') or --pipeline FILE")
    if max_seconds is not None and max_seconds != max_seconds:  # NaN passes click's FloatRange
        raise ParameterError("--max-seconds got nan; expected a number of seconds >= 0 (0: run every method)")
    candidates = resolve_candidates(methods if methods.strip() else None, list(pipelines))
    if pre or post:
        candidates = _with_steps(candidates, pre, post)
    pairs = _read_pairs(images, truth, pair_regex)
    out = ensure_out_dir(out_dir)
    if max_seconds is None:
        max_seconds = 20.0 if any(m.strip().lower() == "all" for m in methods.split(",")) else 0.0
    if max_seconds > 0:
        candidates = _skip_slow(candidates, pairs[0][1], max_seconds)
    collector = OverlayCollector(max_images=overlays)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    # The bar is drawn only for a terminal: redirected stderr gets seglab's one-line messages and nothing else.
    with Progress(TextColumn("[bold]compare"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def progress(event):
            bar.update(task, completed=event.done, total=event.total, description=event.message)

        rows = compare([p[1] for p in pairs], [p[2] for p in pairs], methods=None, pipelines=[],
                       metric_kind=metric_kind, names=[p[1].stem for p in pairs], progress=progress,
                       on_prediction=collector, _candidates=candidates, method_timeout=method_timeout,
                       scheduler=scheduler, workers=workers)
    ranking = rank(rows)
    write_results(rows, ranking, out, extra={"pairs": [[k, str(i), str(t)] for k, i, t in pairs]})
    write_report(rows, ranking, out, overlays=collector)
    evaluated = [r for r in rows if not r["error"]]
    failed = [r for r in rows if r["error"] and not r["error"].startswith("skipped:")]
    shown_kind = None
    for entry in ranking:
        m = entry["metrics"].get(entry["by"])
        if not m or entry["rank"] is None or entry["rank"] > 10:
            continue
        if entry["metric_kind"] != shown_kind:
            shown_kind = entry["metric_kind"]
            click.echo(f"{_KIND_HEADING.get(shown_kind, shown_kind)} (ranked by {entry['by']}):")
        click.echo(f"{entry['rank']:>3}. {entry['method']:<28} {entry['by']} {m['mean']:.3f} ± {m['std']:.3f}"
                   f"  (n={entry['n']}{', errors=' + str(entry['n_errors']) if entry['n_errors'] else ''})")
        for note in entry.get("notes") or []:
            click.echo(f"       note: {note}")
    click.echo(f"{len(evaluated)} evaluated, {len(failed)} failed; wrote {out / 'results.csv'}, "
               f"{out / 'results.json'}, {out / 'report.html'}")
    from seglab._core.errors import one_line, printable

    if failed and evaluated:
        # One line per distinct reason on stderr (a truth of another shape fails every method on that image):
        # the ranking above silently leaves those runs out, so say which and why, not only in the CSV.
        reasons: dict[str, list[str]] = {}
        for row in failed:
            reasons.setdefault(row["error"], []).append(f"{row['method']} on {row['image'] or 'every image'}")
        for error, where in list(reasons.items())[:5]:
            shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
            click.echo(printable(one_line(f"seglab: warning: {shown}: {error}")), err=True)
        if len(reasons) > 5:
            click.echo(f"seglab: warning: {len(reasons) - 5} more distinct errors in the error column of "
                       f"{out / 'results.csv'}", err=True)
    if not evaluated:
        # Say why, not only where to look: the first error (a method needing seeds, a truth of another shape).
        first = next((r for r in rows if r["error"]), None)
        why = f": {first['method']} on {first['image'] or 'every image'}: {first['error']}" if first else ""
        click.echo(printable(one_line(f"seglab: error: nothing could be evaluated{why} (all errors are in the error "
                                      f"column of {out / 'results.csv'})")), err=True)
        raise click.exceptions.Exit(2)
