"""The browser workbench behind ``seglab serve``: a FastAPI app and a plain HTML/JS page.

Start it with ``seglab serve [--workspace DIR] [--host 127.0.0.1] [--port N] [--no-browser]
[--max-upload-mb N]``; it prints ``http://127.0.0.1:PORT/?token=TOKEN``. The page is a thin front end
over the same API as the CLI (:meth:`seglab.Pipeline.run`, :func:`seglab.evaluate`,
:mod:`seglab.viz`, :func:`seglab.instance.measure`); its forms are built from ``GET /api/methods``.

Security
--------
Every request needs the token: ``?token=...``, ``Authorization: Bearer ...`` or the HttpOnly cookie
the page sets. No token: 401, a wrong one: 403. The server binds 127.0.0.1 unless told otherwise,
serves files inside the workspace only (absolute paths, ``..`` and symlinks pointing out: 404),
refuses bodies over ``--max-upload-mb`` (413) and decompression bombs (seglab's pixel budget, 413),
never unpickles anything (jobs hand arrays over as ``.npy`` with ``allow_pickle=False``), and answers
every bad image or parameter with the CLI's one-line message as ``{"error": "..."}`` (4xx).

JSON API
--------
=======================================================  ==============================================
``GET  /api/methods``                                    the catalogue, as ``seglab methods --json``
``POST /api/validate``  ``{pipeline}``                   checked pipeline, or 400 with the registry's message
``GET  /api/images``                                     ``{workspace, images: [{name, truth, bytes}]}``
``POST /api/images``  multipart field ``file``           upload into ``uploads/``; ``{name, shape, dtype}``
``GET  /api/images/{name}/info``                         shape, channels, dtype, deep-zoom levels
``GET  /api/images/{name}/tile?level=&x=&y=``            256-px deep-zoom tile (PNG), lazily from the file
``GET  /api/images/{name}/region?row=&col=&height=&width=[&scale=]``  display PNG of a region
``GET  /api/images/{name}/thumbnail?size=``              thumbnail PNG
``GET  /api/files/{name}``                               the file itself
``POST /api/run``                                        run on a region (preview) or the whole image
``POST /api/compare``  ``{image, truth, pipelines}``     2-4 pipelines scored against a truth
``POST /api/train``  ``{image, drawing[, region]}``      pixel classifier from scribbles -> ``models/...``
``POST /api/train/unet``  ``{images[, truths, task, ...]}``  U-Net training job (202, as /api/jobs) -> ``models/NAME``
``GET  /api/models``                                     ``{models: [{name, kind, task, methods, metric, best}]}``
``POST /api/jobs``  (as /api/run, whole image[, chunk])  202 ``{id, kind, state, progress, stage, result_id, ...}``
``GET  /api/jobs/{id}``, ``GET /api/jobs/{id}/events``   progress (JSON; server-sent events, every step)
``DELETE /api/jobs/{id}``                                cancel (the job's process is terminated)
``GET  /api/results/{id}``                               the result's JSON (as /api/run answered)
``GET  /api/results/{id}/objects``                       objects table (JSON columns)
``GET  /api/results/{id}/overlay?[layer=][&row=&col=&height=&width=&scale=]``  transparent layer (PNG)
``GET  /api/results/{id}/{file}``                        exports: ``mask.png``, ``mask.tif``, ``labels.tif``,
                                                         ``labels.png``, ``edges.tif``, ``proba.tif``,
                                                         ``overlay.png``, ``objects.csv``, ``pipeline.yaml``,
                                                         ``seeds.tif``, ``result.json``, ``mask.zarr.zip``,
                                                         ``labels.zarr.zip``; ``confusion.png``
``POST /api/results/{id}/save``  ``{file: "mask.zarr"}``  write a mask/labels export into ``exports/``
=======================================================  ==============================================

A run request is ``{"image": NAME, "pipeline": {"pre": [...], "method": {"name": ..., "params": {...}},
"post": [...]}, "region": [row, col, height, width] (optional), "drawing": {"strokes": [{"class": k,
"points": [[row, col], ...], "width": w, "erase": false}], "rect": [row, col, height, width],
"contour": [[row, col], ...] | {"circle": [row, col, radius]}} (optional), "truth": NAME (optional)}``.
The answer: ``{id, output, region, shape, info, metrics, overlay (PNG data URL, transparent layer),
histogram (threshold family), info.curves (k-means' elbow), layers (per-pixel extras such as the pixel
classifier's probability and uncertainty), n_objects (labels), urls (exports)}``. A region preview
reads the halo the pipeline's steps declare around the region, so local methods give the pixels of the
whole-image result; global statistics (Otsu's threshold) are those of the region until the whole image
runs. ``pipeline.yaml`` reproduces a whole-image result with ``seglab segment IMAGE --pipeline
pipeline.yaml`` bit for bit (interactive methods: add ``--seeds seeds.tif``).

Jobs. A whole-image job on an image over 4096 x 4096 pixels (or with ``"chunk": N`` in the request) runs
through :func:`seglab.tiling.run_tiled` in N-pixel tiles (2048 by default) and reports every tile
(``stage`` ``"segmenting: tile 3/16"``); the tiler's merge of global statistics and labels keeps the
result equal to the in-memory one. Pipelines that cannot be tiled, and those with drawn inputs, run in
memory. The event stream (``text/event-stream``) sends every state the job went through, in order, each
a JSON job object as ``GET /api/jobs/{id}`` answers.

Training a U-Net. ``POST /api/train/unet`` with ``{"images": "FOLDER" | [NAMES], "truths": "FOLDER" |
[NAMES] (optional: the ``NAME.truth.EXT`` files beside the images), "task": "semantic" | "instance",
"epochs": N, "seed": 0, "options": {patch, batch_size, steps_per_epoch, features, learning_rate, patience,
window, ...}, "name": "NAME", "pair_regex": "..."}`` pairs images with truths as ``seglab train --model
unet`` and ``seglab compare`` do, and starts :func:`seglab.deep.train_unet` as a job whose ``detail``
holds ``epoch``, ``epochs``, ``metric``, ``validation`` and the ``history``; when it is done, ``model``
names the folder (``models/NAME``, written whole at the end; cancelling leaves nothing), which the
``unet`` and ``unet_instance`` methods take as their ``model`` parameter.
"""

from __future__ import annotations

import lazy_loader as _lazy

# Names are listed once, in ``__init__.pyi``; ``attach_stub`` imports each module on first access to one of them.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
