"""Whole-image runs as cancellable jobs, each in its own process.

A job runs :func:`seglab.web._run.run_request` in a child process (``python -m seglab.web._jobs``):
the server stays responsive while NumPy/OpenCV work holds the cores, and cancelling really stops
the work (the process is terminated; a thread cannot be). One spare child waits with its imports
done, so a job starts at once. The server and the child speak JSON lines over the child's stdin
and stdout; the child leaves its arrays as ``.npy`` files (``allow_pickle=False``) in a scratch
folder. Nothing is pickled either way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
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


def _child(body: dict, root: str, out_dir: str, send, budget) -> None:
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
        result = run_request(workspace, request, progress=lambda f, s: send("progress", f, s))
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
        send("done", 1.0, "done")
    except SeglabError as exc:
        send("failed", 0.0, str(exc).strip() or type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - the job reports any failure in one line, the server goes on
        send("failed", 0.0, f"unexpected {type(exc).__name__}: {exc}")
        traceback.print_exc()


def _worker_main() -> None:
    """A job process: import what the work needs, say ready, run the one job it is given."""
    out = sys.stdout
    sys.stdout = sys.stderr  # library prints must not mix with the JSON lines

    def send(kind, fraction, stage):
        out.write(json.dumps([kind, fraction, stage]) + "\n")
        out.flush()

    from seglab._core.registry import all_specs

    from . import _run, _workspace  # noqa: F401 - imported now, before the job arrives

    all_specs()
    send("ready", 0.0, "ready")
    line = sys.stdin.readline()
    if not line.strip():
        return
    task = json.loads(line)
    _child(task["body"], task["root"], task["scratch"], send, task["budget"])


class JobManager:
    """Starts, watches and cancels whole-image jobs; finished results go to the result store."""

    def __init__(self, workspace, store, *, max_jobs: int = 32, spare: bool = True):
        self.workspace = workspace
        self.store = store
        self.max_jobs = max_jobs
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._spare: subprocess.Popen | None = None
        self._closed = False
        if spare:
            threading.Thread(target=self._refill, daemon=True).start()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "seglab.web._jobs"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)

    def _refill(self) -> None:
        with self._lock:
            if self._closed or (self._spare is not None and self._spare.poll() is None):
                return
        process = self._spawn()
        with self._lock:
            if self._closed or self._spare is not None:
                process.kill()
                process.wait()
                return
            self._spare = process

    def _take(self) -> subprocess.Popen:
        with self._lock:
            process, self._spare = self._spare, None
        if process is None or process.poll() is not None:
            process = self._spawn()
        threading.Thread(target=self._refill, daemon=True).start()
        return process

    def submit(self, body: dict) -> Job:
        from seglab.io import get_pixel_budget

        from ._run import check_drawn_inputs, parse_request

        # refuse a bad request now, with its message, not in the job
        check_drawn_inputs(parse_request(body, whole=True, workspace=self.workspace))
        self.workspace.resolve(body["image"])
        job = Job(new_id(), body["image"])
        scratch = tempfile.mkdtemp(prefix="seglab-job-")
        budget = get_pixel_budget()
        with self._lock:
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.finished is not None]
            for old in sorted(done, key=lambda j: j.finished or 0.0)[: max(0, len(self._jobs) - self.max_jobs)]:
                self._jobs.pop(old.id, None)
        job.state, job.stage = "running", "starting"
        process = self._take()
        job.process = process
        task = {"body": dict(body), "root": str(self.workspace.root), "scratch": scratch,
                "budget": None if budget is None else float(budget)}
        assert process.stdin is not None  # opened with stdin=PIPE
        process.stdin.write(json.dumps(task) + "\n")
        process.stdin.flush()
        threading.Thread(target=self._watch, args=(job, process, Path(scratch)), daemon=True).start()
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
            if job.process is not None and job.process.poll() is None:
                job.process.terminate()
        return job

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            processes = [j.process for j in self._jobs.values() if j.process is not None] + (
                [self._spare] if self._spare is not None else [])
            self._spare = None
        for process in processes:
            if process.poll() is None:
                process.terminate()

    def _watch(self, job: Job, process: subprocess.Popen, scratch: Path) -> None:
        assert process.stdout is not None  # opened with stdout=PIPE
        try:
            for line in process.stdout:
                if job.state == "cancelled":
                    return
                try:
                    kind, fraction, stage = json.loads(line)
                except (ValueError, TypeError):
                    continue  # not one of ours
                if kind == "progress":
                    job.progress, job.stage = float(fraction), str(stage)
                elif kind == "failed":
                    job.state, job.stage, job.error = "failed", "failed", str(stage)
                    job.finished = time.time()
                    return
                elif kind == "done":
                    self._collect(job, scratch)
                    return
            if job.state != "cancelled" and job.finished is None:
                process.wait(timeout=5)
                job.state, job.stage = "failed", "failed"
                job.error = f"the job's process ended unexpectedly (exit code {process.returncode})"
                job.finished = time.time()
        finally:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
            shutil.rmtree(scratch, ignore_errors=True)

    def _collect(self, job: Job, scratch: Path) -> None:
        meta = json.loads((scratch / "meta.json").read_text())

        def load(name):
            path = scratch / name
            return np.load(path, allow_pickle=False) if path.exists() else None

        result = Result(id=new_id(), image=job.image, output=meta["output"], data=load("data.npy"),
                        region=tuple(meta["region"]), info=meta["info"], pipeline=meta["pipeline"],
                        seen=load("seen.npy"), seeds=load("seeds.npy"), metrics=meta["metrics"],
                        extras={p.name[6:-4]: np.load(p, allow_pickle=False) for p in scratch.glob("extra-*.npy")},
                        truth=meta["truth"], seconds=meta["seconds"])
        self.store.add(result)
        job.result_id = result.id
        job.progress, job.stage, job.state = 1.0, "done", "done"
        job.finished = time.time()


if __name__ == "__main__":
    _worker_main()
