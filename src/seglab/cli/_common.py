"""Helpers shared by CLI commands (import only click/stdlib at module level)."""

from __future__ import annotations

from pathlib import Path

import click


def parse_params(items: tuple[str, ...]) -> dict[str, str]:
    """Parse repeated ``--param KEY=VALUE`` options into a dict (values stay strings; the registry coerces)."""
    from seglab._core.pipeline import parse_key_values

    return parse_key_values(items, where="--param")


def ensure_out_dir(path: str | Path) -> Path:
    """Create the output folder, or raise a one-line error saying why it cannot be used."""
    from seglab._core.errors import ImageWriteError

    if not str(path).strip():
        # Path("") is the current folder: an unset variable (--out "$OUT") would spill outputs into it
        raise ImageWriteError("--out got an empty path; give an output folder (use --out . for the current one)")
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"cannot create output folder {str(out)!r}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise ImageWriteError(f"output path {str(out)!r} exists and is not a folder")
    import os

    if not os.access(out, os.W_OK):
        raise ImageWriteError(f"output folder {str(out)!r} is not writable")
    return out


def debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.obj and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False
