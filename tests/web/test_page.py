"""The workbench page in a real browser (Debian chromium through Playwright): click and draw as a user does.

Every test checks what the user sees against the Python API: the mask the page shows is
``seglab.segment``'s, the metrics table holds ``seglab.evaluate``'s numbers, the exported pipeline
gives the same mask in ``seglab segment``.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import seglab

from .conftest import open_page


def png_array(content: bytes) -> np.ndarray:
    from PIL import Image

    picture = Image.open(io.BytesIO(content))
    if picture.mode == "P":  # overlays are palette PNGs with transparency
        picture = picture.convert("RGBA")
    return np.asarray(picture)


def current_result_id(page) -> str | None:
    return page.evaluate("document.body.dataset.resultId || null")


def wait_new_result(page, previous, timeout=90_000) -> dict:
    """Wait until the page shows a result other than `previous` and is idle; return the result JSON."""
    page.wait_for_function(
        "prev => document.body.dataset.resultId && document.body.dataset.resultId !== prev"
        " && !document.body.dataset.busy", arg=previous, timeout=timeout)
    return page.evaluate("window.seglab.result")


def open_image(page, name: str) -> dict:
    previous = current_result_id(page)
    page.click(f"#image-list li[data-name='{name}']")
    page.wait_for_function("n => document.body.dataset.image === n", arg=name)
    settle(page)
    return wait_new_result(page, previous)


def settle(page):
    """Wait until the deep-zoom view has stopped animating."""
    page.wait_for_function(
        "() => { const v = window.seglab.viewer.viewport;"
        " return v && Math.abs(v.getZoom(true) - v.getZoom(false)) < 1e-9"
        " && Math.abs(v.getCenter(true).x - v.getCenter(false).x) < 1e-9 }")


def screen_point(page, row: float, col: float) -> tuple[float, float]:
    """Page coordinates of image pixel (row, col)'s centre."""
    return tuple(page.evaluate(
        "([r, c]) => { const [x, y] = toScreen(r + 0.5, c + 0.5);"
        " const box = document.getElementById('draw').getBoundingClientRect(); return [box.left + x, box.top + y]; }",
        [float(row), float(col)]))


def drag(page, points):
    """Press, move through `points` (image coordinates) and release, as a hand with a mouse does."""
    x, y = screen_point(page, *points[0])
    page.mouse.move(x, y)
    page.mouse.down()
    for row, col in points[1:]:
        x, y = screen_point(page, row, col)
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def canvas_rgba(page, row: float, col: float) -> list[int]:
    return page.evaluate(
        "([r, c]) => { const [x, y] = toScreen(r + 0.5, c + 0.5); const dpr = window.devicePixelRatio || 1;"
        " return Array.from(document.getElementById('draw').getContext('2d')"
        ".getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data); }", [float(row), float(col)])


def served_mask(client, result) -> np.ndarray:
    return png_array(client.get(result["urls"]["mask.png"]).content) > 0


def test_open_a_sample_pick_otsu_see_the_mask_then_run_whole(page, client, workspace, screenshot):
    image = seglab.read(workspace / "blobs.png")
    page.select_option("#method", "li")
    page.wait_for_timeout(300)
    result = open_image(page, "blobs.png")
    assert result["pipeline"]["method"]["name"] == "li"
    previous = result["id"]
    page.select_option("#method", "otsu")  # pick Otsu
    result = wait_new_result(page, previous)
    expected = seglab.segment(image, "otsu")
    assert result["output"] == "mask" and result["info"]["threshold"] == expected.info["threshold"]
    assert np.array_equal(served_mask(client, result), expected.mask)
    # what the user sees: red where the mask is, nothing drawn where it is not
    from scipy import ndimage as ndi

    depth = ndi.distance_transform_edt(expected.mask)
    inside = np.unravel_index(np.argmax(depth), depth.shape)
    outside = np.unravel_index(np.argmax(ndi.distance_transform_edt(~expected.mask)), depth.shape)
    r, g, b, a = canvas_rgba(page, *inside)
    assert a > 0 and r > g and r > b
    assert canvas_rgba(page, *outside)[3] == 0
    # the histogram shows the chosen threshold
    assert page.evaluate("JSON.parse(document.getElementById('histogram').dataset.thresholds)") == [
        expected.info["threshold"]]
    assert page.inner_text("#info-table tr[data-key='threshold'] td:last-child") == f"{expected.info['threshold']:g}"
    screenshot(page, "workbench-otsu")
    # the whole image as a job with a progress bar
    page.click("#run-whole")
    page.wait_for_selector("body[data-job='done']", timeout=90_000)
    job_result = page.evaluate("window.seglab.result")
    assert job_result["id"] != result["id"] and job_result["region"] == [0, 0, 512, 512]
    assert np.array_equal(served_mask(client, job_result), expected.mask)


def test_changing_a_parameter_changes_the_preview(page, client, workspace):
    image = seglab.read(workspace / "coins.png")
    open_image(page, "coins.png")
    previous = current_result_id(page)
    page.select_option("#method", "manual")
    result = wait_new_result(page, previous)
    assert np.array_equal(served_mask(client, result), image > 128)
    page.fill("#params input[name='threshold']", "90")
    result = wait_new_result(page, result["id"])
    assert result["pipeline"]["method"]["params"]["threshold"] == 90
    assert np.array_equal(served_mask(client, result), seglab.segment(image, "manual", threshold=90).mask)
    # a slider: local threshold's block size
    page.select_option("#method", "local")
    result = wait_new_result(page, result["id"])
    page.evaluate("() => { const s = document.querySelector(\"#params input[name='block_size__slider']\");"
                  " s.value = 51; s.dispatchEvent(new Event('input')); }")
    result = wait_new_result(page, result["id"])
    assert page.input_value("#params input[name='block_size']") == "51"
    assert np.array_equal(served_mask(client, result), seglab.segment(image, "local", block_size=51).mask)
    # an invalid value is refused with the registry's message, next to the field
    page.select_option("#add-pre", "gaussian")
    page.fill("#pre-steps input[name='sigma']", "-1")
    page.wait_for_selector("#form-error:not([hidden])")
    with pytest.raises(seglab.ParameterError, match="sigma") as caught:
        seglab.Pipeline.from_dict({"pre": [{"name": "gaussian", "params": {"sigma": -1}}], "method": "local"})
    assert page.inner_text("#form-error") == str(caught.value)
    assert page.locator(".param.invalid[data-param='sigma']").count() == 1


def test_kmeans_auto_shows_its_elbow(page, workspace):
    image = seglab.read(workspace / "blobs.png")
    result = open_image(page, "blobs.png")
    page.select_option("#method", "kmeans")
    result = wait_new_result(page, result["id"])
    page.fill("#params input[name='n_clusters']", "auto")
    page.wait_for_selector("#histogram[data-elbow]:not([hidden])")
    expected = seglab.segment(image, "kmeans", n_clusters="auto").info["n_clusters"]
    assert page.get_attribute("#histogram", "data-elbow") == str(expected)


def test_draw_seeds_and_run_random_walker(page, client, workspace, screenshot):
    image = seglab.read(workspace / "small" / "blobs.png")
    truth = seglab.segment(image, "otsu").mask
    open_image(page, "small/blobs.png")
    page.select_option("#method", "random_walker")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('paint seeds')")
    page.click("#tools button[data-tool='brush']")
    page.select_option("#brush-class", "1")
    background = np.argwhere(~truth)
    drag(page, [(8, 10), (8, 100), (40, 180)])
    page.select_option("#brush-class", "2")
    from scipy import ndimage as ndi

    centre = np.unravel_index(np.argmax(ndi.distance_transform_edt(truth)), truth.shape)
    previous = current_result_id(page)
    drag(page, [(centre[0] - 4, centre[1] - 4), (centre[0] + 4, centre[1] + 4)])
    # undo and redo the last stroke
    page.click("#undo")
    assert page.evaluate("window.seglab.drawing.strokes.length") == 1
    page.click("#redo")
    assert page.evaluate("window.seglab.drawing.strokes.length") == 2
    result = wait_new_result(page, previous)
    while result["output"] != "labels" or len(page.evaluate("window.seglab.drawing.strokes")) != 2:
        result = wait_new_result(page, result["id"])
    seeds = seglab.read(_save(client.get(result["urls"]["seeds.tif"]).content, workspace.parent / "seeds.tif"))
    assert seeds[8, 50] == 1 and seeds[centre] == 2 and len(background)
    labels = seglab.read(_save(client.get(result["urls"]["labels.tif"]).content, workspace.parent / "rw.tif"))
    expected = seglab.segment(image, "random_walker", seeds=seeds.astype(np.int32)).labels
    assert np.array_equal(labels, expected)
    assert labels[centre] == 2 and labels[8, 50] == 1
    screenshot(page, "workbench-random-walker")


def test_polygon_contour_and_rectangle(page, client, workspace):
    from seglab.interactive.inputs import as_contour

    image = seglab.read(workspace / "small" / "blobs.png")
    open_image(page, "small/blobs.png")
    page.select_option("#method", "active_contour")
    page.fill("#params input[name='max_num_iter']", "200")
    page.click("#tools button[data-tool='polygon']")
    corners = [(20, 20), (20, 170), (140, 170), (140, 20)]
    previous = current_result_id(page)
    for row, col in corners:
        page.mouse.click(*screen_point(page, row, col))
    page.mouse.dblclick(*screen_point(page, *corners[-1]))
    result = wait_new_result(page, previous)
    while result["output"] != "contour" or result["pipeline"]["method"]["params"]["max_num_iter"] != 200:
        result = wait_new_result(page, result["id"])
    drawn = np.asarray(page.evaluate("window.seglab.drawing.contour"))
    assert len(drawn) == 4 and np.allclose(drawn, np.asarray(corners) + 0.5, atol=1.0)
    expected = seglab.segment(image, "active_contour", max_num_iter=200, contour=as_contour(drawn))
    assert np.allclose(np.asarray(result["info"]["contour"]), expected.contour)
    # a rectangle for GrabCut on a colour image
    astro = seglab.read(workspace / "small" / "astronaut.png")
    page.select_option("#method", "grabcut")
    page.click("#image-list li[data-name='small/astronaut.png']")  # nothing to run until a rectangle exists
    page.wait_for_function("() => document.body.dataset.image === 'small/astronaut.png'")
    settle(page)
    page.wait_for_function("() => document.getElementById('status').textContent.includes('rectangle')")
    page.click("#tools button[data-tool='rect']")
    previous = current_result_id(page)
    drag(page, [(5, 30), (80, 92)])
    result = wait_new_result(page, previous)
    rect = page.evaluate("window.seglab.drawing.rect")
    assert abs(rect[0] - 5) <= 1 and abs(rect[1] - 30) <= 1 and abs(rect[2] - 75) <= 1 and abs(rect[3] - 62) <= 1
    assert np.array_equal(served_mask(client, result), seglab.segment(astro, "grabcut", rect=tuple(rect)).mask)


def _save(content: bytes, path):
    path.write_bytes(content)
    return path


def test_upload_an_image_from_the_page(browser, own_server, tmp_path):
    with open_page(browser, own_server) as page, own_server.client() as client:
        _upload_from_the_page(page, client, tmp_path)


def _upload_from_the_page(page, client, tmp_path):
    picture = np.zeros((64, 80), np.uint8)
    picture[10:40, 20:60] = 200
    seglab.write(tmp_path / "my cells.png", picture)
    previous = current_result_id(page)
    page.set_input_files("#upload", str(tmp_path / "my cells.png"))
    page.wait_for_function("() => document.body.dataset.image === 'uploads/my_cells.png'")
    result = wait_new_result(page, previous)
    assert result["image"] == "uploads/my_cells.png"
    assert np.array_equal(served_mask(client, result), picture > 100)
    # a broken file: the CLI's message in the page, and the page goes on
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    page.set_input_files("#upload", str(tmp_path / "broken.png"))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error").startswith("uploads/broken.png: ")
    assert page.locator("#image-list li[data-name='uploads/my_cells.png']").count() == 1


def test_compare_two_methods_against_a_truth(page, client, workspace, screenshot):
    image = seglab.read(workspace / "blobs.png")
    truth = seglab.read(workspace / "blobs.truth.png")
    open_image(page, "blobs.png")
    assert page.input_value("#truth") == "blobs.truth.png"  # picked from the name
    # the narrow menu may cut a long path: its tooltip holds the whole name
    assert page.get_attribute("#truth", "title") == "blobs.truth.png"
    assert page.get_attribute("#truth option[value='blobs.truth.png']", "title") == "blobs.truth.png"
    selects = page.locator("select.cmp")
    selects.nth(1).select_option("li")
    selects.nth(2).select_option("triangle")
    page.click("#compare")
    page.wait_for_selector("body[data-compared='1']")
    rows = page.locator("#metrics-table tbody tr")
    assert rows.count() == 3
    for index, name in enumerate(("otsu", "li", "triangle")):
        row = rows.nth(index)
        assert row.get_attribute("data-method") == name
        expected = seglab.evaluate(truth, seglab.segment(image, name).mask)
        for key in ("f1", "iou", "precision", "recall"):
            cell = row.locator(f"td[data-key='{key}']")
            assert float(cell.get_attribute("data-value")) == pytest.approx(expected[key], abs=1e-12)
            assert cell.inner_text() == f"{expected[key]:.4f}"
    assert page.locator("#compare-views img").count() == 3
    screenshot(page, "workbench-compare")
    # the confusion overlay in the viewer
    previous = current_result_id(page)
    page.select_option("#overlay-kind", "confusion")
    page.wait_for_function("() => window.seglab.layer && window.seglab.layer.img.src.includes('confusion')")
    assert current_result_id(page) == previous


def test_export_the_pipeline_and_reproduce_it_in_the_cli(page, client, workspace, tmp_path):
    from seglab.cli.main import main

    open_image(page, "vessels.png")
    page.select_option("#add-pre", "median")
    page.fill("#pre-steps input[name='size']", "5")
    page.select_option("#method", "local")
    page.fill("#params input[name='block_size']", "41")
    page.check("#params input[name='invert']")
    page.wait_for_function("() => { const r = window.seglab.result; return r && r.pipeline.method.name === 'local'"
                           " && r.pipeline.method.params.invert && r.pipeline.pre.length === 1"
                           " && r.pipeline.pre[0].params.size === 5 && r.pipeline.method.params.block_size === 41"
                           " && !document.body.dataset.busy }", timeout=60_000)
    result = page.evaluate("window.seglab.result")
    with page.expect_download() as download:
        page.click("#exports a[data-export='pipeline.yaml']")
    download.value.save_as(tmp_path / "pipeline.yaml")
    text = (tmp_path / "pipeline.yaml").read_text()
    assert "median" in text and "block_size: 41" in text
    assert main(["segment", str(workspace / "vessels.png"), "--pipeline", str(tmp_path / "pipeline.yaml"),
                 "--out", str(tmp_path / "out")]) == 0
    served = png_array(client.get(result["urls"]["mask.png"]).content)
    assert np.array_equal(seglab.read(tmp_path / "out" / "vessels.mask.png"), served)
    # the objects table of that result
    page.click("#measure")
    page.wait_for_selector("#objects-table tbody tr")
    n = int(page.inner_text("#objects-summary").split()[0])
    from scipy import ndimage as ndi

    assert n == ndi.label(served > 0)[1]


def test_paint_scribbles_and_see_the_pixel_classifier(page, client, workspace, screenshot):
    if "pixel_classifier" not in seglab.list_methods():
        pytest.skip("the pixel_classifier method is not registered in this build")
    image = seglab.read(workspace / "small" / "blobs.png")
    truth = seglab.segment(image, "otsu").mask
    open_image(page, "small/blobs.png")
    page.select_option("#method", "pixel_classifier")
    page.click("#tools button[data-tool='brush']")
    page.select_option("#brush-class", "1")
    drag(page, [(6, 6), (6, 120), (30, 185)])
    from scipy import ndimage as ndi

    depth = ndi.distance_transform_edt(truth)
    centre = np.unravel_index(np.argmax(depth), truth.shape)
    page.select_option("#brush-class", "2")
    previous = current_result_id(page)
    drag(page, [(centre[0] - 5, centre[1] - 5), (centre[0] + 5, centre[1] + 5)])
    page.wait_for_selector("body[data-model]", timeout=120_000)
    result = wait_new_result(page, previous, timeout=120_000)
    model = result["pipeline"]["method"]["params"]["model"]
    assert model.startswith(str(workspace.resolve())) and "models/scribbles-" in model
    expected = seglab.segment(image, "pixel_classifier", model=model)
    assert np.array_equal(served_mask(client, result), expected.mask)
    assert expected.mask[centre] and not expected.mask[6, 60]
    assert "uncertainty" in result["layers"]
    page.select_option("#overlay-kind", "uncertainty")
    page.wait_for_function("() => window.seglab.layer.img.src.includes('layer=uncertainty')")
    layer = png_array(client.get(f"/api/results/{result['id']}/overlay?layer=uncertainty").content)
    expected_alpha = np.round(np.clip(expected.extras["uncertainty"], 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(layer[..., 3], expected_alpha)
    screenshot(page, "workbench-pixel-classifier")


@pytest.fixture(scope="session")
def large_workspace(tmp_path_factory):
    """A 14000 x 10000 (140-megapixel) uint8 tiled TIFF, written once per session."""
    import tifffile

    folder = tmp_path_factory.mktemp("large")
    rows, cols = 10_000, 14_000
    row_wave = (np.sin(np.arange(rows) / 37.0) * 60).astype(np.int16)
    col_wave = (np.cos(np.arange(cols) / 53.0) * 60).astype(np.int16)
    image = (128 + row_wave[:, None] + col_wave[None, :]).astype(np.uint8)
    tifffile.imwrite(folder / "slice.tif", image, bigtiff=True, tile=(256, 256), compression="zlib",
                     compressionargs={"level": 1})
    return folder


@pytest.mark.slow
def test_open_a_140_megapixel_image_and_pan(browser, launch_server, large_workspace, screenshot):
    import time

    import tifffile

    srv = launch_server(large_workspace)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(srv.url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        start = time.perf_counter()
        page.click("#image-list li[data-name='slice.tif']")
        page.wait_for_function("() => window.seglab.viewer.world.getItemCount() === 1"
                               " && window.seglab.viewer.world.getItemAt(0).getFullyLoaded()", timeout=120_000)
        opened = time.perf_counter() - start
        assert page.evaluate("window.seglab.info.shape") == [10_000, 14_000]
        # zoom in to full resolution in the middle, then pan by dragging
        page.evaluate("() => { const v = window.seglab.viewer.viewport;"
                      " v.zoomTo(v.imageToViewportZoom(1.0)); v.panTo(v.imageToViewportCoordinates(7000, 5000)); }")
        settle(page)
        before = page.evaluate("window.seglab.viewer.viewport.getCenter(true).x")
        box = page.locator("#draw").bounding_box()
        page.mouse.move(box["x"] + 600, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] + 200, box["y"] + 250, steps=8)
        page.mouse.up()
        settle(page)
        after = page.evaluate("window.seglab.viewer.viewport.getCenter(true).x")
        assert after > before  # dragged left: the view moved right
        previous = current_result_id(page)
        start = time.perf_counter()
        result = wait_new_result(page, previous, timeout=120_000)
        preview = time.perf_counter() - start
        row, col, height, width = result["region"]
        assert 0 < height <= 1024 and 0 < width <= 1024 and col > 7000 - 1024
        region = tifffile.imread(large_workspace / "slice.tif")[row: row + height, col: col + width]
        with srv.client() as c:
            mask = png_array(c.get(result["urls"]["mask.png"]).content) > 0
        assert np.array_equal(mask, seglab.segment(region, "otsu").mask)
        screenshot(page, "workbench-large")
        # the whole slice as a job; its layer is then fetched for the visible part only
        start = time.perf_counter()
        page.click("#run-whole")
        page.wait_for_selector("body[data-job='done']", timeout=300_000)
        whole = time.perf_counter() - start
        job_result = page.evaluate("window.seglab.result")
        assert job_result["region"] == [0, 0, 10_000, 14_000]
        # 140 megapixels run tile by tile (2048-pixel tiles), and the bar moved with every tile
        tiles = page.evaluate("window.seglab.jobTiles")
        assert len(tiles) >= 35 and tiles == sorted(tiles) and len(set(tiles)) > 1
        assert job_result["info"]["tiled"] == {"chunk": 2048, "tiles": 35}
        full = tifffile.imread(large_workspace / "slice.tif")
        assert job_result["info"]["threshold"] == seglab.segment(full, "otsu").info["threshold"]
        page.wait_for_function("() => window.seglab.layer && window.seglab.layer.img.src.includes('scale=')")
        src = page.evaluate("window.seglab.layer.img.src")
        assert "height=" in src and "width=" in src
        print(f"\n140 MP TIFF: first view {opened:.2f} s, region preview {preview:.2f} s after the pan, "
              f"whole-image job {whole:.2f} s")
    finally:
        context.close()


def test_train_a_unet_from_the_page_and_use_it(browser, launch_server, train_workspace, screenshot):
    pytest.importorskip("torch", reason="U-Net training needs seglab[deep] (torch, MONAI)")
    pytest.importorskip("monai", reason="U-Net training needs seglab[deep] (torch, MONAI)")
    from seglab.metrics.binary import binary_scores

    server = launch_server(train_workspace)
    with open_page(browser, server) as page:
        open_image(page, "held-out.png")
        # pick the training folder (truths beside the images), a quick network, 4 epochs, and train
        page.select_option("#train-images", "train")
        page.select_option("#train-size", "quick")
        page.fill("#train-epochs", "4")
        page.click("#train-start")
        page.wait_for_selector("body[data-train='running']")
        page.wait_for_selector("body[data-train='done']", timeout=180_000)
        # the progress bar went to the end through the epochs, and the page says how good the model is
        assert page.evaluate("document.body.dataset.trainEpoch") == "4"
        assert page.evaluate("document.getElementById('train-progress').value") == 1
        stage = page.inner_text("#train-stage")
        assert stage.startswith("done: models/unet-semantic-") and "best validation F1" in stage
        model = page.evaluate("document.getElementById('train-model').value")
        assert (train_workspace / model / "config.json").is_file()
        # use it: the unet method with the model in its form, and the held-out image segmented
        previous = current_result_id(page)
        page.click("#train-use")
        result = wait_new_result(page, previous, timeout=120_000)
        assert page.evaluate("document.getElementById('method').value") == "unet"
        assert page.input_value("#params input[name='model']") == model
        assert result["pipeline"]["method"]["name"] == "unet"
        assert result["pipeline"]["method"]["params"]["model"] == str((train_workspace / model).resolve())
        with server.client() as client:
            mask = served_mask(client, result)
        truth = seglab.read(train_workspace / "held-out.truth.png") > 0
        assert binary_scores(truth, mask)["f1"] > 0.85
        # the truth beside the image was picked: the page shows the same score
        assert result["metrics"]["f1"] == pytest.approx(binary_scores(truth, mask)["f1"])
        expected = seglab.segment(seglab.read(train_workspace / "held-out.png"), "unet",
                                  params={"model": str(train_workspace / model)})
        assert np.array_equal(mask, expected.mask)
        page.evaluate("document.getElementById('train-unet').scrollIntoView()")
        screenshot(page, "workbench-unet")
