"""Start the workbench: pick a port, make a token, print the URL, run uvicorn."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["serve"]


def serve(workspace: str | os.PathLike[str] | None = None, *, host: str = "127.0.0.1", port: int = 0,
          open_browser: bool = True, max_upload_mb: float = 512, token: str | None = None,
          echo: Callable[[str], object] = print) -> None:
    """Run ``seglab serve`` until interrupted.

    Parameters
    ----------
    workspace : str or Path, optional
        Folder to serve. Default: a new temporary folder with the bundled samples.
    host : str
        Address to bind; ``127.0.0.1`` (this machine only) by default.
    port : int
        TCP port; 0 picks a free one.
    open_browser : bool
        Open the page in the default browser.
    max_upload_mb : float
        Largest upload (MiB); over it the server answers 413.
    token : str, optional
        The access token (default: a new random one, printed in the URL).
    """
    import uvicorn

    from seglab._core.errors import ParameterError

    from ._app import create_app, free_port, sample_workspace

    if not max_upload_mb > 0:
        raise ParameterError(f"--max-upload-mb got {max_upload_mb!r}; expected a positive number of MiB")
    if not 0 <= port < 65536:
        raise ParameterError(f"--port got {port}; expected 1..65535 (or 0 for a free port)")
    if port:
        _check_port(host, port)
    if workspace is None:
        root = sample_workspace()
        echo(f"seglab serve: workspace {root} (bundled samples)")
    else:
        root = Path(workspace)
        if not root.is_dir():
            raise ParameterError(f"--workspace {str(workspace)!r} is not a folder")
    token = token or secrets.token_urlsafe(24)
    if port == 0:
        port = free_port(host)
    app = create_app(root, token=token, max_upload_mb=max_upload_mb)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/?token={token}"
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo(f"seglab serve: warning: listening on {host}, reachable from other machines; anyone with the URL "
             "can read the workspace")
    echo(f"seglab serve: open {url}")
    sys.stdout.flush()
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    # keep-alive longer than uvicorn's 5 s: a busy client's next request must not meet a closing socket
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=3, timeout_keep_alive=75, backlog=2048)
    uvicorn.Server(config).run()


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken, with one line instead of uvicorn's log and exit."""
    import socket

    from seglab._core.errors import ParameterError

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ParameterError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port "
                                 "or --port 0 for a free one") from None
