"""Bad requests to the web API (``seglab serve``), in process through FastAPI's TestClient.

The same promise as the CLI corpus: a bad request gets one JSON error line with a 4xx status that says what
was wrong, never a 500 "unexpected ..." (round 2 of the hardening: drawn strokes, rectangles and contours
with odd values, windows outside the image or result).
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

import seglab

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with warnings.catch_warnings():
        # starlette's TestClient warns (StarletteDeprecationWarning) about its httpx dependency on import
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from seglab.web._app import create_app

    root = tmp_path_factory.mktemp("workspace")
    rows, cols = np.mgrid[:64, :80]
    image = np.where((rows - 32) ** 2 + (cols - 40) ** 2 < 15**2, 190, 40).astype(np.uint8)
    seglab.write(root / "g.png", image)
    seglab.write(root / "g.truth.png", (image > 100).astype(np.uint8) * 255)
    seglab.write(root / "c.png", np.dstack([image, image // 2, 255 - image]))  # grabcut takes colour
    app = create_app(root, token="tok")
    with TestClient(app, headers={"Authorization": "Bearer tok"}, raise_server_exceptions=False) as test_client:
        yield test_client


def _post(client, path, body):
    # json.dumps writes inf as Infinity, which Python's json (the server's parser) reads back
    return client.post(path, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


RW = {"image": "g.png", "pipeline": "random_walker"}
CASES = {
    "stroke-point-1e300": (RW | {"drawing": {"strokes": [{"class": 1, "points": [[1e300, 5]]},
                                                         {"class": 2, "points": [[30, 30]]}]}},
                           r"stroke #0: `points` must lie within 1,073,741,824 pixels of the image; got 1e\+300"),
    "stroke-point-1e12-wraps": (RW | {"drawing": {"strokes": [{"class": 1, "points": [[1e12, 1e12], [5, 5]]},
                                                              {"class": 2, "points": [[30, 30]]}]}},
                                r"stroke #0: `points` must lie within"),
    "rect-infinite": ({"image": "c.png", "pipeline": "grabcut", "drawing": {"rect": [0, 0, float("inf"), 10]}},
                      r"`drawing.rect` got \[0, 0, inf, 10\]; expected \[row, col, height, width\] \(4 finite"),
    "rect-whole-image": ({"image": "c.png", "pipeline": "grabcut", "drawing": {"rect": [0, 0, 500, 500]}},
                         r"covers the whole 64 x 80 image"),
    "contour-circle-text": ({"image": "g.png", "pipeline": "active_contour",
                             "drawing": {"contour": {"circle": ["a", 1, 2]}}},
                            r"`drawing.contour.circle` got \['a', 1, 2\]; expected \[row, col, radius\]"),
    "contour-circle-two-numbers": ({"image": "g.png", "pipeline": "active_contour",
                                    "drawing": {"contour": {"circle": [1, 2]}}}, r"`drawing.contour.circle` got \[1, 2\]"),
    "contour-circle-number": ({"image": "g.png", "pipeline": "active_contour", "drawing": {"contour": {"circle": 5}}},
                              r"`drawing.contour.circle` got 5"),
    "contour-points-text": ({"image": "g.png", "pipeline": "active_contour", "drawing": {"contour": [["a", 1]]}},
                            r"`contour` got \[\['a', 1\]\]; expected \(K, 2\)"),
    "contour-points-object-too-short": ({"image": "g.png", "pipeline": "active_contour",
                                         "drawing": {"contour": {"points": [[1, 2]]}}},
                                        r"`contour` has shape \(1, 2\); expected \(K, 2\)"),
    "contour-outside-image": ({"image": "g.png", "pipeline": "active_contour",
                               "drawing": {"contour": {"circle": [500, 500, 5]}}}, r"`contour` lies outside the image"),
    "region-outside-image": ({"image": "g.png", "pipeline": "otsu", "region": [1000, 1000, 10, 10]},
                             r"`region` starts at row 1000, col 1000, outside the 64 x 80 image"),
    "overlay-not-a-bool": ({"image": "g.png", "pipeline": "otsu", "overlay": "no"}, r"`overlay` got 'no'; expected true"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_run_request_is_one_4xx_error(client, name):
    body, pattern = CASES[name]
    answer = _post(client, "/api/run", body)
    error = answer.json().get("error", "")
    assert 400 <= answer.status_code < 500, (answer.status_code, error)
    assert "unexpected" not in error and "\n" not in error
    assert re.search(pattern, error), error


def test_windows_outside_the_image_or_result_are_4xx(client):
    answer = client.get("/api/images/g.png/region", params={"row": 1000, "col": 0, "height": 10, "width": 10})
    assert answer.status_code == 400
    assert answer.json()["error"] == "`region` (row=1000, col=0, height=10, width=10) lies outside the 64 x 80 image"
    run = _post(client, "/api/run", {"image": "g.png", "pipeline": "otsu"})
    assert run.status_code == 200
    result = run.json()["id"]
    answer = client.get(f"/api/results/{result}/overlay", params={"row": -100, "col": -100, "height": -5, "width": 10})
    assert answer.status_code == 400
    assert answer.json()["error"] == ("the window (row=-100, col=-100, height=-5, width=10) holds no pixel of this "
                                      "result (rows 0..63, cols 0..79)")
    answer = client.get(f"/api/results/{result}/objects", params={"limit": -1})
    assert answer.status_code == 400 and "`limit` got -1" in answer.json()["error"]
    table = client.get(f"/api/results/{result}/objects", params={"limit": 0}).json()
    assert table["n_objects"] == 1 and table["truncated"] is True


def test_strokes_inside_still_paint_seeds(client):
    """The bound on stroke coordinates leaves ordinary strokes (inside, or a little outside) as they were."""
    body = RW | {"drawing": {"strokes": [{"class": 1, "points": [[-20, -20], [3, 3]], "width": 3},
                                         {"class": 2, "points": [[32, 40]], "width": 3}]}}
    answer = _post(client, "/api/run", body)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["info"]["classes"] == [1, 2]
