"""Training a U-Net from the page: a workspace folder of images and truths -> a model folder in the workspace.

The server only checks the request and pairs the files, as ``seglab train --model unet`` does
(:func:`seglab.learn.pair_training_files`, i.e. ``seglab compare``'s pairing by file stem); the
training itself is :func:`seglab.deep.train_unet`, run in a job's own process (see
:mod:`seglab.web._jobs`), so cancelling stops it at once. The model is written to a hidden
``models/.NAME.part`` folder and renamed to ``models/NAME`` when the training has finished, so the
page (and ``seglab segment --param model=...``) never sees half a model; a cancelled or failed
training leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seglab._core.errors import ParameterError

__all__ = ["is_truth_name", "list_models", "parse_training", "run_training"]

ALLOWED = ("images", "truths", "task", "epochs", "seed", "options", "name", "pair_regex")
MODELS = "models"


def is_truth_name(path: Path) -> bool:
    """The workspace's rule for a ground truth: ``NAME.truth.EXT``, or a file in a folder named ``*truth*``."""
    return ".truth." in path.name or "truth" in path.parent.name


def _names(value, what: str) -> list[str]:
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value]
    raise ParameterError(f"`{what}` must name a workspace folder or files (a string or a list of strings); "
                         f"got {str(value)[:60]!r}")


def _expand(workspace, names: list[str]) -> list[Path]:
    """Workspace names -> image files (a folder gives its image files, as ``seglab compare`` lists them)."""
    from seglab.compare import expand_paths
    from seglab.io import natural_key

    files: list[Path] = []
    for name in names:
        # "." is the workspace itself; anything else must resolve inside it (404 otherwise)
        path = workspace.root if name in (".", "./") else workspace.resolve(name.rstrip("/") or name)
        if path.is_dir() and path.suffix.lower() != ".zarr":
            files += sorted((p for p in expand_paths(path) if not p.name.startswith(".")),
                            key=lambda p: natural_key(p.name))
        else:
            files.append(path)
    return files


def parse_training(body: Mapping[str, Any], workspace) -> dict[str, Any]:
    """Check a ``POST /api/train/unet`` body and pair its files; return the job's task.

    Body: ``{"images": FOLDER | [NAMES], "truths": FOLDER | [NAMES] (optional: the truths beside the
    images, ``NAME.truth.EXT``), "task": "semantic" | "instance", "epochs": N, "seed": 0,
    "options": {train_unet options}, "name": "models/NAME" (optional), "pair_regex": "..."}``.

    Raises
    ------
    ParameterError
        A bad value, nothing to pair, a name that is taken, a read-only workspace.
    """
    from seglab.deep import TRAIN_OPTIONS
    from seglab.learn import pair_training_files

    if not isinstance(body, Mapping):
        raise ParameterError("the request body must be a JSON object with `images` (a workspace folder) and "
                             "optionally `truths`, `task`, `epochs`, `options`")
    unknown = [k for k in body if k not in ALLOWED]
    if unknown:
        raise ParameterError(f"unknown request key {unknown[0]!r}; allowed keys: {', '.join(ALLOWED)}")
    if workspace.read_only:
        raise ParameterError("this workspace is read-only; start seglab serve with --workspace DIR to train")
    images = _expand(workspace, _names(body.get("images"), "images"))
    if body.get("truths"):
        truths = _expand(workspace, _names(body["truths"], "truths"))
        images = [p for p in images if p not in set(truths)]
    else:  # one folder holding both: the truths are the files the workspace marks as truths
        truths = [p for p in images if is_truth_name(p)]
        images = [p for p in images if not is_truth_name(p)]
    if not images:
        raise ParameterError("no training images found in `images` (truths are named NAME.truth.EXT or kept in a "
                             "folder named *truth*)")
    notes: list[str] = []
    pairs = pair_training_files(images, truths, what="truth", pair_regex=body.get("pair_regex") or None,
                                progress=lambda event: notes.append(event.message))
    task = body.get("task", "semantic")
    if task not in ("semantic", "instance"):
        raise ParameterError(f"`task` got {task!r}; expected 'semantic' or 'instance'")
    epochs = body.get("epochs", 30)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 10_000:
        raise ParameterError(f"`epochs` got {epochs!r}; expected an integer in [1, 10000]")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterError(f"`seed` got {seed!r}; expected an integer")
    options = body.get("options") or {}
    if not isinstance(options, Mapping):
        raise ParameterError("`options` must be an object of train_unet options (patch, batch_size, ...)")
    for key in options:
        if key not in TRAIN_OPTIONS:
            from seglab._core.errors import close_matches_hint

            raise ParameterError(f"unknown training option `{key}`; options are {', '.join(TRAIN_OPTIONS)}."
                                 + close_matches_hint(str(key), TRAIN_OPTIONS))
    from ._run import new_id

    name = body.get("name") or f"unet-{task}-{new_id()[:8]}"
    if not isinstance(name, str):
        raise ParameterError(f"`name` got {name!r}; expected a folder name such as 'nuclei-unet'")
    name = name.strip().removeprefix(MODELS + "/")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise ParameterError(f"`name` got {name!r}; expected letters, digits, '.', '_' or '-' (a folder name "
                             "inside models/)")
    folder = workspace.root / MODELS
    final, partial = folder / name, folder / f".{name}.part"
    if final.exists() or partial.exists():
        raise ParameterError(f"model folder {MODELS}/{name} exists (or is being trained); choose another `name`")
    folder.mkdir(parents=True, exist_ok=True)
    relative = [(p.relative_to(workspace.root).as_posix(), t.relative_to(workspace.root).as_posix())
                for p, t in pairs]
    folders = sorted({str(Path(i).parent) for i, _ in relative})
    return {"images": [str(p) for p, _ in pairs], "truths": [str(t) for _, t in pairs], "pairs": relative,
            "task": task, "epochs": epochs, "seed": seed, "options": dict(options), "notes": notes,
            "final": str(final), "partial": str(partial), "model": f"{MODELS}/{name}", "root": str(workspace.root),
            "images_label": ", ".join(folders)}


def run_training(task: Mapping[str, Any], send) -> None:
    """Train (in a job's process), reporting each epoch through ``send(kind, fraction, stage, detail)``."""
    from seglab.deep import train_unet
    from seglab.io import fsync_dir

    history: list[dict] = []
    # The job's detail already holds "pairs" (their count, which the page shows); the files go beside it, under
    # their own key (under "pairs" they replaced the count whenever this message beat the submit response).
    send("progress", 0.0, f"reading {len(task['images'])} image/truth pairs", {"pair_files": task["pairs"]})

    def progress(event) -> None:  # seglab.workflows.Event, one per epoch
        data = dict(event.data)
        history.append({"epoch": event.done, "validation": data.get("validation"), "message": event.message})
        send("progress", event.done / max(1, event.total), f"epoch {event.done}/{event.total}: {event.message}",
             {"epoch": event.done, "epochs": event.total, "metric": data.get("metric"),
              "validation": data.get("validation"), "history": history})

    partial, final = Path(task["partial"]), Path(task["final"])
    train_unet(list(task["images"]), list(task["truths"]), out=partial, task=task["task"], epochs=int(task["epochs"]),
               seed=int(task["seed"]), progress=progress, **dict(task["options"]))
    config = json.loads((partial / "config.json").read_text())
    os.replace(partial, final)  # the finished folder appears at once, complete
    fsync_dir(final.parent)
    validation = config.get("validation") or {}
    # the weights kept are the best epoch's: say which, and its score
    send("done", 1.0, "done", {"model": task["model"], "method": config.get("method", "unet"),
                               **{k: validation.get(k) for k in ("best", "best_epoch", "epochs_run", "stopped_early")}})


def list_models(workspace) -> list[dict[str, Any]]:
    """The model folders in the workspace's ``models/`` (U-Nets and pixel classifiers), newest first."""
    folder = workspace.root / MODELS
    found: list[dict[str, Any]] = []
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        config_file = path / "config.json"
        if path.name.startswith(".") or not config_file.is_file():
            continue
        try:
            workspace.resolve(f"{MODELS}/{path.name}")
            config = json.loads(config_file.read_text())
        except Exception:  # noqa: BLE001, S112 - an unreadable or outside folder is not offered
            continue
        kind = config.get("kind")
        methods = {"unet": ["unet", "unet_instance"], "pixel_classifier": ["pixel_classifier"]}.get(kind, [])
        if config.get("method") in methods:  # the method the model was trained for first
            methods = [config["method"]] + [m for m in methods if m != config["method"]]
        validation = config.get("validation") or {}
        found.append({"name": f"{MODELS}/{path.name}", "kind": kind, "task": config.get("task"), "methods": methods,
                      "metric": validation.get("metric"), "best": validation.get("best"),
                      "created": config.get("created"), "mtime": config_file.stat().st_mtime})
    return sorted(found, key=lambda m: -m["mtime"])
