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
    missing = [p for p in (out, *out.parents) if not p.exists()]  # deepest first: what this call creates
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"cannot create output folder {str(out)!r}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise ImageWriteError(f"output path {str(out)!r} exists and is not a folder")
    import os

    if not os.access(out, os.W_OK):
        raise ImageWriteError(f"output folder {str(out)!r} is not writable")
    CREATED_FOLDERS.extend(missing)
    return out


#: Folders :func:`ensure_out_dir` created during this command, deepest first.
CREATED_FOLDERS: list[Path] = []


def remove_empty_created_folders() -> None:
    """Remove the folders this command created and left empty (a run that failed before writing anything).

    Only folders this process created are touched, and ``os.rmdir`` removes a folder only when it is empty, so
    nothing a user or an earlier run put there can be lost.
    """
    import os

    for folder in CREATED_FOLDERS:
        try:
            os.rmdir(folder)
        except OSError:  # not empty (outputs were written), already gone, or not ours to remove
            pass
    CREATED_FOLDERS.clear()


def debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.obj and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False
