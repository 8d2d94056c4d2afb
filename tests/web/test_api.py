"""The JSON API of ``seglab serve``, against a real server process (httpx): results, safety, abuse."""

from __future__ import annotations

import io
import json
import os
import time

import numpy as np
import pytest

import seglab


def png_array(content: bytes) -> np.ndarray:
    from PIL import Image

    picture = Image.open(io.BytesIO(content))
    if picture.mode == "P":  # overlays are palette PNGs with transparency
        picture = picture.convert("RGBA")
    return np.asarray(picture)


def read_bytes(content: bytes, suffix: str, tmp_path) -> np.ndarray:
    path = tmp_path / f"download{suffix}"
    path.write_bytes(content)
    return seglab.read(path)


# -- token ------------------------------------------------------------------------------------------
def test_every_request_needs_the_token(server):
    import httpx

    base = server.base
    missing = httpx.get(base + "/api/methods")
    assert missing.status_code == 401
    assert "missing token" in missing.json()["error"]
    for wrong in (httpx.get(base + "/api/methods?token=nope"),
                  httpx.get(base + "/api/methods", headers={"Authorization": "Bearer nope"}),
                  httpx.get(base + "/api/methods", cookies={"seglab_token": "nope"}),
                  httpx.get(base + "/static/app.js?token=" + server.token[:-1])):
        assert wrong.status_code == 403
        assert "wrong token" in wrong.json()["error"]
    assert httpx.get(base + "/static/app.js").status_code == 401
    assert httpx.get(base + "/api/methods?token=" + server.token).status_code == 200
    # the page sets an HttpOnly cookie that then stands for the token
    page = httpx.get(server.url)
    assert page.status_code == 200 and "seglab" in page.text
    cookie = page.headers["set-cookie"]
    assert f"seglab_token={server.token}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert httpx.get(base + "/api/images", cookies={"seglab_token": server.token}).status_code == 200


def test_server_binds_loopback_only(server):
    assert server.base.startswith("http://127.0.0.1:")


def test_methods_equal_the_cli_json(client):
    import subprocess
    import sys

    # the command a user types, in its own process (as the server is): the same catalogue on disk
    printed = subprocess.run([sys.executable, "-m", "seglab", "methods", "--json"], capture_output=True, text=True,
                             check=True)
    assert client.get("/api/methods").json() == json.loads(printed.stdout)


# -- files inside the workspace only ----------------------------------------------------------------
def test_paths_outside_the_workspace_are_not_found(own_server, tmp_path):
    server = own_server
    with server.client() as client:
        _paths_outside(client, server, tmp_path)


def _paths_outside(client, server, tmp_path):
    outside = tmp_path / "secret.png"
    seglab.write(outside, np.full((8, 8), 7, np.uint8))
    link = server.workspace / "escape.png"
    if not link.exists():
        os.symlink(outside, link)
    inside_link = server.workspace / "blobs-link.png"
    if not inside_link.exists():
        os.symlink(server.workspace / "blobs.png", inside_link)
    for path in ("/api/files/%2E%2E/%2E%2E/etc/passwd", "/api/files/..%2F..%2Fetc%2Fpasswd",
                 "/api/files//etc/passwd", "/api/files/%2Fetc%2Fpasswd", f"/api/files/{outside}",
                 "/api/files/escape.png", "/api/images/escape.png/info", "/api/images/..%2Fsecret.png/info",
                 "/api/images/%2E%2E/secret.png/tile?level=3&x=0&y=0", "/api/files/missing.png",
                 "/static/..%2F_app.py", "/api/files/~root"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json() == {"error": "not found"}
    # a run naming a path outside is refused the same way
    answer = client.post("/api/run", json={"image": "../secret.png", "pipeline": {"method": "otsu"}})
    assert answer.status_code == 404
    # a symlink that stays inside the workspace is fine; the one pointing out is not listed
    assert client.get("/api/files/blobs-link.png").content == (server.workspace / "blobs.png").read_bytes()
    names = [item["name"] for item in client.get("/api/images").json()["images"]]
    assert "blobs-link.png" in names and "escape.png" not in names


# -- uploads ----------------------------------------------------------------------------------------
def test_oversized_upload_is_413(client):
    big = b"\x00" * (3 * 2**20)  # the test server runs with --max-upload-mb 2
    answer = client.post("/api/images", files={"file": ("big.png", big, "image/png")})
    assert answer.status_code == 413
    assert "over the limit of 2 MiB" in answer.json()["error"]

    def chunks():  # no Content-Length: counted while reading
        yield (b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
               b"Content-Type: image/png\r\n\r\n")
        for _ in range(6):
            yield b"\x00" * 2**19

    answer = client.post("/api/images", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 413
    assert client.get("/api/methods").status_code == 200


def test_malformed_upload_gives_the_cli_message_and_the_server_goes_on(own_server, tmp_path):
    server = own_server
    with server.client() as client:
        _malformed_upload(client, server, tmp_path)


def _malformed_upload(client, server, tmp_path):
    junk = b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10
    answer = client.post("/api/images", files={"file": ("bad.png", junk, "image/png")})
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert "\n" not in message
    # the same text seglab.read (and so `seglab segment`) gives for that file, path relative to the workspace
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "bad.png").write_bytes(junk)
    with pytest.raises(seglab.ImageReadError, match="corrupt") as caught:
        seglab.read(tmp_path / "uploads" / "bad.png")
    assert message == str(caught.value).replace(str(tmp_path) + "/", "")
    assert not (server.workspace / "uploads" / "bad.png").exists()
    # a bomb: a tiny PNG that declares more pixels than the budget
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    answer = client.post("/api/images", files={"file": ("bomb.png", bomb, "image/png")})
    assert answer.status_code == 413
    assert "pixels" in answer.json()["error"]
    # the server is still serving, and a good upload works
    good = io.BytesIO()
    from PIL import Image

    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(good, format="PNG")
    answer = client.post("/api/images", files={"file": ("../../good name.png", good.getvalue(), "image/png")})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "uploads/good_name.png" and answer.json()["shape"] == [8, 8]
    assert np.array_equal(seglab.read(server.workspace / "uploads" / "good_name.png"),
                          np.arange(64, dtype=np.uint8).reshape(8, 8))


# -- runs -------------------------------------------------------------------------------------------
def test_run_whole_image_equals_segment_and_evaluate(client, workspace, tmp_path):
    image = seglab.read(workspace / "blobs.png")
    truth = seglab.read(workspace / "blobs.truth.png")
    answer = client.post("/api/run", json={"image": "blobs.png", "pipeline": {"method": {"name": "otsu"}},
                                           "truth": "blobs.truth.png"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    expected = seglab.segment(image, "otsu")
    assert result["info"]["threshold"] == expected.info["threshold"]
    assert result["region"] == [0, 0, 512, 512]
    mask = png_array(client.get(result["urls"]["mask.png"]).content) > 0
    assert np.array_equal(mask, expected.mask)
    assert result["metrics"] == pytest.approx(seglab.evaluate(truth, expected.mask))
    tif = read_bytes(client.get(result["urls"]["mask.tif"]).content, ".tif", tmp_path)
    assert np.array_equal(tif > 0, expected.mask)
    # the histogram the page draws, with the threshold inside its range
    hist = result["histogram"]
    assert sum(hist["counts"]) == image.size and hist["lo"] <= expected.info["threshold"] < hist["hi"]
    # the overlay layer is transparent outside the mask
    layer = png_array(client.get(f"/api/results/{result['id']}/overlay").content)
    assert layer.shape == (512, 512, 4)
    assert np.array_equal(layer[..., 3] > 0, expected.mask)


def test_bad_parameter_gives_the_registry_message(client):
    pipeline = {"pre": [{"name": "gaussian", "params": {"sigma": -1}}], "method": {"name": "otsu"}}
    answer = client.post("/api/run", json={"image": "blobs.png", "pipeline": pipeline})
    assert answer.status_code == 400
    with pytest.raises(seglab.ParameterError, match="sigma") as caught:
        seglab.Pipeline.from_dict(pipeline)
    assert answer.json()["error"] == str(caught.value)
    assert client.post("/api/validate", json={"pipeline": pipeline}).json()["error"] == str(caught.value)
    answer = client.post("/api/run", json={"image": "blobs.png", "pipeline": {"method": "otsoo"}})
    assert answer.status_code == 400 and "Did you mean" in answer.json()["error"] or "otsu" in answer.json()["error"]
    answer = client.post("/api/run", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]
    answer = client.post("/api/run", json={"image": "blobs.png", "pipeline": {"method": "random_walker"}})
    assert answer.status_code == 400 and "needs `seeds`" in answer.json()["error"]


def test_region_preview_of_a_local_pipeline_equals_the_whole_result(client, workspace):
    """The halo the steps declare is read around the region, so the preview is exact for local methods."""
    image = seglab.read(workspace / "nuclei.png")
    pipeline = {"pre": [{"name": "gaussian", "params": {"sigma": 2.0}}],
                "method": {"name": "local", "params": {"block_size": 31}}}
    answer = client.post("/api/run", json={"image": "nuclei.png", "pipeline": pipeline, "region": [100, 150, 200, 180]})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["region"] == [100, 150, 200, 180] and result["shape"] == [200, 180]
    preview = png_array(client.get(result["urls"]["mask.png"]).content) > 0
    whole = seglab.segment(image, "local", block_size=31, pre=[("gaussian", {"sigma": 2.0})]).mask
    assert np.array_equal(preview, whole[100:300, 150:330])


def test_tiles_are_the_image_pixels(client, workspace):
    image = seglab.read(workspace / "camera.png")
    info = client.get("/api/images/camera.png/info").json()
    assert info["shape"] == list(image.shape) and info["max_level"] == 9
    tile = png_array(client.get("/api/images/camera.png/tile?level=9&x=1&y=0").content)
    assert np.array_equal(tile, image[0:256, 256:512])
    coarse = png_array(client.get("/api/images/camera.png/tile?level=7&x=0&y=0").content)
    assert coarse.shape == (128, 128)
    assert abs(float(coarse.mean()) - float(image.mean())) < 1.0
    assert client.get("/api/images/camera.png/tile?level=9&x=5&y=0").status_code == 404
    thumb = png_array(client.get("/api/images/astronaut.png/thumbnail?size=64").content)
    assert thumb.shape == (64, 64, 3)


def test_labels_exports_and_objects_equal_measure(client, workspace, tmp_path):
    image = seglab.read(workspace / "nuclei.png")
    pipeline = {"method": {"name": "otsu"}, "post": ["label"]}
    result = client.post("/api/run", json={"image": "nuclei.png", "pipeline": pipeline}).json()
    expected = seglab.segment(image, "otsu", post=["label"]).labels
    assert result["output"] == "labels" and result["n_objects"] == int(expected.max())
    labels = read_bytes(client.get(result["urls"]["labels.tif"]).content, ".tif", tmp_path)
    assert np.array_equal(labels, expected)
    table = client.get(f"/api/results/{result['id']}/objects").json()
    measured = seglab.instance.measure(expected, image)
    assert table["n_objects"] == len(measured["area"])
    assert table["columns"]["area"] == pytest.approx(np.asarray(measured["area"]).tolist())
    csv_text = client.get(result["urls"]["objects.csv"]).text
    assert csv_text.splitlines()[0].startswith("label,area") or "area" in csv_text.splitlines()[0]
    assert len(csv_text.strip().splitlines()) == len(measured["area"]) + 1


def test_compare_scores_equal_evaluate(client, workspace):
    image = seglab.read(workspace / "blobs.png")
    truth = seglab.read(workspace / "blobs.truth.png")
    answer = client.post("/api/compare", json={"image": "blobs.png", "truth": "blobs.truth.png",
                                               "pipelines": [{"method": "otsu"}, {"method": "li"},
                                                             {"method": "yen"}]})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["results"]
    for row, name in zip(rows, ("otsu", "li", "yen")):
        assert row["metrics"] == pytest.approx(seglab.evaluate(truth, seglab.segment(image, name).mask))
        confusion = png_array(client.get(f"/api/results/{row['id']}/confusion.png").content)
        assert confusion.shape == (512, 512, 3)


def test_exported_pipeline_reproduces_the_mask_in_the_cli(client, workspace, tmp_path):
    from seglab.cli.main import main

    pipeline = {"pre": [{"name": "median", "params": {"size": 5}}],
                "method": {"name": "local", "params": {"block_size": 51, "offset": -2.5}},
                "post": [{"name": "remove_small_objects", "params": {"min_size": 30}}]}
    result = client.post("/api/run", json={"image": "vessels.png", "pipeline": pipeline}).json()
    (tmp_path / "p.yaml").write_bytes(client.get(result["urls"]["pipeline.yaml"]).content)
    served = png_array(client.get(result["urls"]["mask.png"]).content)
    assert main(["segment", str(workspace / "vessels.png"), "--pipeline", str(tmp_path / "p.yaml"),
                 "--out", str(tmp_path / "out")]) == 0
    assert np.array_equal(seglab.read(tmp_path / "out" / "vessels.mask.png"), served)


# -- jobs -------------------------------------------------------------------------------------------
def wait_job(client, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["state"] in ("done", "failed", "cancelled"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {state}")


def test_job_progress_events_and_result(client, workspace):
    image = seglab.read(workspace / "coins.png")
    job = client.post("/api/jobs", json={"image": "coins.png", "pipeline": {"method": "yen"}})
    assert job.status_code == 202
    events = []
    with client.stream("GET", f"/api/jobs/{job.json()['id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["state"] == "done" and events[-1]["progress"] == 1.0
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    result = client.get(f"/api/results/{events[-1]['result_id']}").json()
    mask = png_array(client.get(result["urls"]["mask.png"]).content) > 0
    assert np.array_equal(mask, seglab.segment(image, "yen").mask)


def test_job_cancel_stops_the_work(client):
    # random walker with the exact solver on 512 x 512: seconds of work, cancelled at once
    strokes = [{"class": 1, "points": [[5, 5], [5, 500]], "width": 3},
               {"class": 2, "points": [[256, 100], [256, 400]], "width": 3}]
    job = client.post("/api/jobs", json={"image": "camera.png", "pipeline": {"method": "random_walker"},
                                         "drawing": {"strokes": strokes}}).json()
    time.sleep(0.5)
    cancelled = client.delete(f"/api/jobs/{job['id']}").json()
    assert cancelled["state"] == "cancelled"
    assert wait_job(client, job["id"])["state"] == "cancelled"
    assert client.get(f"/api/jobs/{job['id']}").json()["result_id"] is None
    bad = client.post("/api/jobs", json={"image": "camera.png", "pipeline": {"method": "random_walker"}})
    assert bad.status_code == 400 and "needs `seeds`" in bad.json()["error"]


def test_client_disconnecting_mid_job_and_mid_run(client, server):
    import httpx

    strokes = [{"class": 1, "points": [[5, 5], [5, 150]], "width": 3},
               {"class": 2, "points": [[100, 60], [110, 80]], "width": 3}]
    body = {"image": "coins.png", "pipeline": {"method": "random_walker"}, "drawing": {"strokes": strokes}}
    job = client.post("/api/jobs", json=dict(body, image="small/blobs.png")).json()
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                break  # hang up after the first event
    # a synchronous run whose client gives up before the answer
    with pytest.raises(httpx.ReadTimeout):
        server.client(timeout=0.2).post("/api/run", json=body)
    assert client.get("/api/methods").status_code == 200
    finished = wait_job(client, job["id"])
    assert finished["state"] == "done"
    result = client.get(f"/api/results/{finished['result_id']}").json()
    assert result["output"] == "labels"
    seeds = client.get(result["urls"]["seeds.tif"])
    assert seeds.status_code == 200


def test_drawn_inputs_match_the_api(client, workspace, tmp_path):
    """Seeds painted in a request are what random_walker receives (exported as seeds.tif for the CLI)."""
    from seglab.cli.main import main

    image = seglab.read(workspace / "small" / "blobs.png")
    strokes = [{"class": 1, "points": [[5, 5], [5, 150], [60, 150]], "width": 5},
               {"class": 2, "points": [[100, 60], [110, 80]], "width": 7},
               {"class": 2, "points": [[5, 100]], "width": 9, "erase": True}]
    body = {"image": "small/blobs.png", "pipeline": {"method": {"name": "random_walker", "params": {"beta": 500}}},
            "drawing": {"strokes": strokes}}
    result = client.post("/api/run", json=body).json()
    seeds = read_bytes(client.get(result["urls"]["seeds.tif"]).content, ".tif", tmp_path)
    assert set(np.unique(seeds)) == {0, 1, 2} and seeds[5, 50] == 1 and seeds[105, 70] == 2
    assert seeds[5, 100] == 0  # erased
    labels = read_bytes(client.get(result["urls"]["labels.tif"]).content, "2.tif", tmp_path)
    expected = seglab.segment(image, "random_walker", beta=500, seeds=seeds.astype(np.int32)).labels
    assert np.array_equal(labels, expected)
    # the CLI reproduces it from the exported pipeline and seeds
    (tmp_path / "p.yaml").write_bytes(client.get(result["urls"]["pipeline.yaml"]).content)
    (tmp_path / "seeds.tif").write_bytes(client.get(result["urls"]["seeds.tif"]).content)
    assert main(["segment", str(workspace / "small" / "blobs.png"), "--pipeline", str(tmp_path / "p.yaml"),
                 "--seeds", str(tmp_path / "seeds.tif"), "--out", str(tmp_path / "out")]) == 0
    assert np.array_equal(seglab.read(tmp_path / "out" / "blobs.labels.tif"), labels)
    # a rectangle for GrabCut
    rect = client.post("/api/run", json={"image": "small/astronaut.png", "pipeline": {"method": "grabcut"},
                                         "drawing": {"rect": [5, 30, 75, 62]}}).json()
    assert rect["output"] == "mask"
    astro = seglab.read(workspace / "small" / "astronaut.png")
    mask = png_array(client.get(rect["urls"]["mask.png"]).content) > 0
    assert np.array_equal(mask, seglab.segment(astro, "grabcut", rect=(5, 30, 75, 62)).mask)
    # a circle for the snake: the answer carries the fitted contour in image coordinates
    snake = client.post("/api/run", json={"image": "small/blobs.png",
                                          "pipeline": {"method": {"name": "active_contour",
                                                                  "params": {"max_num_iter": 300}}},
                                          "drawing": {"contour": {"circle": [80, 96, 40]}}}).json()
    from seglab.interactive.inputs import circle_contour

    expected = seglab.segment(image, "active_contour", max_num_iter=300, contour=circle_contour(80, 96, 40))
    assert np.allclose(np.asarray(snake["info"]["contour"]), expected.contour)


def test_an_empty_workspace_serves_nothing(launch_server, tmp_path):
    srv = launch_server(tmp_path)
    with srv.client() as c:
        assert c.get("/api/images").json() == {"workspace": str(tmp_path.resolve()), "images": []}
        assert c.post("/api/run", json={"image": "x.png", "pipeline": "otsu"}).status_code == 404


def test_serve_refuses_bad_options_in_one_line(capsys, tmp_path):
    import socket

    from seglab.cli.main import main

    assert main(["serve", "--no-browser", "--port", "99999", "--workspace", str(tmp_path)]) == 2
    expected = "seglab: error: --port got 99999; expected 1..65535 (or 0 for a free port)"
    assert capsys.readouterr().err.strip() == expected
    assert main(["serve", "--no-browser", "--workspace", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--no-browser", "--port", str(port), "--workspace", str(tmp_path)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_zarr_images_are_listed_shown_and_segmented(own_server):
    pytest.importorskip("zarr", reason="zarr inputs need seglab[scale]")
    workspace = own_server.workspace
    image = seglab.read(workspace / "coins.png")
    seglab.write(workspace / "coins.zarr", image)
    with own_server.client() as client:
        _zarr_listed(client, image)


def _zarr_listed(client, image):
    names = [item["name"] for item in client.get("/api/images").json()["images"]]
    assert "coins.zarr" in names
    assert client.get("/api/images/coins.zarr/info").json()["shape"] == list(image.shape)
    tile = png_array(client.get("/api/images/coins.zarr/tile?level=9&x=0&y=0").content)
    assert np.array_equal(tile, image[:256, :256])
    result = client.post("/api/run", json={"image": "coins.zarr", "pipeline": "li"}).json()
    assert np.array_equal(png_array(client.get(result["urls"]["mask.png"]).content) > 0,
                          seglab.segment(image, "li").mask)


def test_large_inputs_are_read_by_region(tmp_path, monkeypatch):
    """Above the lazy size a TIFF or zarr is never read whole for display or preview (in-process check)."""
    import tifffile

    from seglab.web import _workspace

    image = (np.arange(600 * 700) % 251).astype(np.uint8).reshape(600, 700)
    tifffile.imwrite(tmp_path / "big.tif", image, tile=(128, 128))
    monkeypatch.setattr(_workspace, "LAZY_PIXELS", 1000)
    workspace = _workspace.Workspace(tmp_path)
    source = workspace.source("big.tif")
    assert source.lazy and source.shape == (600, 700)
    assert np.array_equal(source.region(100, 200, 50, 60), image[100:150, 200:260])
    assert np.array_equal(source.tile(source.max_level, 1, 2), image[512:600, 256:512])
    overview = source.overview()
    assert overview.shape == (75, 87)
    assert np.array_equal(workspace.read_whole("big.tif"), image)


def test_kmeans_elbow_curve_travels_with_the_result(client, workspace):
    image = seglab.read(workspace / "blobs.png")
    result = client.post("/api/run", json={"image": "blobs.png",
                                           "pipeline": {"method": {"name": "kmeans",
                                                                   "params": {"n_clusters": "auto"}}}}).json()
    expected = seglab.segment(image, "kmeans", n_clusters="auto")
    assert result["info"]["n_clusters"] == expected.info["n_clusters"]
    assert result["info"]["curves"]["k_values"] == expected.extras["k_values"].tolist()
    assert result["info"]["curves"]["inertias"] == pytest.approx(expected.extras["inertias"].tolist())
