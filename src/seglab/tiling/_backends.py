"""Executor backends behind one call: in-process (``"sync"``), threads, or a dask.distributed client.

:func:`make_client` starts a LocalCluster (one process per core, glibc malloc settings kept) or
connects to an existing scheduler; :func:`_execute` runs one pass's tasks on whichever backend the
run was given and reports progress, so the orchestration in ``_run`` never branches on the backend.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from distributed import Client, LocalCluster


def _call(function, *args):
    return function(*args)


# distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also switches off glibc's adaptive
# mmap threshold: every tile-sized array is then a fresh mmap that page-faults in (tile tasks ran 35 %
# slower, measured). Tiles are bounded, so keep them in the heap and trim only large free tops.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**26}
# distributed gives each single-threaded worker OMP/MKL/OpenBLAS_NUM_THREADS=1 so that n workers use n cores;
# OpenCV's own thread pool (pthreads, one thread per core) reads none of those, so two workers ran four
# threads in every parallel OpenCV call (connected components, median blur) on two cores. Same rule for it.
WORKER_THREADS = {"OPENCV_FOR_THREADS_NUM": 1}


# -- execution -------------------------------------------------------------------------------------
def make_client(*, workers: int | None = None, scheduler: str | None = None,
                processes: bool = True) -> tuple[Client, LocalCluster | None]:
    """A dask.distributed client: connect to `scheduler`, or start a LocalCluster (one worker per core).

    The one way seglab gets a cluster: the tiler, ``seglab tune`` and ``seglab compare`` all call it, so
    ``--scheduler`` / ``--workers`` mean the same everywhere (single-threaded workers, malloc settings kept).
    `processes=False` runs the workers as threads of this process (tests; methods registered at run time).

    Returns ``(client, cluster_or_None)``; close both when done (the cluster only if it was started here).
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        from seglab._core.errors import ParameterError

        raise ParameterError(f"`workers` must be an integer >= 1; got {str(workers)[:40]!r}")
    import logging

    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        from seglab._core.errors import MissingDependencyError

        raise MissingDependencyError('running on dask needs distributed: pip install "seglab[scale]"') from None

    if scheduler:
        return Client(scheduler), None
    import dask

    n = workers or os.cpu_count() or 1
    environ = {**WORKER_MALLOC, **WORKER_THREADS}
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
        # silence_logs: distributed's own lines ("Worker process still alive after 4.0 seconds, killing" when
        # the cluster closes) are not the user's business; errors still reach them through seglab's messages
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                               silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _execute(client, function, job, items, stage, progress, reduce=None, weights=None,
             batch_weight=None):
    """Run ``function(job, item)`` for every item; report progress; return results in item order.

    With `reduce`, each result is passed to ``reduce(result)`` as it arrives and not kept. `weights` (the
    work of each item, e.g. its tile's pixels) balance the contiguous runs of items given to each worker;
    on a cluster, `batch_weight` groups consecutive items of a run into tasks of about that much work.
    """
    total = len(items)
    results = [None] * total
    if reduce is not None:
        class _Fold(list):
            def __setitem__(self, position, value):
                reduce(value)

        results = _Fold(results)
    if progress:
        progress(stage, 0, total)
    if not items:
        return results
    if client in ("sync", None):
        for position, item in enumerate(items):
            results[position] = function(job, item)
            if progress:
                progress(stage, position + 1, total)
        return results
    if client == "threads":
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            futures = {pool.submit(function, job, item): position for position, item in enumerate(items)}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    results[futures[future]] = future.result()
                    if progress:
                        progress(stage, done, total)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results
    from distributed import as_completed

    # hash=False: a unique key per pass (re-scattering an equal job can race with the release of the old one)
    job_future = client.scatter(job, broadcast=True, hash=False)
    workers = sorted(client.scheduler_info().get("workers", {}))
    weights = list(weights) if weights is not None else [1] * total
    if len(workers) > 1 and total > len(workers):
        # contiguous runs of tiles per worker (a preference, not a pin): neighbours share halo chunks, which
        # a worker then decodes once (see _io.ChunkCache); interleaved tiles would decode them on both workers
        bounds = _balanced_bounds(weights, len(workers))
        runs = [(address, lo, hi) for address, (lo, hi) in zip(workers, itertools.pairwise(bounds))]
    else:
        runs = [(None, 0, total)]
    futures, batches = [], []
    for address, lo, hi in runs:
        # several tiles per task: each task costs the scheduler, which shares the cores with the workers,
        # a few ms (measured: 36 tasks of 20 ms on two workers took 0.45 s, 0.36 s of it work)
        parts = _batches(weights[lo:hi], batch_weight) if batch_weight else [(k, k + 1) for k in range(hi - lo)]
        for a, b in parts:
            batches.append((lo + a, lo + b))
        where = {"workers": [address], "allow_other_workers": True} if address is not None else {}
        # keys named after the tile function (dashboards, task streams), not after the batching wrapper
        futures += client.map(_batch, [function] * len(parts), [job_future] * len(parts),
                              [items[lo + a:lo + b] for a, b in parts], pure=False,
                              key=getattr(function, "__name__", "tiles").strip("_"), **where)
    positions = {future.key: position for position, future in enumerate(futures)}
    done = 0
    try:
        # results gathered by the event loop: one `future.result()` round trip per task cost the client ~5 ms each
        for future, batch_results in as_completed(futures, with_results=True):
            first, _ = batches[positions[future.key]]
            for offset, result in enumerate(batch_results):
                results[first + offset] = result
                done += 1
                if progress:
                    progress(stage, done, total)
    except BaseException:
        client.cancel(futures)
        raise
    return results


def _batch(function, job, items):
    """One task: `function(job, item)` for a run of neighbouring tiles, results in order."""
    return [function(job, item) for item in items]


def _batches(weights, budget) -> list[tuple[int, int]]:
    """Consecutive (start, stop) runs of `weights`, each at most `budget` in total (at least one item).

    The runs of one worker's share are about equal: a pass ends when its last task does, so a short
    tail task is better than one long one.
    """
    total = float(sum(weights))
    if not weights:
        return []
    count = max(1, min(len(weights), int(np.ceil(total / budget))))
    cuts = _balanced_bounds(weights, count)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _balanced_bounds(weights, n: int) -> list[int]:
    """Cut points splitting `weights` into `n` contiguous runs of nearly equal total weight.

    Each pass ends with a barrier, so the worker with the most work sets its time: with equal counts of
    tiles, the one holding the image's partial last row of tiles idles while the other finishes.
    """
    cumulative = np.cumsum(np.asarray(weights, float))
    total = cumulative[-1] if cumulative.size else 0.0
    cuts = [int(np.searchsorted(cumulative, total * k / n, side="left")) + 1 for k in range(1, n)]
    cuts = [min(max(c, 1), len(weights)) for c in cuts]
    return [0, *np.maximum.accumulate(cuts).tolist(), len(weights)]


def _run_thunk(_job, thunk):
    return thunk()


