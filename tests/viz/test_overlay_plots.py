"""Pictures: overlays equal scikit-image's calls; figures carry the marks a user asked for; PNG sizes."""

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.color import label2rgb
from skimage.segmentation import mark_boundaries, slic

import seglab
from seglab._core.errors import ParameterError
from seglab.viz.overlay import label_overlay, mask_overlay, overlay_for, save_png
from seglab.viz.plots import contour_plot, histogram_plot, panel, sobel_panels


@pytest.fixture(scope="module")
def coffee_labels():
    image = data.coffee()[::4, ::4]
    return image, slic(image, n_segments=30, start_label=1)


def test_label_overlay_avg_equals_skimage(coffee_labels):
    image, labels = coffee_labels
    expected = label2rgb(labels, image, kind="avg")
    np.testing.assert_array_equal(label_overlay(image, labels, boundaries=False), expected)
    marked = mark_boundaries(expected, labels)
    ours = label_overlay(image, labels)
    assert ours.dtype == np.uint8 and ours.shape == image.shape
    np.testing.assert_array_equal(ours, np.round(np.clip(marked, 0, 1) * 255).astype(np.uint8))


def test_mask_overlay_tints_inside_only(blobs_image):
    image, truth = blobs_image
    picture = mask_overlay(image, truth)
    outside = ~truth
    np.testing.assert_array_equal(picture[outside][:, 0], image[outside])
    assert (picture[truth][:, 0] >= image[truth]).all()


def test_overlay_for_picks_by_output_kind(blobs_image):
    image, truth = blobs_image
    seeds = np.zeros(image.shape, np.int32)
    seeds[30, 40] = 1
    seeds[0, 0] = 2
    result = seglab.segment(image, "random_walker", seeds=seeds)
    np.testing.assert_array_equal(overlay_for(result), label_overlay(image, result.labels, kind="overlay"))


def test_histogram_marks_each_threshold(tmp_path):
    image = data.camera()
    figure = histogram_plot(image, (50.0, 120.5), path=tmp_path / "h.png")
    xs = [line.get_xdata()[0] for line in figure.axes[0].get_lines()]
    assert xs == [50.0, 120.5]
    assert Image.open(tmp_path / "h.png").size == (640, 360)


def test_panel_png_has_the_expected_pixel_size(tmp_path, blobs_image):
    image, truth = blobs_image
    panel({"image": image, "truth": truth, "overlay": mask_overlay(image, truth)}, path=tmp_path / "p.png", ncols=2)
    # 2 columns x 2 rows of 160x128 cells, each with a 24-pixel title band.
    assert Image.open(tmp_path / "p.png").size == (2 * 160, 2 * (128 + 24))


def test_sobel_and_contour_figures(tmp_path):
    from skimage.filters import sobel_h, sobel_v

    image = data.camera()[::4, ::4] / 255.0
    gh, gv = sobel_h(image), sobel_v(image)
    figure = sobel_panels(np.hypot(gh, gv), np.arctan2(gh, gv), path=tmp_path / "s.png")
    assert [ax.get_title() for ax in figure.axes[:2]] == ["magnitude", "orientation (rad)"]
    contour = np.array([[10.0, 10], [10, 50], [50, 50], [50, 10]])
    figure = contour_plot(image, contour, init=contour + 2, path=tmp_path / "c.png")
    final = figure.axes[0].get_lines()[-1]
    np.testing.assert_array_equal(final.get_xydata(), contour[:, ::-1])
    with pytest.raises(ParameterError, match="`orientation` has shape"):
        sobel_panels(np.zeros((4, 4)), np.zeros((3, 4)))


def test_save_png_is_atomic_and_exact(tmp_path):
    array = (np.arange(64 * 48) % 256).astype(np.uint8).reshape(48, 64)
    path = save_png(array, tmp_path / "a.png")
    np.testing.assert_array_equal(np.asarray(Image.open(path)), array)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary file left behind
    with pytest.raises(ParameterError, match="save_png needs"):
        save_png(np.zeros((4, 4, 5), np.uint8), tmp_path / "b.png")


def test_viz_import_loads_no_matplotlib():
    import subprocess
    import sys

    code = "import sys, seglab.viz.overlay, seglab.viz.plots; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
