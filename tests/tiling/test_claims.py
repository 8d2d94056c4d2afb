"""Passes run as one long task per worker thread that claims its tiles itself (``_backends._claimed_pass``).

Real LocalClusters throughout: worker threads (``processes=False``) where the test follows which worker ran
what, worker processes where a worker is killed mid-pass.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from seglab.tiling._backends import _execute

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:distributed"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed")]


@pytest.fixture(scope="module")
def thread_cluster():
    from seglab.tiling import make_client

    client, cluster = make_client(workers=2, processes=False)
    with cluster, client:
        yield client


def _worker_name():
    from distributed import get_worker

    return get_worker().address


#: (worker address, item) of every tile `_slow_or_fast_tile` ran (worker threads of this process)
RAN: list = []


def _slow_or_fast_tile(job, item):
    """A tile that takes 5 ms on the first worker and 30 ms on the second (a busy core)."""
    address = _worker_name()
    RAN.append((address, item))  # list.append is atomic: the two worker threads may both append
    time.sleep(0.005 if address == min(job[1]) else 0.03)
    return job[0] * item


def test_each_worker_runs_its_own_run_then_takes_the_far_end_of_the_slower_ones(thread_cluster, tmp_path):
    """Two workers, one six times slower per tile: each starts at the front of its own contiguous run, the
    fast one then takes single tiles from the far end of the slow one's run; every tile runs once, results
    come back in item order, progress counts 0..N once each, and the scheduler saw one task per worker."""
    from distributed import get_task_stream

    client = thread_cluster
    workers = sorted(client.scheduler_info()["workers"])
    RAN.clear()
    items = list(range(24))
    events = []
    with get_task_stream(client) as stream:
        results = _execute(client, _slow_or_fast_tile, (3, workers), items, "write",
                           lambda *event: events.append(event), weights=[1] * 24, claims=tmp_path)
    assert results == [3 * i for i in items]
    assert events == [("write", done, 24) for done in range(25)]
    fast = [item for address, item in RAN if address == workers[0]]
    slow = [item for address, item in RAN if address == workers[1]]
    assert sorted(fast + slow) == items  # every tile exactly once
    assert fast[:12] == list(range(12))  # its own run, front to back
    stolen = fast[12:]
    assert stolen and stolen == list(range(23, 23 - len(stolen), -1))  # the far end of the other run, backwards
    assert slow == list(range(12, 24 - len(stolen)))  # the slow worker's run up to where the stealing met it
    assert len(stream.data) == 2  # one task per worker for the whole pass
    assert not list(tmp_path.iterdir())  # the pass's claim folder is removed when it ends


def test_fetch_gets_each_result_from_what_the_task_wrote_as_the_tile_finishes(thread_cluster, tmp_path):
    """With `fetch`, the tasks return nothing and the client reads each tile's result (here a file the
    tile wrote) as soon as the tile is logged; `reduce` sees every result once."""
    client = thread_cluster
    folder = tmp_path / "out"
    folder.mkdir()

    def tile(job, item):
        np.save(folder / f"{item}.npy", np.full(3, item * item))
        return "not sent"

    got = []
    results = _execute(client, tile, None, list(range(9)), "write", None, reduce=got.append,
                       claims=tmp_path / "work", fetch=lambda item: int(np.load(folder / f"{item}.npy").sum()))
    assert sorted(got) == [3 * i * i for i in range(9)]
    assert len(results) == 9


def test_a_failing_tile_stops_the_pass_and_raises_its_error(thread_cluster, tmp_path):
    """A tile that raises: the error reaches the caller, and the other worker claims no further tile once
    the pass is stopped (it finishes the one it runs)."""
    client = thread_cluster
    count = []

    def tile(job, item):
        count.append(item)
        if item == 2:
            raise ValueError("tile 2 is broken")
        time.sleep(0.02)
        return item

    with pytest.raises(ValueError, match="tile 2 is broken"):
        _execute(client, tile, None, list(range(40)), "write", None, claims=tmp_path)
    time.sleep(0.1)  # nothing is still running: the count stays where the error left it
    assert len(count) < 20
    assert (next(tmp_path.glob("claims-*")) / "stop").exists()  # left for remove_scratch (claims-*)


def test_a_worker_killed_mid_pass_its_tiles_run_again(tmp_path):
    """A worker process dies while it runs a tile (os._exit): its task runs again on a worker, the tiles it
    had claimed but not finished run through the guided dispatch, and every result comes back."""
    from seglab.tiling import make_client

    marker = tmp_path / "died"

    def tile(job, item):
        if item == 3 and not marker.exists():
            marker.touch()
            os._exit(1)
        time.sleep(0.01)
        return item * 2

    client, cluster = make_client(workers=2)
    with cluster, client:
        results = _execute(client, tile, None, list(range(16)), "write", None, weights=[1] * 16,
                           claims=tmp_path / "work")
    assert marker.exists()
    assert results == [2 * i for i in range(16)]


def test_one_worker_runs_each_pass_as_one_task_with_progress_tile_by_tile(tmp_path):
    """One worker: each pass of a labels run is one task (no gap between tiles, no per-tile scheduling), the
    labels equal the in-memory ones, progress counts every tile, and no claim folder is left behind."""
    from distributed import get_task_stream
    from test_tiled import assert_equivalent_labeling

    import seglab
    from seglab import Pipeline
    from seglab.tiling import make_client, run_tiled

    if "otsu" not in seglab.list_methods() or "label" not in seglab.list_steps("post"):
        pytest.skip("needs the threshold family and the label post-step")
    from conftest import make_blobs

    image = make_blobs((200, 300))
    pipeline = Pipeline.build("otsu", post=["label"])
    events = []
    client, cluster = make_client(workers=1, processes=False)
    with cluster, client, get_task_stream(client) as stream:
        out = run_tiled(image, pipeline, tmp_path / "o.zarr", chunk=64, client=client,
                        progress=lambda event: events.append((event.stage, event.done)))
    assert_equivalent_labeling(out[:], pipeline.run(image).data)
    for stage in ("stats", "write", "final"):
        assert [done for name, done in events if name == stage] == list(range(21))  # 4 x 5 tiles
    passes = sorted({str(task["key"]).split("-")[0] for task in stream.data})
    assert passes == ["final_task", "stats_task", "write_task"] and len(stream.data) == 3
    assert not list((tmp_path / "o.zarr" / "_seglab").glob("claims-*"))
