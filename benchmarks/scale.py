"""Scale benchmark for the tiler: exactness, bounded memory, throughput, worker speed-up, a 3-D stack.

    python -m benchmarks.scale [--quick] [--out benchmarks/SCALE.md]

Run the full version under ``flock /tmp/seglab-heavy.lock`` on a quiet machine. ``--quick`` uses small sizes
(for the test suite: no timing claims). Peak RSS is sampled every 20 ms over this process and all its
children (the LocalCluster's worker processes), summed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


class TreeRSS:
    """Peak of the summed RSS of this process and all its descendants.

    The list of descendants is refreshed every `refresh` seconds, their RSS read every `interval`: listing
    them walks every process of the machine (~2 ms here), which at 50 Hz took ~6 % of a core from the
    timed run, and with two workers on two cores that core is theirs (2-worker mask run 0.48 -> 0.51 s,
    measured). The workers of a run exist before it starts, so the peak is the same.
    """

    def __init__(self, interval=0.02, refresh=0.5):
        import psutil

        self.process = psutil.Process()
        self.interval, self.refresh = interval, refresh
        self.peak = 0
        self._procs, self._listed = [self.process], float("-inf")

    def _total(self):
        import psutil

        if time.monotonic() - self._listed >= self.refresh:
            self._procs = [self.process] + self.process.children(recursive=True)
            self._listed = time.monotonic()
        total = 0
        for proc in self._procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def __enter__(self):
        self._stop = threading.Event()
        self.peak = self.start = self._total()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self):
        return self.peak / 2**20

    @property
    def start_mb(self):
        return self.start / 2**20


def synthetic(shape, seed=0, strip=2048):
    """Seeded bright blobs of many sizes on a noisy background, built strip by strip (uint8)."""
    gen = np.random.default_rng(seed)
    rows, cols = shape
    n = max(8, rows * cols // 40000)
    centers = np.stack([gen.uniform(0, rows, n), gen.uniform(0, cols, n), gen.choice([3, 6, 12, 30], n)], 1)
    out = np.empty(shape, np.uint8)
    for r0 in range(0, rows, strip):
        r1 = min(rows, r0 + strip)
        rr, cc = np.mgrid[r0:r1, 0:cols]
        mask = np.zeros((r1 - r0, cols), bool)
        near = centers[(centers[:, 0] > r0 - 40) & (centers[:, 0] < r1 + 40)]
        for r, c, rad in near:
            c0, c1 = int(max(0, c - rad - 1)), int(min(cols, c + rad + 2))
            sub = (rr[:, c0:c1] - r) ** 2 + (cc[:, c0:c1] - c) ** 2 <= rad**2
            mask[:, c0:c1] |= sub
        noise = gen.normal(0, 20, mask.shape)
        out[r0:r1] = np.clip(np.where(mask, 150, 70) + noise, 0, 255).astype(np.uint8)
    return out


def write_tiff(path, image, tile=512):
    import tifffile

    tifffile.imwrite(path, image, tile=(tile, tile), compression="zlib", bigtiff=image.nbytes > 2**31)


def in_memory(path, pipeline, out):
    """What a user does without the tiler: read whole, run, write the same zarr output."""
    import tifffile
    import zarr

    image = tifffile.imread(path)
    data = pipeline.run(image, channel_axis=None).data
    if data.dtype == np.int64:
        data = data.astype(np.int32)
    zarr.create_array(store=str(out), data=data, chunks=(2048,) * data.ndim, overwrite=True)
    return data


def time_in_memory(src, pipeline, ref, repeat):
    """Median seconds, all seconds and peak RSS MB of `repeat` timed in-memory runs (each writes `ref`)."""
    times, peak = [], 0.0
    for _ in range(repeat):
        with TreeRSS() as rss:
            start = time.perf_counter()
            in_memory(src, pipeline, ref)
            times.append(time.perf_counter() - start)
        peak = max(peak, rss.peak_mb)
    return float(np.median(times)), times, peak


def _load(path):
    """The in-memory result, read back only to compare (not held while the tiler's memory is measured)."""
    import zarr

    return zarr.open_array(str(path), mode="r")[:]


def equal(pipeline, a, b):
    a, b = np.asarray(a), np.asarray(b)
    if pipeline.output != "labels":
        return bool(np.array_equal(a, b))
    if not np.array_equal(a == 0, b == 0) or a.max() != b.max():
        return False
    fg = a != 0
    # a one-to-one map between labels: the number of distinct (a, b) pairs equals the number of labels
    pairs = np.unique(a[fg].astype(np.int64) * (int(b.max()) + 1) + b[fg])
    return pairs.size == len(np.unique(a[fg])) == len(np.unique(b[fg]))


def _warm():
    """Import what the tile tasks use (as the in-memory reference is timed with its imports done)."""
    import cv2  # noqa: F401
    import skimage.filters  # noqa: F401
    import tifffile  # noqa: F401
    import zarr  # noqa: F401

    import seglab.tiling._run  # noqa: F401


def tiled(path, pipeline, out, chunk, workers, warm=True, repeat=1):
    """Run the tiler on a fresh LocalCluster; with `warm`, time runs after a first untimed one (as in-memory).

    Returns ``(array, median seconds, all seconds, peak RSS MB over the timed runs)``.
    """
    from seglab.tiling import run_tiled
    from seglab.tiling._run import make_client

    client, cluster = make_client(workers=workers)  # the LocalCluster `seglab tile --workers N` starts
    times, peak = [], 0.0
    with cluster, client:
        client.run(_warm)
        if warm:
            run_tiled(path, pipeline, out, chunk=chunk, client=client)
        for _ in range(repeat):
            shutil.rmtree(out, ignore_errors=True)
            with TreeRSS() as rss:
                start = time.perf_counter()
                array = run_tiled(path, pipeline, out, chunk=chunk, client=client)
                times.append(time.perf_counter() - start)
            peak = max(peak, rss.peak_mb)
    return array, float(np.median(times)), times, peak


def _tiled_child(connection, args):
    import warnings

    warnings.simplefilter("ignore")
    _, seconds, _, peak = tiled(*args, warm=False)
    connection.send((seconds, peak))
    connection.close()


def tiled_in_child(path, pipeline, out, chunk, workers):
    """`tiled` (one cold run) in a fresh client process; return ``(seconds, peak RSS MB)``."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_tiled_child, args=(send, (path, pipeline, out, chunk, workers)))
    child.start()
    seconds, peak = receive.recv()
    child.join()
    return seconds, peak


def _build_mosaic(src, big, shape, chunk):
    """2 x 2 copies of the slice as a zarr array (run in a child process: the parent's heap stays small)."""
    import tifffile
    import zarr

    single = tifffile.imread(src)
    mosaic = zarr.create_array(store=str(big), shape=(2 * shape[0], 2 * shape[1]), chunks=(chunk, chunk),
                               dtype=np.uint8, overwrite=True)
    for i in range(2):
        for j in range(2):
            mosaic[i * shape[0]:(i + 1) * shape[0], j * shape[1]:(j + 1) * shape[1]] = single


def _spread(times):
    return f"{min(times):.2f}-{max(times):.2f}" if len(times) > 1 else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).with_name("SCALE.md")))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--planes", type=int, default=64)
    parser.add_argument("--no-stack", action="store_true", help="skip the 3-D stack (its run takes minutes)")
    parser.add_argument("--stack-only", action="store_true", help="only the 3-D stack")
    parser.add_argument("--no-split", action="store_true", help="skip split_touching (its in-memory run takes minutes)")
    parser.add_argument("--split-only", action="store_true", help="only split_touching (and no 3-D stack)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case (median; default 3, quick 1)")
    parser.add_argument("--only", default=None, help="only the pipelines whose name contains this (e.g. label)")
    parser.add_argument("--no-mosaic", action="store_true", help="skip the 4x mosaic (memory vs size)")
    parser.add_argument("--chunk", type=int, default=None, help="tile size (default 2048, quick 256)")
    args = parser.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")
    from seglab import Pipeline, list_steps

    args.repeat = args.repeat or (1 if args.quick else 3)
    shape = (1748, 803) if args.quick else (17480, 8026)
    chunk = args.chunk or (256 if args.quick else 2048)
    stack_shape = (4, 512, 512) if args.quick else (args.planes, 4096, 4096)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="seglab-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows, sections = [], []
    lines = [f"# Tiling scale benchmark{' (quick: small sizes, numbers not meaningful)' if args.quick else ''}", "",
             f"Machine: {os.cpu_count()} cores; input {shape[0]} x {shape[1]} uint8 (seeded synthetic blobs, "
             f"tiled zlib TIFF); chunk {chunk}. Peak RSS = this process + all worker processes, summed, "
             "sampled every 20 ms. 'in-memory' reads the whole TIFF, runs `Pipeline.run`, writes the same "
             "zarr output. 'tiled' = `run_tiled` on the LocalCluster `seglab tile --workers N` starts (cluster "
             f"start-up not timed, workers' imports done). Both: median of {args.repeat} timed runs after one "
             "untimed warm-up run, except split_touching and the 3-D stack (one cold run each).", ""]
    try:
        if not args.stack_only:
            src = work / f"slice-{shape[0]}x{shape[1]}.tif"
            if not src.exists():  # kept between calls with --workdir (the same seeded image)
                image = synthetic(shape)
                write_tiff(src, image)
                del image
            label = "label" if "label" in list_steps("post") else None
            pipelines = {
                "invert -> median 3 -> otsu": Pipeline.build("otsu", pre=["invert", ("median", {"size": 3})]),
            }
            if label:
                pipelines["otsu -> label"] = Pipeline.build("otsu", post=[label])
            if args.only:
                pipelines = {k: v for k, v in pipelines.items() if args.only in k}
            split = "split_touching" if "split_touching" in list_steps("post") and not args.no_split else None
            lines += ["| pipeline | run | median s | range s | MP/s | peak RSS MB | equal to in-memory |",
                      "|---|---|---|---|---|---|---|"]
            mp = shape[0] * shape[1] / 1e6
            if not args.split_only:
                for name, pipeline in pipelines.items():
                    in_memory(src, pipeline, work / "ref.zarr")  # warm-up: imports and first-touch, not timed
                    mem_s, mem_times, mem_peak = time_in_memory(src, pipeline, work / "ref.zarr", args.repeat)
                    lines.append(f"| {name} | in-memory | {mem_s:.2f} | {_spread(mem_times)} | {mp / mem_s:.1f} | "
                                 f"{mem_peak:.0f} | (reference) |")
                    for workers in (1, 2):
                        out = work / f"tiled-{workers}.zarr"
                        shutil.rmtree(out, ignore_errors=True)
                        array, seconds, times, peak = tiled(src, pipeline, out, chunk, workers, repeat=args.repeat)
                        same = equal(pipeline, array[:], _load(work / "ref.zarr"))
                        lines.append(f"| {name} | tiled, {workers} worker(s) | {seconds:.2f} | {_spread(times)} | "
                                     f"{mp / seconds:.1f} | {peak:.0f} | {same} |")
                        rows.append((name, workers, seconds, peak, same))
                        shutil.rmtree(out, ignore_errors=True)
                    print("\n".join(lines[-3:]), flush=True)
            if not args.split_only and not args.no_mosaic:
                # a 4x larger mosaic (2 x 2 copies): memory must not grow with the image
                import multiprocessing

                import psutil

                big = work / "mosaic.zarr"

                builder = multiprocessing.get_context("spawn").Process(target=_build_mosaic, args=(src, big, shape, chunk))
                builder.start()
                builder.join()
                pipeline = pipelines["invert -> median 3 -> otsu"]
                out = work / "mosaic-out.zarr"
                # 1x and 4x back to back, so the client process is in the same state for both
                sizes = []
                for label_, path_ in ((f"{shape[0]} x {shape[1]}", src), (f"{2 * shape[0]} x {2 * shape[1]} (4x)", big)):
                    client_mb = psutil.Process().memory_info().rss / 2**20
                    _, seconds, _, peak = tiled(path_, pipeline, out, chunk, 2)
                    sizes.append(f"| {label_} | {seconds:.2f} | {peak:.0f} | {client_mb:.0f} |")
                    shutil.rmtree(out, ignore_errors=True)
                sections += ["", "## Memory vs image size (invert -> median 3 -> otsu, 2 workers)", "",
                             "| input | seconds | peak RSS MB | client RSS before MB |", "|---|---|---|---|"] + sizes
                print("\n".join(sections[-2:]), flush=True)
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(big, ignore_errors=True)
            if split:
                # exact by ownership of whole objects: each component is split from its own pixels, tiles read a
                # halo of max_object_size (default 256) and warn (StitchWarning) when an object reaches it
                from seglab.tiling import StitchWarning

                name, pipeline = "otsu -> split_touching", Pipeline.build("otsu", post=[split])
                # tiled first: the in-memory run (~10 GB) leaves this process's heap large, which the summed
                # RSS of the tiled run would otherwise count
                out = work / "split.zarr"
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", StitchWarning)
                    # in a fresh process, as `seglab tile` runs: this one's heap still holds the earlier runs
                    seconds, peak = tiled_in_child(src, pipeline, out, chunk, 2)
                    import zarr

                    array = zarr.open_array(str(out), mode="r")
                mem_s, _, mem_peak = time_in_memory(src, pipeline, work / "ref.zarr", 1)
                lines.append(f"| {name} | in-memory | {mem_s:.1f} |  | {mp / mem_s:.1f} | {mem_peak:.0f} | (reference) |")
                same = equal(pipeline, array[:], _load(work / "ref.zarr"))
                note = " (StitchWarning: an object reached the halo)" if any(
                    issubclass(w.category, StitchWarning) for w in caught) else ""
                lines.append(f"| {name} | tiled, 2 worker(s) | {seconds:.1f} |  | {mp / seconds:.1f} | {peak:.0f} | "
                             f"{same}{note} |")
                rows.append((name, 2, seconds, peak, same))
                shutil.rmtree(out, ignore_errors=True)
                print("\n".join(lines[-2:]), flush=True)
        # 3-D stack with bounded memory
        if not args.no_stack and not args.split_only:
            import zarr

            stack = work / "stack.zarr"
            z = zarr.create_array(store=str(stack), shape=stack_shape, chunks=(1,) + stack_shape[1:], dtype=np.uint8,
                                  overwrite=True)
            plane = synthetic(stack_shape[1:], seed=1)
            for k in range(stack_shape[0]):
                z[k] = np.roll(plane, 13 * k, axis=1)
            del plane
            pipeline3 = Pipeline.build("otsu", pre=[("median", {"size": 3})])
            out = work / "stack-out.zarr"
            chunk3 = (16, 1024, 1024) if not args.quick else (2, 256, 256)
            array, seconds, _, peak = tiled(stack, pipeline3, out, chunk3, 2, warm=False)
            gb = np.prod(stack_shape) / 2**30
            sections += ["", "## 3-D stack (median 3 (3-D) -> otsu, 2 workers)", "",
                      f"{stack_shape[0]} x {stack_shape[1]} x {stack_shape[2]} uint8 = {gb:.2f} GiB, chunk {chunk3}: "
                      f"{seconds:.1f} s, peak RSS {peak:.0f} MB."]
            if args.quick:
                reference = pipeline3.run(zarr.open_array(str(stack), mode="r")[:], channel_axis=None).data
                sections.append(f"Equal to in-memory: {bool(np.array_equal(array[:], reference))}.")
            print(sections[-1], flush=True)
        if len(rows) >= 2:
            sections += ["", "## Speed-up", ""]
            for name in pipelines:
                one = next((r for r in rows if r[0] == name and r[1] == 1), None)
                two = next((r for r in rows if r[0] == name and r[1] == 2), None)
                if one is None or two is None:
                    continue
                sections.append(f"- {name}: 2 workers vs 1: {one[2] / two[2]:.2f}x")
    finally:
        if args.workdir:  # keep the input for the next call; remove the outputs
            for path in work.iterdir():
                if path.suffix != ".tif":
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
        else:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text("\n".join(lines + sections) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r[4] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
