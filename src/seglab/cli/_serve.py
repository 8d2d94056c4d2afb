"""``seglab serve``: the browser workbench (FastAPI + uvicorn; needs ``pip install "seglab[web]"``)."""

from __future__ import annotations

import click


@click.command(name="serve")
@click.option("--workspace", "-w", default=None, type=click.Path(file_okay=False),
              help="Folder of images to work on (default: a temporary folder with the bundled samples).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1: this machine only).")
@click.option("--port", default=0, type=int, show_default=True, help="TCP port (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the URL.")
@click.option("--max-upload-mb", default=512.0, type=float, show_default=True,
              help="Largest upload in MiB (413 over it).")
def command(workspace, host, port, no_browser, max_upload_mb):
    """Start the browser workbench and print its URL (with the access token)."""
    from seglab._core.errors import MissingDependencyError

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"seglab serve needs FastAPI and uvicorn ({exc.name} is missing): pip install \"seglab[web]\""
        ) from None
    from seglab.web import serve

    serve(workspace, host=host, port=port, open_browser=not no_browser, max_upload_mb=max_upload_mb,
          echo=lambda line: click.echo(line))
