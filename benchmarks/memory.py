"""Peak temporary memory of every registered method, in units of one full-size float64 image.

``python -m benchmarks.memory [--size 1024]`` runs each method (through ``seglab.segment``, default parameters,
user inputs generated) on a seeded ``size x size`` uint8 image under ``tracemalloc`` (NumPy reports its
allocations to it; OpenCV's C++ buffers are not traced, so cv2-backed paths read low) and writes
``benchmarks/MEMORY.md``. The issue's policy: no method makes more than two full-size float64 temporaries.
"""

from __future__ import annotations

import argparse
import gc
import sys
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--out", default=str(HERE / "MEMORY.md"))
    parser.add_argument("--only", default="", help="comma-separated method names: print their rows, write nothing")
    args = parser.parse_args(argv)
    if args.only:
        for row in measure(args.size, set(args.only.split(","))):
            print(f"{row['method']}: peak {row['peak_mb']:.1f} MiB, {row['float64_images']:.2f} float64 images "
                  f"{row['error']}")
        return 0
    rows = measure(args.size)
    lines = [
        "# Peak temporary memory per method",
        "",
        f"Input: seeded {args.size}x{args.size} uint8 image (`seglab.data.blobs`), default parameters, through "
        "`seglab.segment`, traced on a second call (the first pays imports and caches). `float64 images` = "
        "(traced peak - output bytes, extras included) / (one float64 image of the input's size). "
        "tracemalloc sees NumPy allocations, not OpenCV's C++ buffers, so cv2-backed paths read low. Policy: <= 2.",
        "",
        "| family | method | peak MiB | float64 images | within policy |",
        "|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["family"], r["method"])):
        ok = "error: " + row["error"] if row["error"] else ("yes" if row["float64_images"] <= 2.0 else "**no**")
        lines.append(f"| {row['family']} | {row['method']} | {row['peak_mb']:.1f} | {row['float64_images']:.2f} "
                     f"| {ok} |")
    over = [r["method"] for r in rows if r["float64_images"] > 2.0 and not r["error"]]
    lines += ["", f"Over the policy: {', '.join(over) if over else 'none'}."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
