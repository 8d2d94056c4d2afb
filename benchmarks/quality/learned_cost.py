"""U-Net inference cost per data set: megapixels per second and peak memory, one process per image.

Inference cost depends on the network (its channels and the window), not on its weights, so one trained model
times every data set of RESULTS.md: ``unet_instance`` (windows + seeded watershed) on the nuclei images, ``unet``
(windows + threshold) on NIH3T3, the KESM bottom half and an ISBI slice. A semantic model's network differs only
in its last 1x1 convolution (2 outputs instead of 3). Each image runs in its own process, so the peak memory
(RSS) is that of loading torch, the model and predicting that image; seconds are the median of 3 warm runs.
Run it under /work/notes/bin/quiet on this machine::

    python -m benchmarks.quality.learned_cost --model /tmp/unet_bench/model_nuclei1 --out /tmp/unet_cost

Data: ``../shared/data``; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"

#: name -> (method, how to read the image)
CASES = {
    "nuclei GOWT1 t52 (1024 x 1024)": ("unet_instance", lambda read: read(DATA / "nuclei/N2DH-GOWT1/img/t52.tif")),
    "nuclei HeLa t13 (700 x 1100)": ("unet_instance", lambda read: read(DATA / "nuclei/N2DL-HeLa/img/t13.tif")),
    "NIH3T3 dna-26 (1024 x 1344)": ("unet", lambda read: read(DATA / "nuclei/NIH3T3/img/dna-26.png")),
    "KESM bottom half (256 x 512)": ("unet", lambda read: read(DATA / "kesm/grayscale.png")[256:]),
    "ISBI 2012 slice 20 (512 x 512)": ("unet", lambda read: read(DATA / "isbi2012/train/image/20.png")),
}


def one(name: str, model: str) -> dict:
    """Time one case in this process (called in a child process by :func:`main`)."""
    import seglab

    method, load = CASES[name]
    image = load(seglab.read)
    if image.ndim == 3:
        image = image[..., 0]
    start = time.perf_counter()
    seglab.segment(image, method, model=model)  # cold: torch import, model load, frozen graph
    cold = time.perf_counter() - start
    times = []
    for _ in range(3):
        start = time.perf_counter()
        seglab.segment(image, method, model=model)
        times.append(time.perf_counter() - start)
    import torch

    seconds = float(np.median(times))
    return {"case": name, "method": method, "shape": list(image.shape), "cold_seconds": cold,
            "seconds": seconds, "runs": [round(t, 3) for t in times],
            "megapixels_per_second": image.size / seconds / 1e6, "threads": torch.get_num_threads(),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a U-Net model folder (instance model)")
    parser.add_argument("--out", default="/tmp/unet_cost")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one(args.one, args.model)))
        return 0
    if not DATA.exists():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    rows = []
    for name in CASES:
        load = os.getloadavg()
        done = subprocess.run([sys.executable, "-m", "benchmarks.quality.learned_cost", "--model", args.model,
                               "--one", name], capture_output=True, text=True, cwd=ROOT, check=True)
        row = {**json.loads(done.stdout.strip().splitlines()[-1]), "load_before": list(load),
               "load_after": list(os.getloadavg())}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "unet_inference.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
