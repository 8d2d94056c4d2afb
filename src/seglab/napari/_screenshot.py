"""Build the documentation screenshot of the docked segment widget: ``python -m seglab.napari._screenshot OUT.png``.

The scene is scikit-image's offline ``coins`` image segmented by Otsu after a median pre-step and
a small-object post-step, run from the widget itself (a real run, not a mock-up).
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


def screenshot(path, *, viewer=None, size=(1400, 900)) -> Path:
    """Open (or use) a viewer, dock the Segment widget, run it on ``coins`` and save a window screenshot."""
    import napari

    import seglab

    own = viewer is None
    viewer = viewer or napari.Viewer(show=False)
    try:
        image = seglab.data.skimage_sample("coins")
        viewer.add_image(image, name="coins")
        _dock, widget = viewer.window.add_plugin_dock_widget("seglab", "Segment")
        widget.method.value = "otsu"
        widget.pre.add("median", size=5)
        widget.post.add("remove_small_objects", min_size=64)
        widget.run()
        _wait(widget)
        viewer.window._qt_window.resize(*size)
        viewer.reset_view()
        path = Path(path)
        viewer.screenshot(path=str(path), canvas_only=False, flash=False)
        return path
    finally:
        if own:
            viewer.close()


if __name__ == "__main__":  # pragma: no cover - a documentation helper
    print(screenshot(sys.argv[1] if len(sys.argv) > 1 else "napari-widget.png"))
