"""Where the tuner's work runs: in this process, in a pool of worker processes, or on dask.distributed.

A task is one pipeline scored on one image: ``(pipeline dict, image index)`` -> ``(status, value, seconds)`` with
status ``"ok"`` (value = the metric), ``"error"`` (value = the message), ``"timeout"`` (the task ran past its
own limit) or ``"stopped"`` (a deadline passed before it finished or started). The three executors compute the
same value for the same task (the same function on the same arrays, warnings ignored in all of them), so a
study's results do not depend on which one ran it, nor on how many workers it had.

* :class:`SerialExecutor` runs tasks one after another here; a limit is checked after a task returns (it cannot
  stop a running call).
* :class:`PoolExecutor` keeps ``n`` worker processes (forked where the platform allows it, so methods registered
  at run time exist in them too); a task over its limit is stopped by killing its worker, which is restarted.
* :class:`DaskExecutor` submits tasks to a ``dask.distributed`` cluster (an existing scheduler's address or a
  ``LocalCluster`` of ``n`` single-threaded worker processes); a task over its limit is reported as a timeout and
  cancelled (a task already running on a worker finishes there, its result is discarded).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import wait as wait_connections
from typing import Any

import numpy as np

from seglab._core.quiet import ignoring

__all__ = ["Outcome", "SerialExecutor", "PoolExecutor", "DaskExecutor", "make_executor", "score_task"]

Outcome = tuple[str, Any, float]


class Payload:
    """What every worker needs: the images, the truths prepared for the metric, the metric kind and key."""

    def __init__(self, images, truths, kind: str, key: str):
        self.images = images
        self.truths = truths
        self.kind = kind
        self.key = key
        self._cache: dict[tuple, np.ndarray] = {}

    def __getstate__(self):
        return {"images": self.images, "truths": self.truths, "kind": self.kind, "key": self.key}

    def __setstate__(self, state):
        self.__init__(state["images"], state["truths"], state["kind"], state["key"])

    def pre_output(self, index: int, pipeline):
        """Image `index` after the pipeline's pre-steps (cached per pre-step parameters) and the rest."""
        import json

        from seglab._core.pipeline import Pipeline
        from seglab.compare import auto_gray

        pipeline, _ = auto_gray(pipeline, self.images[index])
        rest = Pipeline(pipeline.method, [], list(pipeline.post))
        if not pipeline.pre:
            return self.images[index], rest
        key = (index, json.dumps([s.to_dict() for s in pipeline.pre], sort_keys=True))
        hit = self._cache.get(key)
        if hit is None:
            hit = pipeline.run_pre(self.images[index])
            if len(self._cache) > 16 * len(self.images):
                self._cache.clear()
            self._cache[key] = hit
        return hit, rest


def score_task(payload: Payload, pipeline_dict: dict, index: int) -> Outcome:
    """Score the pipeline described by `pipeline_dict` on image `index`: ``("ok", value, s)`` or an error."""
    from seglab._core.pipeline import Pipeline
    from seglab.compare import score
    from seglab.metrics import prediction_for

    start = time.perf_counter()
    try:
        with ignoring(Warning):
            # Advisory warnings (constant image, conversions, library deprecations) must not change a score,
            # and must not turn into errors in one executor (pytest's filterwarnings) but not in another.
            # (`ignoring`, not catch_warnings: trials run on several threads of a dask worker.)
            pipeline = Pipeline.from_dict(pipeline_dict)
            image, rest = payload.pre_output(index, pipeline)
            result = rest.run(image)
            prediction = prediction_for(result.data, result.output, payload.kind)
            value = float(score(payload.truths[index], prediction, payload.kind)[payload.key])
        return "ok", value, time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - a failing trial is recorded as failed, the study goes on
        return "error", f"{type(exc).__name__}: {exc}", time.perf_counter() - start


def _remaining(limit: float | None, deadline: float | None, now: float) -> float | None:
    ends = [t for t in ((now + limit) if limit is not None else None, deadline) if t is not None]
    return min(ends) - now if ends else None


class SerialExecutor:
    """Run tasks one after another in this process."""

    n_workers = 1

    def __init__(self, payload: Payload):
        self.payload = payload

    def run(self, tasks: Sequence[tuple[dict, int]], limits: Sequence[float | None],
            deadline: float | None = None) -> list[Outcome]:
        out: list[Outcome] = []
        for (pipeline, index), limit in zip(tasks, limits):
            if deadline is not None and time.monotonic() >= deadline:
                out.append(("stopped", None, 0.0))
                continue
            status, value, seconds = score_task(self.payload, pipeline, index)
            if status == "ok" and limit is not None and seconds > limit:
                status, value = "timeout", None
            out.append((status, value, seconds))
        return out

    def close(self) -> None:
        pass


def _worker_main(connection, payload) -> None:
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills the workers
    del os
    if payload is None:
        payload = connection.recv()
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        pipeline, index = message
        connection.send(score_task(payload, pipeline, index))


class _Worker:
    def __init__(self, context, payload):
        self.connection, child = context.Pipe()
        forked = context.get_start_method() == "fork"
        self.process = context.Process(target=_worker_main, args=(child, payload if forked else None), daemon=True)
        self.process.start()
        child.close()
        if not forked:
            self.connection.send(payload)
        self.task = -1  # index of the task it runs (set when it is handed one)
        self.started = 0.0
        self.limit: float | None = None

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


class PoolExecutor:
    """`n` worker processes; a task over its limit, or still running at the deadline, kills its worker."""

    def __init__(self, payload: Payload, n: int):
        self.payload = payload
        self.n_workers = int(n)
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._context = mp.get_context(method)
        self._workers: list[_Worker] = []

    def _ensure(self) -> None:
        self._workers = [w for w in self._workers if w.process.is_alive()]
        while len(self._workers) < self.n_workers:
            self._workers.append(_Worker(self._context, self.payload))

    def run(self, tasks: Sequence[tuple[dict, int]], limits: Sequence[float | None],
            deadline: float | None = None) -> list[Outcome]:
        out: list[Outcome | None] = [None] * len(tasks)
        queue = list(range(len(tasks)))
        self._ensure()
        idle = list(self._workers)
        busy: list[_Worker] = []
        while queue or busy:
            now = time.monotonic()
            while queue and idle:
                if deadline is not None and now >= deadline:
                    break
                worker = idle.pop()
                task = queue.pop(0)
                worker.task, worker.started, worker.limit = task, time.monotonic(), limits[task]
                worker.connection.send(tasks[task])
                busy.append(worker)
            if not busy:  # the deadline passed with tasks still queued
                for task in queue:
                    out[task] = ("stopped", None, 0.0)
                break
            waits = [_remaining(w.limit, deadline, w.started) for w in busy]
            horizon = [w.started + r for w, r in zip(busy, waits) if r is not None]
            timeout = max(min(horizon) - time.monotonic(), 0.0) if horizon else None
            ready = wait_connections([w.connection for w in busy], timeout)
            now = time.monotonic()
            for worker in list(busy):
                if worker.connection in ready:
                    try:
                        out[worker.task] = worker.connection.recv()
                        busy.remove(worker)
                        idle.append(worker)
                        continue
                    except (EOFError, OSError):  # the worker died (out of memory, a crash in C code)
                        out[worker.task] = ("error", "the worker process died", now - worker.started)
                else:
                    r = _remaining(worker.limit, deadline, worker.started)
                    if r is None or now < worker.started + r:
                        continue
                    over_limit = worker.limit is not None and now >= worker.started + worker.limit
                    out[worker.task] = ("timeout" if over_limit else "stopped", None, now - worker.started)
                busy.remove(worker)
                worker.kill()
                self._workers.remove(worker)
                if queue and (deadline is None or now < deadline):
                    fresh = _Worker(self._context, self.payload)
                    self._workers.append(fresh)
                    idle.append(fresh)
        return [o if o is not None else ("stopped", None, 0.0) for o in out]

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self._workers:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.kill()
        self._workers = []


def _dask_task(payload, pipeline, index):
    return score_task(payload, pipeline, index)


class DaskExecutor:
    """Tasks on dask.distributed: `address` of a running scheduler, or a LocalCluster of `n` workers."""

    def __init__(self, payload: Payload, *, address: str | None = None, n: int | None = None):
        # the tiler's engine (compare uses it too): same worker settings, same quiet logs, and the one
        # MissingDependencyError naming `pip install "seglab[scale]"` when distributed is absent
        from seglab.tiling import make_client

        self._client, self._cluster = make_client(workers=n if not address else None, scheduler=address)
        self.n_workers = max(len(self._client.scheduler_info().get("workers", {})), 1)
        self._payload = self._client.scatter(payload, broadcast=True)

    def run(self, tasks: Sequence[tuple[dict, int]], limits: Sequence[float | None],
            deadline: float | None = None) -> list[Outcome]:
        from distributed import wait

        out: list[Outcome | None] = [None] * len(tasks)
        futures = {self._client.submit(_dask_task, self._payload, pipeline, index, pure=False): k
                   for k, (pipeline, index) in enumerate(tasks)}
        started = time.monotonic()
        pending = set(futures)
        while pending:
            ends = [started + limit for limit in limits if limit is not None]
            if deadline is not None:
                ends.append(deadline)
            timeout = max(min(ends) - time.monotonic(), 0.01) if ends else None
            try:
                with self._client.as_current():  # wait() looks for the current client; ours is not the default
                    done, _ = wait(list(pending), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            now = time.monotonic()
            for future in done:
                pending.discard(future)
                k = futures[future]
                try:
                    out[k] = tuple(future.result())
                except Exception as exc:  # noqa: BLE001 - a lost worker, a cancelled task
                    out[k] = ("error", f"{type(exc).__name__}: {exc}", now - started)
            for future in list(pending):
                k = futures[future]
                limit = limits[k]
                over_limit = limit is not None and now >= started + limit
                if over_limit or (deadline is not None and now >= deadline):
                    # Limits here count from submission (a queued task's wait counts too): a dask task cannot
                    # be interrupted, so the limit is a bound on how long the study waits for it.
                    future.cancel()
                    pending.discard(future)
                    out[k] = ("timeout" if over_limit else "stopped", None, now - started)
        return [o if o is not None else ("stopped", None, 0.0) for o in out]

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(payload: Payload, *, n_jobs: int = 1, scheduler: str | None = None, workers: int | None = None,
                  trial_timeout: float | None = None):
    """The executor for these options (see the module docstring)."""
    if scheduler or workers:
        return DaskExecutor(payload, address=scheduler, n=workers)
    if n_jobs > 1 or trial_timeout is not None:
        return PoolExecutor(payload, n_jobs)
    return SerialExecutor(payload)
