"""The display rule (what range an image is shown in), overlays on the original image, size limits, keys."""

from __future__ import annotations

import numpy as np

import seglab
from seglab.viz.display import add_key, display_note, display_range, to_display
from seglab.viz.overlay import overlay_for


def test_16_bit_offset_image_is_stretched_by_percentiles():
    rng = np.random.default_rng(0)
    image = (33000 + rng.normal(0, 20, (100, 100))).astype(np.uint16)
    image[40:60, 40:60] += 1500
    image[0, 0] = 0  # one dead pixel must not flatten the picture (a min..max stretch did)
    low, high = display_range(image)
    assert 32900 < low < 33000 and 34400 < high < 34600
    shown = to_display(image, rgb=False)
    assert shown[40:60, 40:60].mean() > 240 and np.percentile(shown[80:, 80:], 50) < 60
    assert "0.5-99.5th percentile stretch" in display_note(image)


def test_8_bit_is_shown_as_stored_unless_dim():
    full = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    assert display_range(full) == (0.0, 255.0) and np.array_equal(to_display(full, rgb=False), full)
    assert display_note(full) == "uint8 shown as stored (0-255)"
    dim = (full // 8).astype(np.uint8)  # values 0..31: nearly black as stored
    assert to_display(dim, rgb=False).max() == 255
    assert "percentile stretch" in display_note(dim)


def test_overlay_is_drawn_on_the_original_image_not_the_preprocessed_one():
    image = np.full((32, 32), 200, np.uint8)
    image[8:24, 8:24] = 30  # a dark object: the pipeline inverts first
    result = seglab.segment(image, "otsu", pre=["invert"])
    picture = overlay_for(result, image=image)
    assert picture[2, 2].tolist() == [200, 200, 200]  # the background as the user sees it
    old = overlay_for(result)  # result.image is the inverted image
    assert old[2, 2].tolist() == [55, 55, 55]


def test_overlay_of_a_large_image_is_reduced():
    image = np.zeros((5000, 64), np.uint8)
    image[:, 32:] = 200
    result = seglab.segment(image, "otsu")
    assert overlay_for(result, image=image, max_side=4096).shape == (2500, 32, 3)


def test_colour_key_draws_every_swatch():
    picture = np.zeros((10, 300, 3), np.uint8)
    out = add_key(picture, [("a", (255, 0, 0)), ("b", (0, 0, 255))], note="range 0-255")
    band = out[10:]
    assert ((band == (255, 0, 0)).all(-1)).sum() > 100 and ((band == (0, 0, 255)).all(-1)).sum() > 100


def test_segment_cli_reduces_a_large_overlay_and_says_so(tmp_path, capsys):
    from seglab.cli.main import main

    image = np.zeros((4200, 40), np.uint8)
    image[:, 20:] = 220
    seglab.write(tmp_path / "tall.png", image)
    assert main(["segment", str(tmp_path / "tall.png"), "-m", "otsu", "--out", str(tmp_path / "o")]) == 0
    assert seglab.read(tmp_path / "o" / "tall.overlay.png").shape == (2100, 20, 3)
    assert seglab.read(tmp_path / "o" / "tall.mask.png").shape == (4200, 40)
    captured = capsys.readouterr()
    assert "overlay is drawn at 1/2 size" in captured.err + captured.out
