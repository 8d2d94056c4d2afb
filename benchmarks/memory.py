"""Peak temporary memory of every registered method, in units of one full-size float64 image.

``python -m benchmarks.memory [--size 512,1024]`` runs each method (through ``seglab.segment``, default parameters,
user inputs generated) on a seeded ``size x size`` uint8 image under ``tracemalloc`` (NumPy reports its
allocations to it; OpenCV's C++ buffers are not traced, so cv2-backed paths read low) and rewrites the generated
section of ``benchmarks/MEMORY.md`` (between the marker comments ``BEGIN`` and ``END``), keeping the dated sections
around it; ``--only a,b`` prints rows and writes nothing. ``--sweep [--size 512] [--only a,b]`` measures
every method of ours beyond its defaults (other dtypes, colour, a volume, the corners of its tune range; see
:func:`sweep_variants`) and prints one row each, writing nothing. The issue's policy: no method whose code we own makes
more than two full-size float64 temporaries.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from ._harness import synthetic_inputs

HERE = Path(__file__).resolve().parent


def measure(size: int, only: set[str] | None = None) -> list[dict]:
    import seglab
    from seglab._core.registry import all_specs

    image, _ = seglab.data.blobs((size, size), n_blobs=30, seed=5)
    unit = image.size * 8  # one float64 image
    rows = []
    for spec in all_specs():
        if spec.kind != "method" or (only and spec.name not in only):
            continue
        data = image if spec.channels != "color" else np.stack([image, image[::-1], image[:, ::-1]], axis=-1)
        inputs = synthetic_inputs(spec, image.shape)
        try:  # one untraced run first: first-call imports and caches are not the method's temporaries
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seglab.segment(data, spec.name, **inputs)
        except Exception:  # noqa: BLE001 - the traced run below reports it
            pass
        gc.collect()
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = seglab.segment(data, spec.name, **inputs)
            _, peak = tracemalloc.get_traced_memory()
            # Outputs (the result and its extra arrays, e.g. Sobel's orientation) are not temporaries.
            out_bytes = result.data.nbytes + sum(a.nbytes for a in result.extras.values())
            error = ""
        except Exception as exc:  # report, do not hide
            _, peak = tracemalloc.get_traced_memory()
            out_bytes, error = 0, f"{type(exc).__name__}: {exc}"
        finally:
            tracemalloc.stop()
        temporaries = max(peak - out_bytes, 0) / unit
        rows.append({"method": spec.name, "family": spec.family, "peak_mb": peak / 2**20,
                     "float64_images": temporaries, "error": error})
    return rows


class _TimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise _TimeLimit


def _trace(call, limit: int = 0) -> tuple[object, int, str]:
    """(result, traced peak bytes, error text) of ``call()``, traced on a second call (the first is warm-up).

    `limit` > 0 (seconds, main thread, POSIX): a warm-up call still running then is stopped (at its next Python
    line) and reported as an error instead of being traced (tracemalloc slows a Python loop down many times).
    """
    import signal

    try:  # one untraced run first: first-call imports and caches are not the method's temporaries
        if limit:
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(limit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except _TimeLimit:
        return None, 0, f"not measured: the warm-up call ran over {limit} s"
    except Exception:  # noqa: BLE001 - the traced run below reports it
        pass
    finally:
        if limit:
            signal.alarm(0)
    gc.collect()
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
        _, peak = tracemalloc.get_traced_memory()
        error = ""
    except Exception as exc:  # report, do not hide
        _, peak = tracemalloc.get_traced_memory()
        result, error = None, f"{type(exc).__name__}: {exc}"
    finally:
        tracemalloc.stop()
    return result, peak, error


def sweep_variants(spec, size: int) -> list[tuple[str, np.ndarray, dict, dict]]:
    """(label, data, params, user inputs) of the sweep: dtypes, colour, a volume and the tune range's corners.

    2-D inputs are the seeded ``size x size`` blobs image in uint8 (the default row), uint16 (x 257), int16
    (- 128, x 200), float32 / float64 (/ 255: as few distinct values as the uint8 image), float32 and float64
    with Gaussian noise (every value distinct, e.g. k-means' general path), and bool (> 127); an RGB image where
    the method takes colour; a ``size/32 x size/4 x size/4`` volume (as many voxels as the 2-D image has pixels)
    in uint8 and float32 where it takes 3-D; each corner of the tune range (``benchmarks.sweep.corners``) on uint8.
    """
    import seglab

    from .sweep import corners

    image, _ = seglab.data.blobs((size, size), n_blobs=30, seed=5)
    noise = np.random.default_rng(0).normal(0.0, 2.0, image.shape)
    gray = [("uint8", image), ("uint16", image.astype(np.uint16) * 257),
            ("int16", (image.astype(np.int16) - 128) * 200), ("float32", (image / 255).astype(np.float32)),
            ("float64", image / 255), ("float32 noisy", (image + noise).astype(np.float32)),
            ("float64 noisy", image + noise), ("bool", image > 127)]
    base = synthetic_inputs(spec, image.shape)
    variants: list[tuple[str, np.ndarray, dict, dict]] = []
    if spec.channels != "color":
        variants += [(label, data, {}, base) for label, data in gray]
    if spec.channels in ("color", "any"):
        rgb = np.stack([image, image[::-1], image[:, ::-1]], axis=-1)
        variants += [("rgb uint8", rgb, {}, base), ("rgb float32", (rgb / 255).astype(np.float32), {}, base)]
    if 3 in spec.dims and spec.channels != "color":
        side = max(size // 4, 8)
        planes = max(size // 32, 2)
        volume = np.stack([seglab.data.blobs((side, side), n_blobs=4, seed=p)[0] for p in range(planes)])
        inputs = {}
        if "seeds" in spec.inputs:
            seeds = np.zeros(volume.shape, np.int32)
            seeds[planes // 2, side // 2 - 3: side // 2 + 3, side // 2 - 3: side // 2 + 3] = 1
            seeds[:, :2, :2] = 2
            inputs["seeds"] = seeds
        variants += [("volume uint8", volume, {}, inputs), ("volume float32", volume.astype(np.float32), {}, inputs)]
    first = variants[0][1] if spec.channels == "color" else image
    variants += [(f"uint8 {label}", first, params, base) for label, params in corners(spec) if params]
    return variants


def sweep(size: int, only: set[str] | None = None, progress=None, limit: int = 30) -> list[dict]:
    """Every method of ours (not :data:`OUTSIDE_POLICY`) on :func:`sweep_variants`, measured as :func:`measure`.

    ``float64 images`` is the traced peak minus the output, in float64 images of the variant's spatial size.
    A variant the method refuses (e.g. bool where it wants numbers) is reported with its error.
    """
    from seglab import Pipeline
    from seglab._core.registry import all_specs

    rows = []
    for spec in all_specs():
        if spec.kind != "method" or spec.name in OUTSIDE_POLICY or (only and spec.name not in only):
            continue
        if any(p.default is None and p.name == "model" for p in spec.params):
            continue  # needs a trained model folder (unet, pixel_classifier): not measurable here
        for label, data, params, inputs in sweep_variants(spec, size):
            pipeline = Pipeline.build(spec.name, params)
            result, peak, error = _trace(lambda: pipeline.run(data, **inputs), limit=limit)
            out_bytes = 0 if result is None else (
                result.data.nbytes + sum(a.nbytes for a in result.extras.values()))
            spatial = data.shape[:-1] if label.startswith("rgb") else data.shape
            unit = int(np.prod(spatial)) * 8
            row = {"method": spec.name, "variant": label, "peak_mb": peak / 2**20,
                   "float64_images": max(peak - out_bytes, 0) / unit, "error": error}
            rows.append(row)
            if progress:
                progress(row)
    return rows


# Methods whose heavy work is one call into a library we do not own: their temporaries are that library's, so
# the policy (which is about code we can change) does not apply. The table says so instead of "no".
OUTSIDE_POLICY = {
    "felzenszwalb": "one skimage.segmentation.felzenszwalb call",
    "quickshift": "one skimage.segmentation.quickshift call",
    "slic": "one skimage.segmentation.slic call",
    "active_contour": "skimage.filters.gaussian + one skimage.segmentation.active_contour call",
    "morphological_chan_vese": "one skimage.segmentation.morphological_chan_vese call",
    "morphological_geodesic_active_contour":
        "skimage.segmentation.inverse_gaussian_gradient + morphological_geodesic_active_contour",
    "random_walker": "default mode='bf': skimage.segmentation.random_walker's direct solver",
    "box_mean": "the example plugin under tests/plugins, not seglab's code",
}

# Inputs on which one of our methods hands the whole work to one library call (the sweep says so instead of
# "over"): (method, sweep variant) -> whose temporaries they are.
OUTSIDE_POLICY_INPUTS = {
    ("kmeans", "float32 noisy"): "scikit-learn's KMeans on the float64 features (> 1024 distinct values); ours: "
                                 "the one float64 copy",
    ("kmeans", "float64 noisy"): "scikit-learn's KMeans on the float64 features (> 1024 distinct values); ours: "
                                 "the one float64 copy",
    ("kmeans", "rgb float32"): "scikit-learn's KMeans on the float64 (n, 3) features; ours: the float64 copy",
    ("li", "float32 noisy"): "one skimage.filters.threshold_li call (float images)",
    ("li", "float64"): "one skimage.filters.threshold_li call (float images)",
    ("li", "float64 noisy"): "one skimage.filters.threshold_li call (float images)",
}

# The full run rewrites only the text between these markers; the dated sections around them are kept.
BEGIN = "<!-- memory.py full table: generated by `python -m benchmarks.memory`, edits here are overwritten -->"
END = "<!-- /memory.py full table -->"


def verdict(name: str, values: list[float], error: str) -> str:
    """The last column: within the policy at every size, over it, outside it (whose reason) or an error."""
    if error:
        return "error: " + error
    if all(v <= 2.0 for v in values):
        return "yes"
    if name in OUTSIDE_POLICY:
        return f"outside the policy ({OUTSIDE_POLICY[name]})"
    return "**no**"


def render_section(rows_by_size: dict[int, list[dict]], stamp: str) -> str:
    """Markdown of the full table: one row per method, one `float64 images` column per size."""
    sizes = sorted(rows_by_size)
    by_method: dict[str, dict[int, dict]] = {}
    for size in sizes:
        for row in rows_by_size[size]:
            by_method.setdefault(row["method"], {})[size] = row
    names = " and ".join(f"{s}x{s}" for s in sizes)
    lines = [
        BEGIN,
        f"## Full table ({stamp})",
        "",
        f"Input: seeded {names} uint8 images (`seglab.data.blobs`), default parameters, through `seglab.segment`, "
        "traced on a second call (the first pays imports and caches). `float64 images` = (traced peak - output "
        "bytes, extras included) / (one float64 image of the input's size). tracemalloc sees NumPy allocations, "
        "not OpenCV's C++ buffers, so cv2-backed paths read low. Policy: <= 2 at every size, for code we own.",
        "",
        "| family | method | " + " | ".join(f"peak MiB {s}" for s in sizes) + " | "
        + " | ".join(f"float64 images {s}" for s in sizes) + " | within policy |",
        "|---|---|" + "---|" * (2 * len(sizes) + 1),
    ]
    over, outside = [], []
    for name, per_size in sorted(by_method.items(), key=lambda kv: (next(iter(kv[1].values()))["family"], kv[0])):
        cells = [per_size.get(s) for s in sizes]
        first = next(c for c in cells if c is not None)
        error = next((c["error"] for c in cells if c is not None and c["error"]), "")
        values = [c["float64_images"] for c in cells if c is not None]
        peaks = " | ".join("-" if c is None else f"{c['peak_mb']:.1f}" for c in cells)
        images = " | ".join("-" if c is None else f"{c['float64_images']:.2f}" for c in cells)
        ok = verdict(name, values, error)
        lines.append(f"| {first['family']} | {name} | {peaks} | {images} | {ok} |")
        if ok == "**no**":
            over.append(name)
        elif ok.startswith("outside"):
            outside.append(name)
    lines += ["", f"Over the policy (code we own): {', '.join(over) if over else 'none'}.",
              f"Outside the policy (a library's single call): {', '.join(outside) if outside else 'none'}.", END]
    return "\n".join(lines)


def update_document(old: str | None, section: str) -> str:
    """Return ``old`` with its generated section replaced by ``section`` (appended when it has none).

    Everything outside the markers (the dated, hand-written sections) is kept as it was.
    """
    if old is None:
        return "# Peak temporary memory per method\n\n" + section + "\n"
    begin, end = old.find(BEGIN), old.find(END)
    if begin < 0 or end < begin:
        return old.rstrip("\n") + "\n\n" + section + "\n"
    return old[:begin] + section + old[end + len(END):]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="512,1024", help="image side(s), comma-separated (default 512,1024)")
    parser.add_argument("--out", default=str(HERE / "MEMORY.md"))
    parser.add_argument("--only", default="", help="comma-separated method names: print their rows, write nothing")
    parser.add_argument("--sweep", action="store_true",
                        help="measure every method of ours beyond its defaults (dtypes, colour, volume, tune "
                             "corners; see sweep_variants) and print the rows; writes nothing")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in str(args.size).split(",") if s.strip()]
    if args.sweep:
        over = []

        def show(row):
            flag = "" if row["error"] or row["float64_images"] <= 2.0 else "  **over**"
            reason = OUTSIDE_POLICY_INPUTS.get((row["method"], row["variant"]))
            if flag and reason:
                row["error"] = f"outside the policy: {reason}"
                flag = ""
            print(f"{row['method']:<24} {row['variant']:<40} {row['float64_images']:6.2f}{flag} "
                  f"{row['error'][:100]}", flush=True)
            if flag:
                over.append(row)

        for size in sizes:
            sweep(size, set(args.only.split(",")) if args.only else None, progress=show)
        print("over the policy:", ", ".join(f"{r['method']} ({r['variant']}: {r['float64_images']:.2f})"
                                            for r in over) or "none")
        return 0
    if args.only:
        for size in sizes:
            for row in measure(size, set(args.only.split(","))):
                print(f"{size}x{size} {row['method']}: peak {row['peak_mb']:.1f} MiB, "
                      f"{row['float64_images']:.2f} float64 images {row['error']}")
        return 0
    rows_by_size = {size: measure(size) for size in sizes}
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = Path(args.out)
    old = out.read_text() if out.exists() else None
    out.write_text(update_document(old, render_section(rows_by_size, stamp)))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
