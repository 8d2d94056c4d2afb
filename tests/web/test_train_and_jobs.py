"""Training a U-Net from the API, per-tile job progress and zarr exports, against a real ``seglab serve``."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import seglab
from seglab.metrics.binary import binary_scores

from .conftest import TINY_UNET


def job_events(client, job_id: str) -> list[dict]:
    """Every state of a job from its server-sent event stream, until it ends."""
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def test_train_a_unet_then_segment_with_it(launch_server, train_workspace):
    pytest.importorskip("torch", reason="U-Net training needs seglab[deep] (torch, MONAI)")
    pytest.importorskip("monai", reason="U-Net training needs seglab[deep] (torch, MONAI)")
    server = launch_server(train_workspace)
    with server.client() as client:
        answer = client.post("/api/train/unet", json={"images": "train", "epochs": 4, "options": TINY_UNET,
                                                      "name": "disks"})
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["kind"] == "train" and job["detail"]["pairs"] == 3
        events = job_events(client, job["id"])
        final = events[-1]
        assert final["state"] == "done", final
        assert final["model"] == "models/disks"
        # one event per epoch, with its validation score, and a bar that only moves forward
        epochs = [e["detail"]["epoch"] for e in events if e["stage"].startswith("epoch ")]
        assert epochs == [1, 2, 3, 4]
        assert [e["progress"] for e in events] == sorted(e["progress"] for e in events)
        detail = final["detail"]
        assert detail["metric"] == "F1" and detail["epochs_run"] == 4 and detail["method"] == "unet"
        # the count the page shows stays a count; the files come beside it
        assert detail["pairs"] == 3 and [pair[0] for pair in detail["pair_files"]] == [
            "train/d0.png", "train/d1.png", "train/d2.png"]
        history = {h["epoch"]: h["validation"] for h in detail["history"]}
        assert list(history) == [1, 2, 3, 4] and detail["best"] == max(history.values())
        assert history[detail["best_epoch"]] == detail["best"]
        # the model folder is complete and is what `seglab train --model unet` writes
        folder = train_workspace / "models" / "disks"
        config = json.loads((folder / "config.json").read_text())
        assert config["kind"] == "unet" and config["method"] == "unet"
        assert sorted(d["file"].split("/")[-1] for d in config["training"]["data"]) == [
            "d0.png", "d0.truth.png", "d1.png", "d1.truth.png", "d2.png", "d2.truth.png"]
        assert not list((train_workspace / "models").glob(".*"))  # no partial folder left
        listed = client.get("/api/models").json()["models"]
        assert [(m["name"], m["methods"]) for m in listed] == [("models/disks", ["unet", "unet_instance"])]
        # use it: the unet method with the model, on the held-out image, against its truth
        result = client.post("/api/run", json={"image": "held-out.png", "truth": "held-out.truth.png",
                                               "pipeline": {"method": {"name": "unet", "params": {
                                                   "model": "models/disks", "window": 64}}}}).json()
        assert result["metrics"]["f1"] > 0.85, result["metrics"]
        served = client.get(result["urls"]["mask.png"]).content
        from PIL import Image

        mask = np.asarray(Image.open(io.BytesIO(served))) > 0
        truth = seglab.read(train_workspace / "held-out.truth.png") > 0
        assert binary_scores(truth, mask)["f1"] == pytest.approx(result["metrics"]["f1"])
        # the same model through the Python API gives the same mask
        direct = seglab.segment(seglab.read(train_workspace / "held-out.png"), "unet",
                                params={"model": str(folder), "window": 64})
        assert np.array_equal(direct.mask, mask)


def test_training_requests_are_checked_before_any_work(launch_server, train_workspace):
    server = launch_server(train_workspace)
    with server.client() as client:
        for body, status, message in (
                ({"images": "../outside"}, 404, "not found"),
                ({"images": "train", "task": "panoptic"}, 400, "`task` got 'panoptic'"),
                ({"images": "train", "epochs": 0}, 400, "`epochs` got 0"),
                ({"images": "train", "options": {"patchsize": 32}}, 400, "unknown training option `patchsize`"),
                ({"images": "train", "name": "../x"}, 400, "`name` got '../x'"),
                ({"images": "held-out.png", "truths": "train/d0.truth.png", "epochs": 1, "nope": 1}, 400,
                 "unknown request key 'nope'")):
            answer = client.post("/api/train/unet", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert message in answer.json()["error"]
        (train_workspace / "lonely").mkdir()
        seglab.write(train_workspace / "lonely" / "a.png", np.zeros((8, 8), np.uint8))
        seglab.write(train_workspace / "lonely" / "b.png", np.zeros((8, 8), np.uint8))
        answer = client.post("/api/train/unet", json={"images": "lonely"})
        assert answer.status_code == 400 and "no image could be paired with a truth file" in answer.json()["error"]


@pytest.mark.slow
def test_cancelling_a_training_leaves_no_model(launch_server, train_workspace):
    pytest.importorskip("torch", reason="U-Net training needs seglab[deep] (torch, MONAI)")
    server = launch_server(train_workspace)
    with server.client() as client:
        job = client.post("/api/train/unet", json={"images": "train", "epochs": 500, "options": TINY_UNET,
                                                   "name": "long"}).json()
        with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
            for line in stream.iter_lines():  # wait for the first epoch: the training is under way
                if line.startswith("data: ") and json.loads(line[6:])["stage"].startswith("epoch "):
                    break
        cancelled = client.delete(f"/api/jobs/{job['id']}").json()
        assert cancelled["state"] == "cancelled"
        final = job_events(client, job["id"])[-1]
        assert final["state"] == "cancelled" and final["model"] is None
        import time

        for _ in range(100):  # the job's process is terminated, its partial folder removed
            if not list((train_workspace / "models").iterdir()):
                break
            time.sleep(0.1)
        assert list((train_workspace / "models").iterdir()) == []
        assert client.get("/api/models").json() == {"models": []}


def test_tiled_job_reports_each_tile_and_equals_segment(client, workspace):
    # 512 x 512 in 128-pixel tiles: 16 tiles, Otsu's threshold from the tiler's histogram pass
    job = client.post("/api/jobs", json={"image": "blobs.png", "pipeline": {"method": "otsu"}, "chunk": 128,
                                         "truth": "blobs.truth.png"}).json()
    events = job_events(client, job["id"])
    assert events[-1]["state"] == "done", events[-1]
    tiles = [e for e in events if ": tile " in e["stage"]]
    fractions = [e["progress"] for e in tiles]
    assert len(set(fractions)) > 1 and fractions == sorted(fractions)
    assert any(e["stage"] == "segmenting: tile 16/16" for e in tiles)
    result = client.get(f"/api/results/{events[-1]['result_id']}").json()
    assert result["info"]["tiled"] == {"chunk": 128, "tiles": 16}
    image = seglab.read(workspace / "blobs.png")
    expected = seglab.segment(image, "otsu")
    from PIL import Image

    mask = np.asarray(Image.open(io.BytesIO(client.get(result["urls"]["mask.png"]).content))) > 0
    assert np.array_equal(mask, expected.mask)
    assert result["info"]["threshold"] == pytest.approx(expected.info["threshold"])
    assert result["metrics"]["f1"] == pytest.approx(seglab.evaluate(seglab.read(workspace / "blobs.truth.png"),
                                                                     expected.mask)["f1"])


def test_chunk_is_refused_where_it_does_not_apply(client):
    answer = client.post("/api/run", json={"image": "blobs.png", "pipeline": {"method": "otsu"}, "chunk": 128,
                                           "region": [0, 0, 64, 64]})
    assert answer.status_code == 400 and "`chunk` applies to whole-image jobs" in answer.json()["error"]
    answer = client.post("/api/jobs", json={"image": "blobs.png", "pipeline": {"method": "otsu"}, "chunk": 7})
    assert answer.status_code == 400 and "`chunk` got 7" in answer.json()["error"]


@pytest.mark.parametrize(("method", "kind"), [("otsu", "mask"), ("watershed_distance", "labels")])
def test_zarr_export_equals_png_and_is_read_by_seglab(own_server, tmp_path, method, kind):
    workspace = own_server.workspace
    with own_server.client() as client:
        _zarr_export(client, workspace, tmp_path, method, kind)


def _zarr_export(client, workspace, tmp_path, method, kind):
    result = client.post("/api/run", json={"image": "nuclei.png", "pipeline": {"method": method}}).json()
    assert result["output"] == kind
    png = client.get(result["urls"][f"{kind}.png"])
    (tmp_path / f"{kind}.png").write_bytes(png.content)
    reference = seglab.read(tmp_path / f"{kind}.png")
    download = client.get(result["urls"][f"{kind}.zarr.zip"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path / "unzipped")
    store = tmp_path / "unzipped" / f"{kind}.zarr"
    assert np.array_equal(seglab.read(store), reference)
    # saved into the workspace: listed with the images, read by seglab.read, equal to the PNG
    saved = client.post(f"/api/results/{result['id']}/save", json={"file": f"{kind}.zarr"}).json()["name"]
    assert saved.startswith("exports/nuclei-") and saved.endswith(f".{kind}.zarr")
    assert np.array_equal(seglab.read(workspace / saved), reference)
    assert saved in [item["name"] for item in client.get("/api/images").json()["images"]]
    assert not [p for p in (workspace / "exports").iterdir() if p.name.startswith(".")]  # no temporary left
    wrong = client.post(f"/api/results/{result['id']}/save", json={"file": "mask.exe"})
    assert wrong.status_code == 400 and "`file` got 'mask.exe'" in wrong.json()["error"]
