"""``seglab demo``: the main job on bundled sample data, as an HTML page."""

from __future__ import annotations

import click


@click.command(name="demo")
@click.option("--out", "-o", "out_dir", default="seglab-demo", show_default=True, type=click.Path(),
              help="Output folder for index.html and its pictures.")
def command(out_dir):
    """Segment bundled samples with several methods, score them and write an HTML report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from seglab.demo import run_demo

    from ._common import ensure_out_dir

    out = ensure_out_dir(out_dir)
    with Progress(TextColumn("[bold]demo"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("", total=None)

        def progress(done, total, title):
            bar.update(task, completed=done, total=total, description=title)

        page = run_demo(out, progress=progress)
    click.echo(str(page.resolve()))
