"""Whole-image runs and U-Net trainings as cancellable jobs, each in its own process.

A run job runs :func:`seglab.web._run.run_request` in a child process (``python -m seglab.web._jobs``);
a training job runs :func:`seglab.deep.train_unet` (what ``seglab train --model unet`` runs) there:
the server stays responsive while NumPy/OpenCV work holds the cores, and cancelling really stops
the work (the process is terminated; a thread cannot be). One spare child waits with its imports
done, so a job starts at once. The server and the child speak JSON lines over the child's stdin
and stdout (``[kind, fraction, stage, detail]``); the child leaves its arrays as ``.npy`` files
(``allow_pickle=False``) in a scratch folder. Nothing is pickled either way. Every progress line is
kept in the job's event list, so the page's server-sent event stream shows each tile and each epoch,
not a sample of them.
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
    kind: str = "run"  # "run" (a whole image) or "train" (a U-Net)
    detail: dict = field(default_factory=dict)  # what the work reports beside the fraction (epoch, score...)
    model: str | None = None  # a finished training: the model folder, relative to the workspace
    partial: Path | None = None  # a training's folder until it is complete (removed if it is not)
    events: list = field(default_factory=list)  # every state the job went through, in order

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "image": self.image, "state": self.state,
                "progress": round(self.progress, 3), "stage": self.stage, "error": self.error,
                "result_id": self.result_id, "model": self.model, "detail": dict(self.detail),
                "elapsed": round((self.finished or time.time()) - self.started, 3)}

    def record(self) -> None:
        """Append the current state to :attr:`events` (the stream reads them in order)."""
        if len(self.events) < MAX_EVENTS:
            self.events.append(self.to_dict())


MAX_EVENTS = 5000  # events kept per job: a 140-megapixel image in 2048-pixel tiles has a few hundred


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
        result = run_request(workspace, request, progress=lambda f, s: send("progress", f, s, None))
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
        send("done", 1.0, "done", None)
    except SeglabError as exc:
        send("failed", 0.0, str(exc).strip() or type(exc).__name__, None)
    except Exception as exc:  # noqa: BLE001 - the job reports any failure in one line, the server goes on
        send("failed", 0.0, f"unexpected {type(exc).__name__}: {exc}", None)
        traceback.print_exc()


def _train_child(task: dict, send) -> None:
    """Entry point of a training job's process: :func:`seglab.deep.train_unet`, then the folder into place."""
    from seglab._core.errors import SeglabError

    try:
        from ._train import run_training

        run_training(task, send)
    except SeglabError as exc:
        send("failed", 0.0, str(exc).strip() or type(exc).__name__, None)
    except Exception as exc:  # noqa: BLE001 - one line to the page, the server goes on
        send("failed", 0.0, f"unexpected {type(exc).__name__}: {exc}", None)
        traceback.print_exc()
    finally:
        partial = Path(task["partial"])
        if partial.is_dir():  # a training that did not finish leaves no half model in the workspace
            shutil.rmtree(partial, ignore_errors=True)


def _worker_main() -> None:
    """A job process: import what the work needs, say ready, run the one job it is given."""
    out = sys.stdout
    sys.stdout = sys.stderr  # library prints must not mix with the JSON lines

    def send(kind, fraction, stage, detail=None):
        out.write(json.dumps([kind, fraction, stage, detail]) + "\n")
        out.flush()

    from seglab._core.registry import all_specs

    from . import _run, _workspace  # noqa: F401 - imported now, before the job arrives

    all_specs()
    send("ready", 0.0, "ready")
    line = sys.stdin.readline()
    if not line.strip():
        return
    task = json.loads(line)
    if task.get("kind") == "train":
        _train_child(task, send)
    else:
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
        task = {"body": dict(body), "root": str(self.workspace.root), "scratch": scratch,
                "budget": None if budget is None else float(budget)}
        return self._start(job, task, scratch)

    def submit_training(self, body: dict) -> Job:
        """Start a U-Net training job (see :func:`seglab.web._train.parse_training`)."""
        from ._train import parse_training

        task = parse_training(body, self.workspace)  # a bad request is refused now, with its message
        job = Job(new_id(), task["images_label"], kind="train")
        job.partial = Path(task["partial"])
        job.detail = {"pairs": len(task["images"]), "epochs": task["epochs"], "task": task["task"]}
        scratch = tempfile.mkdtemp(prefix="seglab-job-")
        task = {**task, "kind": "train", "scratch": scratch}
        return self._start(job, task, scratch)

    def _start(self, job: Job, task: dict, scratch: str) -> Job:
        with self._lock:
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.finished is not None]
            for old in sorted(done, key=lambda j: j.finished or 0.0)[: max(0, len(self._jobs) - self.max_jobs)]:
                self._jobs.pop(old.id, None)
        job.state, job.stage = "running", "starting"
        job.record()
        process = self._take()
        job.process = process
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
            job.record()
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
                    kind, fraction, stage, detail = (json.loads(line) + [None])[:4]
                except (ValueError, TypeError):
                    continue  # not one of ours
                if isinstance(detail, dict):
                    job.detail.update(detail)
                if kind == "progress":
                    # a fraction never goes back: the bar only moves forward
                    job.progress, job.stage = max(job.progress, float(fraction)), str(stage)
                    job.record()
                elif kind == "failed":
                    job.state, job.stage, job.error = "failed", "failed", str(stage)
                    job.finished = time.time()
                    job.record()
                    return
                elif kind == "done":
                    if job.kind == "train":
                        job.model = str(job.detail.get("model"))
                        job.progress, job.stage, job.state = 1.0, "done", "done"
                        job.finished = time.time()
                        job.record()
                    else:
                        self._collect(job, scratch)
                    return
            if job.state != "cancelled" and job.finished is None:
                process.wait(timeout=5)
                job.state, job.stage = "failed", "failed"
                job.error = f"the job's process ended unexpectedly (exit code {process.returncode})"
                job.finished = time.time()
                job.record()
        finally:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
            shutil.rmtree(scratch, ignore_errors=True)
            if job.partial is not None and job.state != "done":
                # a cancelled or failed training leaves no half model in the workspace
                shutil.rmtree(job.partial, ignore_errors=True)

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
        job.record()


if __name__ == "__main__":
    _worker_main()
