"""Segment a batch of files: read, run a pipeline, write outputs atomically, record provenance.

The workflow behind ``seglab segment`` (and the web server's and napari's
"segment files"): :func:`segment_files` goes on past a bad file, reports each
through the progress callback and returns what was written and what failed.
A file fails as a whole: no mask without its provenance record.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seglab._core.errors import ImageReadError
from seglab._core.validation import has_channel_axis

from ._events import CancelToken, Event, ProgressCallback, emit

if TYPE_CHECKING:
    from seglab._core.pipeline import Pipeline

__all__ = ["segment_files", "segment_file", "expand_inputs", "BatchResult", "OUTPUT_SUFFIX"]

OUTPUT_SUFFIX = {"mask": ".mask.png", "contour": ".mask.png", "labels": ".labels.tif", "edges": ".edges.tif",
                 "proba": ".proba.tif", "image": ".image.tif"}


def expand_inputs(items: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files, folders (their images, natural order) and glob patterns -> a list of paths."""
    from seglab.io import read_collection

    paths: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text)
        # os.path.isdir/exists, not Path's: they answer False for names too long or loops instead of raising.
        if os.path.isdir(text) and not text.rstrip("/").endswith(".zarr"):
            paths.extend(Path(p) for p in read_collection(path).files)
        elif any(ch in text for ch in "*?[") and not os.path.lexists(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise ImageReadError(f"no file matches {text!r}")
            paths.extend(Path(m) for m in matches)
        else:
            paths.append(path)
    return paths


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".ome.tif", ".ome.tiff", ".ome.zarr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def labels_for_file(labels: np.ndarray) -> np.ndarray:
    """Smallest unsigned dtype that holds the labels (uint16 or uint32)."""
    top = int(labels.max()) if labels.size else 0
    return labels.astype(np.uint16 if top < 2**16 else np.uint32)


@dataclass
class BatchResult:
    """What :func:`segment_files` did: outputs written per input, and the inputs that failed with why."""

    written: dict[str, Path] = field(default_factory=dict)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # inputs whose outputs an earlier run already wrote

    @property
    def all_bad_input(self) -> bool:
        """Every failure was the input's fault (a SeglabError), not seglab's."""
        from seglab._core.errors import SeglabError

        return all(isinstance(exc, SeglabError) for _, exc in self.failures)


def segment_files(paths: Iterable[str | Path], pipeline: Pipeline, out: Path, *,
                  inputs: Mapping[str, Any] | None = None, overlay: bool = True,
                  progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                  raise_errors: bool = False, skip_done: bool = True) -> BatchResult:
    """Segment every file of `paths` with `pipeline` into folder `out`.

    Parameters
    ----------
    paths : iterable of path
        Files, folders (their images, natural order) or glob patterns (see :func:`expand_inputs`).
    pipeline : Pipeline
        What to run.
    out : Path
        Existing output folder: ``<stem>.mask.png`` / ``.labels.tif`` / ..., ``<stem>.overlay.png``
        and ``<stem>.json`` (provenance) per input.
    inputs : mapping, optional
        User inputs by kind (``seeds``, ``contour``, ...): arrays, or strings/paths that the
        kind's loader reads (``seglab._core.inputs``).
    overlay : bool
        Also write an overlay picture.
    progress, cancel
        Progress events (one per file; ``kind='error'`` for a failed file, ``'note'`` for notes)
        and a cancellation flag checked between files.
    raise_errors : bool
        Re-raise the first failure instead of recording it (``--debug``).
    skip_done : bool
        Resume an interrupted batch: an input whose record ``<stem>.json`` in `out` says it was
        segmented from the same bytes (SHA-256), by the same pipeline, with the same library versions
        and overlay choice, and whose outputs are all there, is not segmented again
        (``kind='result'`` event with ``data['skipped'] = True``). Never applies when user inputs
        (seeds, a contour, ...) are given or the method reads a model folder, whose contents the
        record does not pin.

    Notes
    -----
    Two inputs with the same name before the extension (``a.png`` and ``a.tif``, or ``d1/a.png``
    and ``d2/a.png``) would write the same output files: the later one fails with an
    :class:`~seglab.ImageWriteError` instead of replacing the earlier one's outputs.
    """
    files = expand_inputs(paths)
    result = BatchResult()
    owners: dict[str, Path] = {}  # output stem -> the input that writes it in this batch
    resumable = skip_done and not any(v is not None for v in (inputs or {}).values()) and not _reads_model(pipeline)
    for index, path in enumerate(files):
        if cancel is not None:
            cancel.check("segment")
        emit(progress, Event("segment", index, len(files), item=path.name))
        try:
            _claim_stem(path, owners)
            if resumable:
                done = _done_before(path, pipeline, out, overlay=overlay)
                if done is not None:
                    result.written[str(path)] = done
                    result.skipped.append(str(path))
                    emit(progress, Event("segment", index + 1, len(files), item=str(path), kind="result",
                                         message=f"{path} -> {done} (done by an earlier run; skipped)",
                                         data={"output": done, "skipped": True}))
                    continue
            written = segment_file(path, pipeline, out, inputs or {}, overlay=overlay, progress=progress)
        except Exception as exc:  # noqa: BLE001 - a batch reports each bad file and goes on
            if raise_errors:
                raise
            result.failures.append((str(path), exc))
            emit(progress, Event("segment", index + 1, len(files), item=str(path), kind="error",
                                 message=str(exc), data={"error": exc}))
        else:
            result.written[str(path)] = written
            emit(progress, Event("segment", index + 1, len(files), item=str(path), kind="result",
                                 message=f"{path} -> {written}", data={"output": written}))
    return result


def _claim_stem(path: Path, owners: dict[str, Path]) -> None:
    """Refuse a second input of the batch whose outputs would replace those of an earlier one."""
    from seglab._core.errors import ImageWriteError

    stem = _stem(path)
    first = owners.setdefault(stem, path)
    if first is path or os.path.abspath(first) == os.path.abspath(path):
        return
    raise ImageWriteError(
        f"{path}: its outputs ({stem}.*) would replace those of {first}, segmented earlier in this batch "
        "(the same name before the extension); rename one of them or segment it into another output folder"
    )


def _reads_model(pipeline: Pipeline) -> bool:
    steps = [*pipeline.pre, pipeline.method, *pipeline.post]
    return any(getattr(getattr(step, "spec", None), "model", None) for step in steps)


def _done_before(path: Path, pipeline: Pipeline, out: Path, *, overlay: bool) -> Path | None:
    """The main output an earlier run wrote for `path` with `pipeline` (all outputs present), else None."""
    import json

    from seglab._core.provenance import jsonable, versions
    from seglab.io import sha256_file

    record_path = out / f"{_stem(path)}.json"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        files = record["files"]
        main = out / files["output"]
        same = (record["pipeline"] == jsonable(pipeline.to_dict()) and record["versions"] == versions()
                and record.get("overlay", True) == overlay
                and all(os.path.isfile(out / name) for name in files.values()))
    except (OSError, ValueError, KeyError, TypeError):  # no record, or not one of ours: segment again
        return None
    if not same:
        return None
    try:
        if record["input_sha256"] != sha256_file(path):
            return None
    except Exception:  # noqa: BLE001 - an unreadable input is reported by the run that follows
        return None
    return main


def segment_file(path: Path, pipeline: Pipeline, out: Path, given_inputs: Mapping[str, Any], *, overlay: bool = True,
                 progress: ProgressCallback | None = None) -> Path:
    """Segment one file and write its outputs; return the main output's path."""
    from seglab._core.inputs import load_inputs
    from seglab.io import read

    start = time.perf_counter()
    image = read(path)
    spatial_shape = image.shape[:-1] if has_channel_axis(image.shape) else image.shape
    method_spec = pipeline.method.spec
    wanted = set(method_spec.inputs) | set(method_spec.optional_inputs)
    inputs = load_inputs(given_inputs, spatial_shape, wanted=wanted)
    result = pipeline.run(image, **inputs)
    stem = _stem(path)
    data = result.data
    suffix = OUTPUT_SUFFIX[result.output]
    if suffix.endswith(".png") and data.ndim != 2:
        suffix = suffix[: -len(".png")] + ".tif"  # a PNG holds one 2-D plane; stacks go to multi-page TIFF
    main_path = out / (stem + suffix)
    created: list[Path] = []
    try:
        _write_outputs(result, data, main_path, out, stem, overlay, created, original=image, progress=progress)
        written = {"output": main_path.name}
        if len(created) > 1:
            written["overlay"] = created[1].name
        _write_record(path, image, result, pipeline, written, out / f"{stem}.json", start, overlay=overlay)
        created.append(out / f"{stem}.json")
    except BaseException:
        # A file fails as a whole: no mask without its record, no half set of outputs.
        for leftover in created:
            try:
                leftover.unlink()
            except OSError:
                pass
        raise
    return main_path


def _write_outputs(result, data, main_path: Path, out: Path, stem: str, overlay: bool, created: list,
                   original=None, progress: ProgressCallback | None = None) -> None:
    from seglab.io import write

    if result.output in ("mask", "contour"):
        write(main_path, (data.astype(np.uint8) * 255))
    elif result.output == "labels":
        write(main_path, labels_for_file(data))
    else:
        write(main_path, data.astype(np.float32))
    created.append(main_path)
    image = result.image
    two_d = image is not None and image.ndim - has_channel_axis(image.shape) == 2
    if overlay and two_d and data.ndim == 2:
        try:
            from seglab.viz import overlay_for
        except ImportError:  # viz not installed in a minimal build: the mask itself is the product
            return
        overlay_path = out / f"{stem}.overlay.png"
        # Drawn on the original image (not the pre-processed one), reduced above 4096 px a side.
        from seglab.viz.display import MAX_DISPLAY_SIDE, display_stride

        shown = original if original is not None and np.shape(original)[:2] == data.shape else None
        step = display_stride(data.shape, MAX_DISPLAY_SIDE)
        if step > 1:
            emit(progress, Event("segment", item=stem, kind="note",
                                 message=f"{stem}: the overlay is drawn at 1/{step} size ({data.shape[1]} x "
                                         f"{data.shape[0]} px is over {MAX_DISPLAY_SIDE} px a side; the mask is "
                                         "full size); --no-overlay skips it"))
        write(overlay_path, overlay_for(result, image=shown, max_side=MAX_DISPLAY_SIDE))
        created.append(overlay_path)


def _write_record(path: Path, image, result, pipeline, written: dict, record_path: Path, start: float, *,
                  overlay: bool = True) -> None:
    from seglab._core.provenance import jsonable, versions
    from seglab.io import sha256_file, write_text_atomic

    record = {
        "input": str(path),
        "input_sha256": sha256_file(path),
        "input_shape": list(image.shape),
        "input_dtype": str(image.dtype),
        "output_kind": result.output,
        "files": written,
        "overlay": overlay,
        "method": pipeline.method.name,
        "params": jsonable(pipeline.method.params),
        "pre": [jsonable(s.to_dict()) for s in pipeline.pre],
        "post": [jsonable(s.to_dict()) for s in pipeline.post],
        "pipeline": jsonable(pipeline.to_dict()),
        "info": jsonable({k: v for k, v in result.info.items() if k != "pipeline"}),
        "extras": sorted(result.extras),
        "versions": versions(),
        "seconds": time.perf_counter() - start,
    }
    if "contour" in result.extras:
        record["contour"] = jsonable(result.extras["contour"])
    import json

    write_text_atomic(record_path, json.dumps(record, indent=2))
