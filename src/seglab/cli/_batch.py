"""Per-image work of ``seglab segment``: read, run, write outputs atomically, record provenance."""

from __future__ import annotations

import glob
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from seglab._core.errors import ImageReadError

OUTPUT_SUFFIX = {"mask": ".mask.png", "contour": ".mask.png", "labels": ".labels.tif", "edges": ".edges.tif",
                 "proba": ".proba.tif", "image": ".image.tif"}


def expand_inputs(items) -> list[Path]:
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


def load_inputs(spec_inputs: dict[str, Any], shape: tuple[int, ...]) -> dict[str, Any]:
    """Turn CLI input options (paths, strings) into the arrays a method takes."""
    from seglab.io import read

    loaded: dict[str, Any] = {}
    if spec_inputs.get("seeds"):
        loaded["seeds"] = read(spec_inputs["seeds"])
    elif spec_inputs.get("seeds_json"):
        from seglab.interactive.inputs import seeds_from_json

        loaded["seeds"] = seeds_from_json(spec_inputs["seeds_json"], shape)
    if spec_inputs.get("contour"):
        from seglab.interactive.inputs import parse_contour

        loaded["contour"] = parse_contour(spec_inputs["contour"])
    if spec_inputs.get("rect"):
        from seglab.interactive.inputs import parse_rect

        loaded["rect"] = parse_rect(spec_inputs["rect"])
    if spec_inputs.get("markers"):
        loaded["markers"] = read(spec_inputs["markers"])
    return loaded


def labels_for_file(labels: np.ndarray) -> np.ndarray:
    """Smallest unsigned dtype that holds the labels (uint16 or uint32)."""
    top = int(labels.max()) if labels.size else 0
    return labels.astype(np.uint16 if top < 2**16 else np.uint32)


def segment_one(path: Path, pipeline, out: Path, spec_inputs: dict[str, Any], *, overlay: bool = True) -> Path:
    """Segment one file and write its outputs; return the main output's path."""
    from seglab.io import read

    start = time.perf_counter()
    image = read(path)
    spatial_shape = image.shape[:2] if image.ndim == 3 and image.shape[-1] in (3, 4) else image.shape
    method_spec = pipeline.method.spec
    wanted = set(method_spec.inputs) | set(method_spec.optional_inputs)
    inputs = {k: v for k, v in load_inputs(spec_inputs, spatial_shape).items() if k in wanted}
    result = pipeline.run(image, **inputs)
    stem = _stem(path)
    data = result.data
    suffix = OUTPUT_SUFFIX[result.output]
    if suffix.endswith(".png") and data.ndim != 2:
        suffix = suffix[: -len(".png")] + ".tif"  # a PNG holds one 2-D plane; stacks go to multi-page TIFF
    main_path = out / (stem + suffix)
    created: list[Path] = []
    try:
        _write_outputs(result, data, main_path, out, stem, overlay, created, original=image)
        written = {"output": main_path.name}
        if len(created) > 1:
            written["overlay"] = created[1].name
        _write_record(path, image, result, pipeline, written, out / f"{stem}.json", start)
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
                   original=None) -> None:
    from seglab.io import write

    if result.output in ("mask", "contour"):
        write(main_path, (data.astype(np.uint8) * 255))
    elif result.output == "labels":
        write(main_path, labels_for_file(data))
    else:
        write(main_path, data.astype(np.float32))
    created.append(main_path)
    image = result.image
    two_d = image is not None and (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3))
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
            import click

            click.echo(f"seglab: note: {stem}: the overlay is drawn at 1/{step} size ({data.shape[1]} x "
                       f"{data.shape[0]} px is over {MAX_DISPLAY_SIDE} px a side; the mask is full size); "
                       "--no-overlay skips it", err=True)
        write(overlay_path, overlay_for(result, image=shown, max_side=MAX_DISPLAY_SIDE))
        created.append(overlay_path)


def _write_record(path: Path, image, result, pipeline, written: dict, record_path: Path, start: float) -> None:
    from seglab._core.provenance import jsonable, versions
    from seglab.io import sha256_file, write_text_atomic

    record = {
        "input": str(path),
        "input_sha256": sha256_file(path),
        "input_shape": list(image.shape),
        "input_dtype": str(image.dtype),
        "output_kind": result.output,
        "files": written,
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
