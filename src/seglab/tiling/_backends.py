"""Executor backends behind one call: in-process (``"sync"``), threads, or a dask.distributed client.

:func:`make_client` starts a LocalCluster (one process per core, glibc malloc settings kept) or
connects to an existing scheduler; :func:`_execute` runs one pass's tasks on whichever backend the
run was given and reports progress, so the orchestration in ``_run`` never branches on the backend.
On a cluster, the tiler's passes run as one long task per worker thread that claims its tiles itself
(:func:`_claimed_pass`); other passes go out as tasks of a few tiles (the guided dispatch, :class:`_Guided`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
import uuid
from pathlib import Path
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

    import dask

    if scheduler:
        # Client() makes itself dask's default scheduler before it connects and leaves that behind when the
        # connection fails: every later dask.compute of the process would then ask for a client that is not there
        before = {key: dask.config.get(key, None) for key in ("scheduler", "shuffle")}
        previous = _default_client()
        try:
            return Client(scheduler), None
        except (ValueError, OSError) as exc:  # 'bogus': no port; nothing listening: OSError after the timeout
            from seglab._core.errors import SchedulerError

            stale = _default_client()  # some failures happen after the client registered itself as the default
            if stale is not None and stale is not previous:
                with contextlib.suppress(Exception):
                    stale.close(timeout=2)
            for key, value in before.items():
                if value is None:
                    dask.config.config.pop(key, None)
                else:
                    dask.config.set({key: value})
            raise SchedulerError(f"cannot use the dask scheduler {scheduler!r}: {exc}; give the address of a running "
                                 "scheduler, e.g. tcp://HOST:8786") from None

    n = workers or os.cpu_count() or 1
    environ = {**WORKER_MALLOC, **WORKER_THREADS}
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
        # silence_logs: distributed's own lines ("Worker process still alive after 4.0 seconds, killing" when
        # the cluster closes) are not the user's business; errors still reach them through seglab's messages
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                               silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _default_client():
    """distributed's default client of this process, or None."""
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _execute(client, function, job, items, stage, progress, reduce=None, weights=None,
             batch_weight=None, claims=None, fetch=None):
    """Run ``function(job, item)`` for every item; report progress; return results in item order.

    With `reduce`, each result is passed to ``reduce(result)`` as it arrives and not kept. `weights` (the
    work of each item, e.g. its tile's pixels) balance the contiguous runs of items given to each worker;
    on a cluster, `batch_weight` groups consecutive items of a run into tasks of about that much work.

    `claims` (a folder every worker and this process can write, e.g. the run's work folder) lets a cluster
    run the pass as one long task per worker thread that claims its tiles itself (see :func:`_claimed`).
    Its results then come back when the task ends, or, with `fetch`, the client gets each item's result by
    calling ``fetch(item)`` as soon as the item is done (e.g. reading the record the task wrote) and the
    tasks return nothing (the pass then ends without gathering their results).
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

    slots = _slots(client) if claims is not None else []
    if len(slots) >= CLAIM_MIN_SLOTS and total > 1:
        return _claimed_pass(client, function, job, items, stage, progress, results, weights, slots, claims,
                             fetch)
    # A job that names its input by path is ~1 kB: it travels inside each task, which saves the scatter's
    # round trip to every worker at the start of each pass (serial time). A job holding an array is
    # scattered once; hash=False: a unique key per pass (re-scattering an equal job can race with the
    # release of the old one).
    job_future = job if _light(job) else client.scatter(job, broadcast=True, hash=False)
    workers = sorted(client.scheduler_info().get("workers", {}))
    weights = list(weights) if weights is not None else [1] * total
    if len(workers) > 1 and total > len(workers):
        # contiguous runs of tiles per worker (a preference, not a pin): neighbours share halo chunks, which
        # a worker then decodes once (see _io.ChunkCache); interleaved tiles would decode them on both workers
        bounds = _balanced_bounds(weights, len(workers), nearest=True)
        runs = {address: [lo, hi] for address, (lo, hi) in zip(workers, itertools.pairwise(bounds))}
    else:
        runs = {None: [0, total]}
    queue = _Guided(weights, runs, batch_weight)
    # keys named after the tile function (dashboards, task streams), not after the batching wrapper
    name = getattr(function, "__name__", "tiles").strip("_")
    batches: dict = {}

    def submit(address, lo, hi):
        where = {"workers": [address], "allow_other_workers": True} if address is not None else {}
        future = client.submit(_batch, function, job_future, items[lo:hi], pure=False,
                               key=f"{name}-{uuid.uuid4().hex}", **where)
        batches[future.key] = (address, lo, hi)
        return future

    # One worker: every task at once, as before. Several: each worker holds up to two tasks (one running,
    # one queued, so it never waits for the client) and is given more as tasks come back, so a pass ends
    # with both workers busy until its last tiles instead of one waiting for the other's pre-split share
    # (measured on the 140 MP slice: up to 0.2 s of one worker idle per pass with every task given at once).
    if None in runs:
        parts = list(iter(lambda: queue.take(None, time.monotonic()), None))
        futures = client.map(_batch, [function] * len(parts), [job_future] * len(parts),
                             [items[lo:hi] for lo, hi in parts], pure=False, key=name)
        batches.update((future.key, (None, lo, hi)) for future, (lo, hi) in zip(futures, parts))
    else:
        futures = [submit(address, *task) for address, task in queue.top_up(time.monotonic())]
    done = 0
    pending = as_completed(futures, with_results=True)
    try:
        # results gathered by the event loop: one `future.result()` round trip per task cost the client ~5 ms each
        for future, batch_results in pending:
            address, first, last = batches.pop(future.key)
            if address is not None:
                now = time.monotonic()
                queue.finished(address, first, last, now)
                # before handling the results: a worker's queue must not run dry
                for worker, task in queue.top_up(now):
                    pending.add(submit(worker, *task))
            for offset, result in enumerate(batch_results):
                results[first + offset] = result
                done += 1
                if progress:
                    progress(stage, done, total)
    except BaseException:
        client.cancel([*pending.futures])
        raise
    return results


class _Guided:
    """Which tiles each worker runs next: its own contiguous run first, then tiles stolen from another's.

    A task takes up to `budget` (``batch_weight``) of work, and near the end of a pass less: at most the
    work left divided by 1.5 times the number of workers (guided self-scheduling), down to one tile, so the
    workers' last tasks are short and they finish together. A worker whose run is done takes single tiles
    from the far end of the run of the worker expected to finish last (runs stay contiguous), but only
    when that makes the pass end sooner, judged from the work each has left and the speed each has shown
    in this pass: a steal decided one queued task ahead can otherwise make the thief the last to finish.
    With one run (one worker), every task is planned at once in batches of equal work.
    """

    #: near a pass's end a task takes at most the work left / (spread x workers): 1.5 keeps the two workers'
    #: finish within 1 % of the ideal split at relative speeds 1.0-0.7 in 15 tasks a pass (2.0: 17 tasks,
    #: 1.0: 13 tasks but 7 % late at 0.7; simulated on the 140 MP slice's 36 tiles), and each task costs
    #: the client, which shares the cores with the workers, a few ms
    spread = 1.5
    #: the least a task should last once the pass's speed is known (seconds)
    min_seconds = 0.05

    def __init__(self, weights, runs: dict, budget, depth: int = 2):
        self.weights = np.asarray(weights, float)
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.weights)])
        self.runs = runs
        self.budget = float(budget) if budget else 0.0
        self.depth = depth
        self.inflight: dict = {address: [] for address in runs}
        self.finished_work = dict.fromkeys(runs, 0.0)
        self.start: float | None = None
        self.busy_since = dict.fromkeys(runs, 0.0)  # when each worker's running task started (estimated)
        self.parts = None
        if len(runs) == 1:
            (lo, hi), = runs.values()
            cuts = _batches(list(self.weights[lo:hi]), self.budget) if self.budget else \
                [(k, k + 1) for k in range(hi - lo)]
            self.parts = [(lo + a, lo + b) for a, b in reversed(cuts)]

    def _work(self, lo, hi) -> float:
        return float(self.cumulative[hi] - self.cumulative[lo])

    def _speed(self, address, now) -> float:
        """Work per second this worker has shown in this pass (equal for all until each finished a task)."""
        if self.start is None or now <= self.start or not all(self.finished_work.values()):
            return 1.0
        return self.finished_work[address] / (now - self.start)

    def finished(self, address, lo, hi, now) -> None:
        self.inflight[address].remove((lo, hi))
        self.finished_work[address] += self._work(lo, hi)
        self.busy_since[address] = now  # its next task (queued) starts about now

    def top_up(self, now) -> list:
        """``(worker, (lo, hi))`` for every task to give out now (each worker up to `depth` in flight)."""
        if self.start is None:
            self.start = now
        out = []
        for _ in range(self.depth):
            for address in self.runs:
                idle = not self.inflight[address]
                if len(self.inflight[address]) < self.depth and (task := self.take(address, now)) is not None:
                    out.append((address, task))
                    if idle:
                        self.busy_since[address] = now
        return out

    def take(self, address, now) -> tuple[int, int] | None:
        if self.parts is not None:
            return self.parts.pop() if self.parts else None
        left = sum(self._work(*run) for run in self.runs.values())
        target = min(self.budget, left / (self.spread * len(self.runs)))  # 0 without a budget: one item per task
        if self.budget and self.start is not None and all(self.finished_work.values()):
            # short tiles (a few ms each: a threshold pass) in tasks of at least MIN_TASK_SECONDS: each task
            # costs the client a few ms of CPU on the cores the workers use (measured ~4 ms)
            target = min(self.budget, max(target, self._speed(address, now) * self.min_seconds))

        def speed(worker):
            return max(self._speed(worker, now), 1e-12)

        def busy(worker):  # seconds until its running and queued tasks are done
            tasks = self.inflight[worker]
            if not tasks:
                return 0.0
            running = max(0.0, self._work(*tasks[0]) / speed(worker) - (now - self.busy_since[worker]))
            return running + sum(self._work(*task) for task in tasks[1:]) / speed(worker)

        run = self.runs[address]
        if run[1] > run[0]:  # from the front of its own run
            lo = run[0]
            hi = lo + 1
            while hi < run[1] and self.cumulative[hi + 1] - self.cumulative[lo] <= target:
                hi += 1
            # at the end of a pass a slower worker with a free slot would hold a tile that a faster one,
            # done with its own run, finishes sooner: leave it to be taken from the other end of the run
            if target < self.budget and self.inflight[address]:
                mine = busy(address) + self._work(lo, hi) / speed(address)
                if any(busy(other) + self._work(lo, hi) / speed(other) < mine
                       for other, (a, b) in self.runs.items() if other != address and b <= a):
                    return None
            run[0] = hi
            self.inflight[address].append((lo, hi))
            return lo, hi

        def seconds_left(worker):  # its running and queued tasks and its run, at its speed
            return busy(worker) + self._work(*self.runs[worker]) / speed(worker)

        victims = [worker for worker, (lo, hi) in self.runs.items() if hi > lo]
        if not victims:
            return None
        victim = max(victims, key=seconds_left)
        hi = self.runs[victim][1]
        if seconds_left(address) + self._work(hi - 1, hi) / speed(address) >= seconds_left(victim):
            return None  # taking its last tile would not end the pass sooner
        self.runs[victim][1] = hi - 1
        self.inflight[address].append((hi - 1, hi))
        return hi - 1, hi


# -- long tasks that claim their tiles ------------------------------------------------------------------
#: claimed passes from this many worker threads on: one worker gains too (no gap between its tasks, 5 % on
#: the mask pipeline's 1-worker run, measured), so every cluster run takes them
CLAIM_MIN_SLOTS = 1
#: how often the client looks for finished tiles while a claimed pass runs (progress, cancel, `fetch`)
CLAIM_POLL_SECONDS = 0.02
#: how long a stopped (cancelled, failed) claimed pass waits for its tasks to finish their current tile
CLAIM_STOP_SECONDS = 60.0


def _slots(client) -> list[str]:
    """One entry per worker thread of the cluster (a worker's address repeated `nthreads` times), sorted."""
    info = client.scheduler_info().get("workers", {})
    return [address for address in sorted(info) for _ in range(max(1, int(info[address].get("nthreads", 1))))]


def _claimed_pass(client, function, job, items, stage, progress, results, weights, slots, claims, fetch):
    """One pass as one long task per worker thread, each claiming its tiles itself (see :func:`_claimed`).

    With a task per tile or per few tiles (the guided dispatch), every task cost the client, whose process
    hosts the scheduler on the cores the workers use, ~4 ms of CPU (measured: 13-15 tasks a pass); here
    the scheduler sees one task per worker thread and pass. The client follows the tasks through the
    append-only logs they keep in a fresh folder under `claims` (progress tile by tile, cancellation,
    `fetch`). Tiles whose results did not come back (a task lost with its worker) run again through the
    guided dispatch.
    """
    import shutil
    import threading

    total = len(items)
    weights = [float(w) for w in (weights if weights is not None else [1] * total)]
    folder = Path(claims) / f"claims-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    job_future = job if _light(job) else client.scatter(job, broadcast=True, hash=False)
    bounds = _balanced_bounds(weights, len(slots), nearest=True)
    runs = list(itertools.pairwise(bounds))
    name = getattr(function, "__name__", "tiles").strip("_")
    wake = threading.Event()
    futures = []
    for slot, address in enumerate(slots):
        future = client.submit(_claimed, function, job_future, items, runs, slot, weights, str(folder), fetch is None,
                               pure=False, key=f"{name}-{uuid.uuid4().hex}", workers=[address],
                               allow_other_workers=True)
        future.add_done_callback(lambda _: wake.set())
        futures.append(future)
    logs = [_Log(folder / f"log-{slot}") for slot in range(len(slots))]
    seen: set[int] = set()
    done = 0
    try:
        while True:
            finished = all(future.done() for future in futures)  # read before the logs: nothing is missed
            for log in logs:
                for position in log.read():
                    if position in seen:  # a task run again after its worker was lost
                        continue
                    seen.add(position)
                    if fetch is not None:
                        results[position] = fetch(items[position])
                    done += 1
                    if progress:
                        progress(stage, done, total)
            failed = next((future for future in futures if future.status in ("error", "cancelled")), None)
            if failed is not None:
                failed.result()  # raises the task's error (a cancelled one: CancelledError)
            if finished:
                break
            wake.wait(CLAIM_POLL_SECONDS)
            wake.clear()
        returned: set[int] = set()
        if fetch is None:  # with `fetch` the tasks return nothing: no round trip to gather it
            for position, result in itertools.chain.from_iterable(client.gather(futures)):
                returned.add(position)
                results[position] = result
        missing = [p for p in range(total) if p not in (seen if fetch is not None else returned)]
    except BaseException:
        _stop(client, folder, futures)
        raise
    if missing:  # a task was lost with its worker (its claimed tiles unfinished, or its results gone)
        again = _execute(client, function, job, [items[p] for p in missing], stage, None,
                         weights=[weights[p] for p in missing])
        for position, result in zip(missing, again):
            results[position] = result
            if position not in seen:
                done += 1
                if progress:
                    progress(stage, done, total)
    shutil.rmtree(folder, ignore_errors=True)
    return results


def _stop(client, folder: Path, futures) -> None:
    """Stop a claimed pass: no task claims another tile; wait (bounded) until each has finished its current one.

    Waiting keeps an interrupted run's files still once the error reaches the caller, so that a `resume`
    started at once does not write the same tiles as a task of the stopped call.
    """
    from distributed import wait

    with contextlib.suppress(OSError):
        (folder / "stop").touch()
    with contextlib.suppress(Exception):
        wait(futures, timeout=CLAIM_STOP_SECONDS)
    client.cancel(futures)


class _Log:
    """The positions a claiming task has appended to its log since the last read (whole lines only)."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0

    def read(self) -> list[int]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        return [int(line) for line in data[:end].split()]


def _claimed(function, job, items, runs, slot, weights, folder, keep):
    """One long task of a pass: run `function(job, item)` on tiles this task claims, until none is left.

    A tile is claimed by creating its claim file exclusively (``O_EXCL``: one creator wins, also on NFS),
    so no tile runs twice and none waits for the client. The task takes its own contiguous run of tiles
    front to back (neighbours share halo chunks, which a worker then decodes once), then single tiles from
    the far end of the run with the most unclaimed work: the workers finish together, within one tile.
    Each finished tile's position is appended to this task's log (the client reports progress from it),
    and the task stops claiming once the client has created ``stop`` (cancelled or failed pass).

    Returns ``[(position, result), ...]`` (with `keep`), or an empty list.
    """
    folder = Path(folder)
    stop = folder / "stop"
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY

    def claim(position) -> bool:
        try:
            os.close(os.open(folder / f"c{position}", flags))
        except FileExistsError:
            return False
        return True

    def unclaimed(lo, hi) -> list[int]:
        return [p for p in range(lo, hi) if not os.path.exists(folder / f"c{p}")]

    def order():
        yield from range(*runs[slot])
        while True:  # the run with the most unclaimed work, from its far end
            left = [(sum(weights[p] for p in free), free) for free in (unclaimed(*run) for run in runs) if free]
            if not left:
                return
            yield max(left, key=lambda pair: pair[0])[1][-1]

    out = []
    with open(folder / f"log-{slot}", "ab", buffering=0) as log:
        for position in order():
            if os.path.exists(stop):
                break
            if not claim(position):
                continue
            result = function(job, items[position])
            if keep:
                out.append((position, result))
            log.write(b"%d\n" % position)  # one small unbuffered write: the client reads whole lines
    return out


def _light(job) -> bool:
    """Whether `job` is small to pickle: no job, or one whose input source is a path (not an array)."""
    if job is None:
        return True
    source = job[0] if isinstance(job, tuple) and job else getattr(job, "source", None)
    return source is not None and getattr(source, "path", None) is not None and getattr(source, "array", 0) is None


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


def _balanced_bounds(weights, n: int, *, nearest: bool = False) -> list[int]:
    """Cut points splitting `weights` into `n` contiguous runs of nearly equal total weight.

    Each pass ends with a barrier, so the worker with the most work sets its time: with equal counts of
    tiles, the one holding the image's partial last row of tiles idles while the other finishes.
    With `nearest`, each cut is the one nearest the ideal share (a tie goes to the later cut); otherwise
    the first cut at or past it (the batches of one worker's run: never more tasks than needed).
    """
    cumulative = np.cumsum(np.asarray(weights, float))
    total = cumulative[-1] if cumulative.size else 0.0
    cuts = []
    for k in range(1, n):
        # the first cut at or past the ideal share gave the first of two workers one tile too many on
        # the 140 MP slice (74 : 66 M px); the nearest cut splits it 69.9 : 70.4
        target = total * k / n
        c = int(np.searchsorted(cumulative, target, side="left"))
        if nearest and c > 0 and target - cumulative[c - 1] < cumulative[min(c, len(weights) - 1)] - target:
            c -= 1
        cuts.append(c + 1)
    cuts = [min(max(c, 1), len(weights)) for c in cuts]
    return [0, *np.maximum.accumulate(cuts).tolist(), len(weights)]


def _run_thunk(_job, thunk):
    return thunk()


