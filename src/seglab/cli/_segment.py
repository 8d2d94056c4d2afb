"""``seglab segment``: run a method (or a pipeline file) over one or many images."""

from __future__ import annotations

import click

from ._common import parse_params


@click.command(name="segment")
@click.argument("images", nargs=-1, required=True)
@click.option("--method", "-m", default=None, help="Registered method name (see `seglab methods`).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Method parameter (repeatable).")
@click.option("--pre", multiple=True, metavar="NAME[:K=V,...]",
              help="Pre-step before the method (repeatable, in order).")
@click.option("--post", multiple=True, metavar="NAME[:K=V,...]",
              help="Post-step after the method (repeatable, in order).")
@click.option("--pipeline", "pipeline_file", default=None, type=click.Path(),
              help="Pipeline file (YAML or JSON) instead of --method/--pre/--post: {pre: [{name, params}], "
                   "method: {name, params}, post: [...]}; example in `seglab methods --help`.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(), help="Output folder.")
@click.option("--seeds", default=None, type=click.Path(),
              help="Seed label image (0 = unlabelled) for interactive methods.")
@click.option("--seeds-json", default=None, type=click.Path(),
              help='Seeds as JSON: {"seeds": [{"class": 1, "circle": [row, col, radius]}, {"class": 2, "points": '
                   '[[row, col], ...]}, {"class": 2, "polyline": [[row, col], ...], "width": 3}]}; later entries '
                   "paint over earlier ones.")
@click.option("--contour", default=None, help="Initial contour: a circle ROW,COL,RADIUS or a points JSON file.")
@click.option("--rect", default=None, help="Rectangle ROW,COL,HEIGHT,WIDTH (grabcut).")
@click.option("--markers", default=None, type=click.Path(), help="Marker label image (watershed).")
@click.option("--scribbles", default=None, type=click.Path(),
              help="Scribble label image (0 = unlabelled, 1..K = classes) for methods that take scribbles.")
@click.option("--overlay/--no-overlay", default=True, show_default=True, help="Write <stem>.overlay.png.")
@click.option("--force", is_flag=True,
              help="Segment every input again, even those whose outputs an earlier run of the same pipeline wrote.")
def command(images, method, params, pre, post, pipeline_file, out_dir, seeds, seeds_json, contour, rect, markers,
            scribbles, overlay, force):
    """Segment IMAGES and write <stem>.mask.png or <stem>.labels.tif, <stem>.overlay.png and <stem>.json to --out.

    A file that cannot be read or segmented is reported and the others go on;
    the exit code is non-zero if any input failed. Run the same command again
    after an interruption: inputs whose outputs are complete (same file bytes,
    same pipeline, same library versions) are skipped, unless --force.
    """
    from seglab._core.errors import ParameterError
    from seglab._core.pipeline import Pipeline
    from seglab.workflows import Event, expand_inputs, segment_files

    from ._common import ensure_out_dir

    if pipeline_file and (method or params or pre or post):
        raise ParameterError("give either --pipeline or --method/--param/--pre/--post, not both")
    if pipeline_file:
        from seglab.io import read_pipeline

        pipeline = read_pipeline(pipeline_file)
    elif method:
        pipeline = Pipeline.build(method, parse_params(params), pre=list(pre), post=list(post))
    else:
        raise ParameterError("missing --method NAME (or --pipeline FILE); `seglab methods` lists the methods")
    out = ensure_out_dir(out_dir)
    paths = expand_inputs(images)
    # one entry per input kind; each kind's own loader reads it (seglab._core.inputs)
    given = {"seeds": seeds or seeds_json, "scribbles": scribbles, "contour": contour, "rect": rect,
             "markers": markers}

    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from seglab._core.errors import printable

    from .main import error_line

    console = Console(stderr=True)
    # The bar is drawn only for a terminal: redirected stderr gets the per-file error lines and nothing else.
    show_bar = len(paths) > 1 and console.is_terminal and sys.stderr.isatty()
    with Progress(TextColumn("[bold]segment"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, disable=not show_bar, transient=False) as bar:
        task = bar.add_task("", total=len(paths))

        def show(line: str, *, err: bool) -> None:
            if show_bar:
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                click.echo(line, err=err)

        def on_event(event: Event) -> None:
            if event.kind == "progress":
                bar.update(task, description=event.item)
            elif event.kind == "error":
                show(error_line(event.data["error"], prefix=event.item), err=True)
                bar.advance(task)
            elif event.kind == "note":
                show(printable(f"seglab: note: {event.message}"), err=True)
            elif event.kind == "result":
                if not show_bar:
                    click.echo(printable(event.message))
                bar.advance(task)

        result = segment_files(paths, pipeline, out, inputs=given, overlay=overlay, progress=on_event,
                               raise_errors=_debug(), skip_done=not force)
    failures = result.failures
    done = len(paths) - len(failures)
    failed = f"; {len(failures)} failed" if failures else ""
    skipped = f" ({len(result.skipped)} done by an earlier run, skipped)" if result.skipped else ""
    click.echo(printable(f"segmented {done} of {len(paths)} image(s) into {out}") + skipped + failed)
    if failures:
        raise click.exceptions.Exit(2 if result.all_bad_input else 1)


def _debug() -> bool:
    from ._common import debug_enabled

    return debug_enabled()
