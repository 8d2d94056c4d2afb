"""Whole-image runs as cancellable jobs, each in its own process.

A job runs :func:`seglab.web._run.run_request` in a child process started with ``spawn``: the server
stays responsive while NumPy/OpenCV work holds both cores, and cancelling really stops the work
(the process is terminated; a thread cannot be). The child reports progress through a queue and
leaves its arrays as ``.npy`` files (NumPy's format, never pickle: ``allow_pickle=False``) in a
scratch folder; the server loads them into its result store.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._run import Result, new_id

__all__ = ["Job", "JobManager"]


@dataclass
class Job:
    id: str
    image: str
    state: str = "queued"  # queued, running, done, failed, cancelled
    progress: float = 0.0
    stage: str = "queued"
    error: str | None = None
    result_id: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    process: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "image": self.image, "state": self.state, "progress": round(self.progress, 3),
                "stage": self.stage, "error": self.error, "result_id": self.result_id,
                "elapsed": round((self.finished or time.time()) - self.started, 3)}


def _child(body: dict, root: str, out_dir: str, queue, budget) -> None:
    """Entry point of a job's process: run the whole image, save arrays, report."""
    try:
        from seglab._core.errors import SeglabError
        from seglab.io import set_pixel_budget

        from ._run import parse_request, run_request
        from ._workspace import Workspace

        if budget is not None:
            set_pixel_budget(budget)
        workspace = Workspace(root)
        request = parse_request(body, whole=True, workspace=workspace)
        result = run_request(workspace, request, progress=lambda f, s: queue.put(("progress", f, s)))
        out = Path(out_dir)
        np.save(out / "data.npy", result.data, allow_pickle=False)
        if result.seen is not None:
            np.save(out / "seen.npy", result.seen, allow_pickle=False)
        if result.seeds is not None:
            np.save(out / "seeds.npy", result.seeds, allow_pickle=False)
        for name, array in result.extras.items():
            np.save(out / f"extra-{name}.npy", array, allow_pickle=False)
        from seglab._core.provenance import jsonable

        meta = {"output": result.output, "region": list(result.region), "info": jsonable(result.info),
                "pipeline": result.pipeline, "metrics": jsonable(result.metrics), "truth": result.truth,
                "seconds": result.seconds}
        (out / "meta.json").write_text(json.dumps(meta))
        queue.put(("done", 1.0, "done"))
    except SeglabError as exc:
        queue.put(("failed", 0.0, str(exc).strip() or type(exc).__name__))
    except Exception as exc:  # noqa: BLE001 - the job reports any failure in one line, the server goes on
        queue.put(("failed", 0.0, f"unexpected {type(exc).__name__}: {exc}"))
        traceback.print_exc()


class JobManager:
    """Starts, watches and cancels whole-image jobs; finished results go to the result store."""

    def __init__(self, workspace, store, *, max_jobs: int = 32):
        self.workspace = workspace
        self.store = store
        self.max_jobs = max_jobs
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")

    def submit(self, body: dict) -> Job:
        from seglab.io import get_pixel_budget

        from ._run import check_drawn_inputs, parse_request

        # refuse a bad request now, with its message, not in the job
        check_drawn_inputs(parse_request(body, whole=True, workspace=self.workspace))
        self.workspace.resolve(body["image"])
        job = Job(new_id(), body["image"])
        scratch = tempfile.mkdtemp(prefix="seglab-job-")
        queue = self._context.Queue()
        budget = get_pixel_budget()
        process = self._context.Process(target=_child, args=(dict(body), str(self.workspace.root), scratch, queue,
                                                              budget), daemon=True)
        job.process = process
        with self._lock:
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.finished is not None]
            for old in sorted(done, key=lambda j: j.finished or 0.0)[: max(0, len(self._jobs) - self.max_jobs)]:
                self._jobs.pop(old.id, None)
        job.state, job.stage = "running", "starting"
        process.start()
        threading.Thread(target=self._watch, args=(job, queue, Path(scratch)), daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is None:
            return None
        if job.finished is None:
            job.state, job.stage = "cancelled", "cancelled"
            job.finished = time.time()
            if job.process is not None and job.process.is_alive():
                job.process.terminate()
        return job

    def shutdown(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.process is not None and job.process.is_alive():
                job.process.terminate()

    def _watch(self, job: Job, queue, scratch: Path) -> None:
        import queue as queue_module

        try:
            while True:
                if job.state == "cancelled":
                    return
                try:
                    kind, fraction, stage = queue.get(timeout=0.2)
                except queue_module.Empty:
                    if not job.process.is_alive():
                        # the child died without a word (killed, out of memory)
                        time.sleep(0.2)
                        if queue.empty():
                            if job.state != "cancelled":
                                job.state, job.stage = "failed", "failed"
                                job.error = f"the job's process ended unexpectedly (exit code {job.process.exitcode})"
                                job.finished = time.time()
                            return
                    continue
                if job.state == "cancelled":
                    return
                if kind == "progress":
                    job.progress, job.stage = float(fraction), str(stage)
                elif kind == "failed":
                    job.state, job.stage, job.error = "failed", "failed", str(stage)
                    job.finished = time.time()
                    return
                elif kind == "done":
                    meta = json.loads((scratch / "meta.json").read_text())
                    def load(n):
                        return np.load(scratch / n, allow_pickle=False) if (scratch / n).exists() else None
                    result = Result(id=new_id(), image=job.image, output=meta["output"], data=load("data.npy"),
                                    region=tuple(meta["region"]), info=meta["info"], pipeline=meta["pipeline"],
                                    seen=load("seen.npy"), seeds=load("seeds.npy"), metrics=meta["metrics"],
                                    extras={p.name[6:-4]: np.load(p, allow_pickle=False)
                                            for p in scratch.glob("extra-*.npy")},
                                    truth=meta["truth"], seconds=meta["seconds"])
                    self.store.add(result)
                    job.result_id = result.id
                    job.progress, job.stage, job.state = 1.0, "done", "done"
                    job.finished = time.time()
                    return
        finally:
            if job.process is not None:
                job.process.join(timeout=5)
            shutil.rmtree(scratch, ignore_errors=True)
