"""Documentation screenshots of the docked segment widget: ``python -m seglab.napari._screenshot OUT.png [SCENE]``.

Scenes (real runs from the widget, not mock-ups):

* ``segment`` — scikit-image's offline ``coins`` image segmented by Otsu after a median pre-step
  and a small-object post-step;
* ``scribbles`` — seglab's synthetic nuclei with a few painted strokes (1 = background,
  2 = nuclei) that train the pixel classifier.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["screenshot"]


def _wait(widget, timeout: float = 120.0) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + timeout
    while widget.running and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def screenshot(path, *, viewer=None, size=(1400, 900), scene: str = "segment") -> Path:
    """Open (or use) a viewer, dock the Segment widget, run `scene` and save a window screenshot."""
    import napari

    own = viewer is None
    viewer = viewer or napari.Viewer(show=False)
    try:
        _dock, widget = viewer.window.add_plugin_dock_widget("seglab", "Segment")
        if scene == "scribbles":
            _scribbles_scene(viewer, widget)
        else:
            _segment_scene(viewer, widget)
        widget.run()
        _wait(widget)
        if scene == "scribbles":  # strokes drawn over the result, as a user sees them while painting
            viewer.layers.move(viewer.layers.index("scribbles"), len(viewer.layers))
        viewer.window._qt_window.resize(*size)
        viewer.reset_view()
        path = Path(path)
        viewer.screenshot(path=str(path), canvas_only=False, flash=False)
        return path
    finally:
        if own:
            viewer.close()


def _segment_scene(viewer, widget) -> None:
    import seglab

    viewer.add_image(seglab.data.skimage_sample("coins"), name="coins")
    widget.image.value = "coins"
    widget.method.value = "otsu"
    widget.pre.add("median", size=5)
    widget.post.add("remove_small_objects", min_size=64)


def _scribbles_scene(viewer, widget) -> None:
    import numpy as np

    import seglab

    image, truth = seglab.data.nuclei((256, 256), seed=3)
    viewer.add_image(image, name="nuclei")
    scribbles = viewer.add_labels(np.zeros(image.shape, np.int32), name="scribbles")
    scribbles.brush_size = 4
    with scribbles.block_history():
        for col in range(4, 252, 3):  # background strokes along two edges
            scribbles.paint((4, col), 1, refresh=False)
            scribbles.paint((col, 4), 1, refresh=False)
        ids = [i for i in np.unique(truth) if i][:4]
        for object_id in ids:  # a short stroke across a few nuclei
            rows, cols = np.nonzero(truth == object_id)
            for r, c in list(zip(rows, cols))[:: max(len(rows) // 6, 1)]:
                scribbles.paint((r, c), 2, refresh=False)
    widget.image.value = "nuclei"
    widget.method.value = "pixel_classifier"
    widget._input_pickers["scribbles"].value = "scribbles"
    viewer.layers.selection.active = scribbles


if __name__ == "__main__":  # pragma: no cover - a documentation helper
    print(screenshot(sys.argv[1] if len(sys.argv) > 1 else "napari-widget.png",
                     scene=sys.argv[2] if len(sys.argv) > 2 else "segment"))
