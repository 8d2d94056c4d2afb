"""How a pass's tiles are handed to the workers (guided, work-stealing), and a two-worker label run resumed."""

from __future__ import annotations

import numpy as np
import pytest
from test_tiled import assert_equivalent_labeling

import seglab
from seglab import Pipeline
from seglab.tiling import run_tiled
from seglab.tiling._backends import _balanced_bounds, _Guided

# the 140 MP benchmark slice (17480 x 8026) in 2048 tiles: 9 x 4, the last row and column partial
SLICE_TILES = [r * c for r in [2048] * 8 + [1096] for c in [2048] * 3 + [1882]]


def _simulate(weights, speed, budget):
    """Run a pass through `_Guided` as `_execute` does, with simulated workers of the given `speed`
    (pixels per second): tasks are given out at the start and whenever one comes back, each worker runs
    its own in order. Returns the tasks each worker ran and each worker's finishing time."""
    names = sorted(speed)
    bounds = _balanced_bounds(weights, len(names), nearest=True)
    guided = _Guided(weights, {name: [lo, hi] for name, lo, hi in zip(names, bounds, bounds[1:])}, budget)
    queues = {name: [] for name in names}
    ran = {name: [] for name in names}
    clock = dict.fromkeys(names, 0.0)  # when each worker's running task started

    def give(now):
        for name, task in guided.top_up(now):
            if not queues[name]:
                clock[name] = max(clock[name], now)  # an idle worker starts the task when it arrives
            queues[name].append(task)

    give(0.0)
    while any(queues.values()):
        ends = {n: clock[n] + sum(weights[queues[n][0][0]:queues[n][0][1]]) / speed[n] for n in names if queues[n]}
        name = min(ends, key=ends.get)  # the next task to come back
        now = ends[name]
        lo, hi = queues[name].pop(0)
        clock[name] = now
        ran[name].append((lo, hi))
        guided.finished(name, lo, hi, now)
        give(now)
    return ran, clock


@pytest.mark.parametrize("speed_b", [1.0, 0.9, 0.7, 0.5])
def test_guided_dispatch_runs_every_tile_once_and_the_workers_finish_together(speed_b):
    """Two workers, one of them slower (a busy core): each starts on its own contiguous half, the first to
    run dry takes tiles from the far end of the other's half, and the two finish within one tile's time of
    each other and within 2 % of the ideal split."""
    weights = SLICE_TILES
    ran, clock = _simulate(weights, {"a": 1.0, "b": speed_b}, budget=4 * 2048**2)
    tiles = sorted(i for tasks in ran.values() for lo, hi in tasks for i in range(lo, hi))
    assert tiles == list(range(len(weights)))  # every tile exactly once
    assert _balanced_bounds(weights, 2, nearest=True) == [0, 17, 36]  # 69.9 : 70.4 M px, the nearest split
    assert ran["a"][0] == (0, 4) and ran["b"][0] == (17, 21)  # own run first, four full tiles per task
    assert all(hi - lo <= 4 for tasks in ran.values() for lo, hi in tasks)
    # the pass ends within 2 % of the ideal split of the work between the two speeds
    assert max(clock.values()) <= 1.02 * sum(weights) / (1.0 + speed_b)
    tile_time = max(weights) / min(1.0, speed_b)
    assert abs(clock["a"] - clock["b"]) <= tile_time
    if speed_b < 1:  # the faster worker took tiles from the back of the slower one's run
        stolen = [i for lo, hi in ran["a"] for i in range(lo, hi) if i >= 17]
        assert stolen and sorted(stolen) == list(range(36 - len(stolen), 36))
    # the static split it replaces: each worker ran its own half, so the slower one set the pass's time
    halves = (sum(weights[:17]) / 1.0, sum(weights[17:]) / speed_b)
    assert max(clock.values()) <= max(halves) + 1e-9


def test_short_tiles_go_out_in_fewer_larger_tasks():
    """Tiles of ~5 ms (a threshold's write pass): once the speed is known, a task lasts at least
    `_Guided.min_seconds`, so a pass takes ~10 tasks instead of 15 (each costs the client a few ms),
    and still ends within 15 ms of the ideal split."""
    per_tile = 0.005
    ran, clock = _simulate(SLICE_TILES, {"a": 2048**2 / per_tile, "b": 0.9 * 2048**2 / per_tile}, 4 * 2048**2)
    assert sorted(i for tasks in ran.values() for lo, hi in tasks for i in range(lo, hi)) == list(range(36))
    assert sum(len(tasks) for tasks in ran.values()) <= 11
    ideal = sum(SLICE_TILES) / (1.9 * 2048**2 / per_tile)
    assert max(clock.values()) - ideal < 0.015
    slow, _ = _simulate(SLICE_TILES, {"a": 2048**2 / 0.055, "b": 0.9 * 2048**2 / 0.055}, 4 * 2048**2)
    assert sum(len(tasks) for tasks in slow.values()) >= 14  # 55 ms tiles: single tiles at the end


def test_one_worker_gets_every_task_at_once_in_equal_batches():
    guided = _Guided([1] * 18, {None: [0, 18]}, 4)
    parts = list(iter(lambda: guided.take(None, 0.0), None))
    assert parts == [(0, 4), (4, 8), (8, 11), (11, 15), (15, 18)]  # as before the guided dispatch
    single = _Guided([1] * 3, {None: [0, 3]}, None)
    assert list(iter(lambda: single.take(None, 0.0), None)) == [(0, 1), (1, 2), (2, 3)]


def _labels_pipeline():
    if "otsu" not in seglab.list_methods() or "label" not in seglab.list_steps("post"):
        pytest.skip("needs the threshold family and the label post-step")
    return Pipeline.build("otsu", post=["label"])


@pytest.mark.filterwarnings("ignore::UserWarning:distributed")
@pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed")
def test_two_workers_cancelled_in_the_final_pass_resume_bit_identical(tmp_path, blobs, monkeypatch):
    """Two workers, each pass one long task per worker claiming its tiles (``_claimed_pass``); a run stopped
    in the final pass stops claiming, resumes from its lookup tables and gives the same labels, numbering
    included; the stopped pass's claim folder goes with the scratch once the resumed run is complete."""
    from seglab.tiling import _run, make_client
    from seglab.workflows import Cancelled, CancelToken

    monkeypatch.setattr(_run, "BATCH_PIXELS", 3 * 64 * 100)  # up to three tiles per task: guided batches
    pipeline = _labels_pipeline()
    image = np.tile(blobs, (2, 2))
    client, cluster = make_client(workers=2, processes=False)
    with cluster, client:
        events = []
        full = run_tiled(image, pipeline, tmp_path / "full.zarr", chunk=(64, 100), client=client,
                         progress=lambda event: events.append((event.stage, event.done, event.total)))
        token = CancelToken()

        def cancel_in_final(event):
            if event.stage == "final" and event.done == 10:
                token.cancel()

        with pytest.raises(Cancelled, match=r"tiled run \(final\) was cancelled"):
            run_tiled(image, pipeline, tmp_path / "cut.zarr", chunk=(64, 100), client=client,
                      progress=cancel_in_final, cancel=token)
        work = tmp_path / "cut.zarr" / "_seglab"
        assert (work / "done" / "mapping").exists()
        assert 10 <= len(list((work / "done" / "final").iterdir())) < 90
        assert [(p / "stop").exists() for p in work.glob("claims-*")] == [True]  # the stopped final pass
        cut = run_tiled(image, pipeline, tmp_path / "cut.zarr", chunk=(64, 100), client=client, resume=True)
        assert not list(work.glob("claims-*"))
    assert_equivalent_labeling(full[:], pipeline.run(image).data)
    np.testing.assert_array_equal(cut[:], full[:])  # the same numbering, not only the same partition
    # progress tile by tile in every pass: every count 0..90 once (10 x 9 tiles)
    for stage in ("stats", "write", "final"):
        assert [done for name, done, total in events if name == stage] == list(range(91))
