"""``seglab tile``: run a pipeline over a large image in tiles with dask, writing zarr."""

from __future__ import annotations

import click

from ._common import parse_params


@click.command(name="tile")
@click.argument("input_path", metavar="INPUT", type=click.Path())  # checked by the reader (loops, FIFOs)
@click.option("--pipeline", "pipeline_file", type=click.Path(exists=True, dir_okay=False),
              help="Pipeline YAML/JSON file ({pre: [...], method: {name, params}, post: [...]}).")
@click.option("--method", help="Method name (instead of --pipeline).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter (repeatable).")
@click.option("--pre", multiple=True, metavar="NAME[:k=v,...]", help="Pre-step (repeatable, in order).")
@click.option("--post", multiple=True, metavar="NAME[:k=v,...]", help="Post-step (repeatable, in order).")
@click.option("--out", "out", required=True, type=click.Path(), help="Output zarr (OUT.zarr).")
@click.option("--chunk", default="2048", show_default=True, help="Tile size: N or N,M (also the zarr chunk).")
@click.option("--workers", type=int, help="Workers of the local cluster (default: one per core).")
@click.option("--scheduler", help="Address of an existing dask scheduler (tcp://host:8786); "
                                  "'threads' or 'sync' run in this process without a cluster.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run into OUT: finished tiles are skipped.")
@click.option("--allow-inexact", is_flag=True,
              help="Run methods that cannot be tiled exactly (tiling='none') tile by tile, independently, with "
                   "their declared halo; results then differ from an in-memory run near tile borders.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--keep-scratch", is_flag=True,
              help="Keep the work files in OUT.zarr/_seglab after a complete run (removed by default).")
def command(input_path, pipeline_file, method, params, pre, post, out, chunk, workers, scheduler, resume,
            allow_inexact, quiet, keep_scratch):
    """Segment INPUT (TIFF, zarr/OME-Zarr, .npy or a folder of slices) tile by tile into OUT.zarr.

    Masks and edges equal the in-memory result (each tile reads the halo its steps declare); labels are
    stitched across tiles; global thresholds take a histogram pass first. Ctrl-C keeps finished tiles:
    rerun with --resume.
    """
    from seglab._core.errors import ParameterError
    from seglab._core.pipeline import Pipeline

    if bool(pipeline_file) == bool(method):
        raise ParameterError("give exactly one of --pipeline FILE or --method NAME")
    if workers is not None and scheduler:
        raise ParameterError("give --workers (local cluster) or --scheduler (existing cluster), not both")
    if workers is not None:
        from seglab._core.limits import check_process_count

        check_process_count(workers, name="--workers")  # the local cluster starts them all before any tile
    if pipeline_file:
        if params or pre or post:
            raise ParameterError("--param/--pre/--post go with --method; with --pipeline put them in the file")
        from seglab.io import read_pipeline

        pipeline = read_pipeline(pipeline_file)  # the bounded, safe loader `seglab segment` uses
    else:
        pipeline = Pipeline.build(method, parse_params(params), pre=list(pre), post=list(post))
    try:
        sizes = tuple(int(v) for v in chunk.replace("x", ",").split(","))
    except ValueError:
        raise ParameterError(f"--chunk expects N or N,M; got {chunk!r}") from None
    chunk_arg = sizes[0] if len(sizes) == 1 else sizes

    from seglab.tiling import check_tileable, make_client, run_tiled

    # refuse what cannot be tiled before a cluster starts (seconds) rather than after
    check_tileable(input_path, pipeline, allow_inexact=allow_inexact)
    client, cluster = None, None
    if scheduler in ("threads", "sync"):
        client = scheduler
    elif scheduler:
        client, cluster = make_client(scheduler=scheduler)
    else:
        client, cluster = make_client(workers=workers)
    try:
        if quiet:
            array = run_tiled(input_path, pipeline, out, chunk=chunk_arg, client=client, resume=resume,
                              allow_inexact=allow_inexact, keep_scratch=keep_scratch)
        else:
            from rich.progress import Progress

            with Progress(transient=False) as bar:
                tasks = {}

                def progress(event):
                    if event.stage not in tasks:
                        tasks[event.stage] = bar.add_task(event.stage, total=event.total)
                    bar.update(tasks[event.stage], completed=event.done)

                array = run_tiled(input_path, pipeline, out, chunk=chunk_arg, client=client, resume=resume,
                                  allow_inexact=allow_inexact, progress=progress, keep_scratch=keep_scratch)
    finally:
        if hasattr(client, "close"):
            client.close()
        if cluster is not None:
            cluster.close()
    provenance = array.attrs.get("provenance", {})
    click.echo(f"wrote {out}: {array.attrs.get('output')} {array.shape} {array.dtype}, chunk "
               f"{tuple(array.chunks)}, halo {provenance.get('halo')}")
