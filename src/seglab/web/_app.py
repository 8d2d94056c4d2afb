"""The FastAPI application behind ``seglab serve`` (see :mod:`seglab.web` for the API table)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from http.cookies import SimpleCookie
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import Request

if TYPE_CHECKING:
    from fastapi import FastAPI

COOKIE = "seglab_token"
STATIC = Path(__file__).parent / "static"


class UploadTooLarge(Exception):
    """The request body passed the upload limit (answered 413)."""


def _json_error(status: int, message: str) -> tuple[int, list, bytes]:
    body = json.dumps({"error": message}).encode()
    return status, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())], body


class TokenAndLimitMiddleware:
    """Pure ASGI middleware: the token on every request, and the upload size limit.

    The token may come as ``?token=``, ``Authorization: Bearer`` or the HttpOnly cookie the page
    sets. No token: 401; a wrong one: 403. A body over `max_body` bytes: 413, from the
    ``Content-Length`` header before anything is read, or while reading a chunked body.
    """

    def __init__(self, app, *, token: str, max_body: int):
        self.app = app
        self.token = token
        self.max_body = max_body

    def _given(self, scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            return query["token"][0]
        if "cookie" in headers:
            cookie = SimpleCookie()
            with contextlib.suppress(Exception):
                cookie.load(headers["cookie"])
            if COOKIE in cookie:
                return cookie[COOKIE].value
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        given = self._given(scope)
        if given is None or not secrets.compare_digest(given.encode(), self.token.encode()):
            status, headers, body = _json_error(
                401 if given is None else 403,
                "missing token: open the URL that `seglab serve` printed (it ends with ?token=...)" if given is None
                else "wrong token: open the URL that `seglab serve` printed (it ends with ?token=...)")
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        limit = self.max_body
        if length is not None and length.isdigit() and int(length) > limit:
            status, hdrs, body = _json_error(413, _too_large_message(int(length), limit))
            await send({"type": "http.response.start", "status": status, "headers": hdrs})
            await send({"type": "http.response.body", "body": body})
            return
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise UploadTooLarge(_too_large_message(seen, limit))
            return message

        await self.app(scope, counted_receive, send)


def _too_large_message(size: int, limit: int) -> str:
    return (f"the upload is {size / 2**20:.1f} MiB, over the limit of {limit / 2**20:.0f} MiB "
            "(seglab serve --max-upload-mb N raises it)")


def create_app(workspace: str | os.PathLike[str], *, token: str, max_upload_mb: float = 512,
               samples_read_only: bool = False) -> FastAPI:
    """Build the application over a workspace folder.

    Parameters
    ----------
    workspace : str or Path
        Folder whose images the server lists and segments (and where uploads go).
    token : str
        Secret every request must carry.
    max_upload_mb : float
        Upload (and request body) limit in MiB; over it the answer is 413.
    """
    import os

    import anyio
    from fastapi import FastAPI
    from fastapi.responses import (
        FileResponse,
        JSONResponse,
        Response,
        StreamingResponse,
    )
    from starlette.concurrency import run_in_threadpool

    from seglab._core.errors import DecompressionBombError, SeglabError

    from ._jobs import JobManager
    from ._run import ResultStore
    from ._workspace import NotInWorkspace, Workspace

    ws = Workspace(workspace, read_only=samples_read_only)
    # As many segmentations at once as there are cores: more threads only fight over the GIL and
    # the caches, and every waiting request gets slower; the others wait their turn in the event loop.
    compute = anyio.CapacityLimiter(max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                        else (os.cpu_count() or 1)))
    store = ResultStore()
    jobs = JobManager(ws, store)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        jobs.shutdown()

    app = FastAPI(title="seglab", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.workspace, app.state.store, app.state.jobs = ws, store, jobs
    app.add_middleware(TokenAndLimitMiddleware, token=token, max_body=int(max_upload_mb * 2**20))

    # -- errors: one line of JSON, the server goes on ------------------------------------------
    @app.exception_handler(SeglabError)
    async def seglab_error(request, exc):
        status = 413 if isinstance(exc, DecompressionBombError) else 400
        # paths are shown relative to the workspace, as a user in that folder would type them
        message = (str(exc).strip() or type(exc).__name__).replace(str(ws.root) + "/", "")
        return JSONResponse({"error": message, "kind": type(exc).__name__}, status_code=status)

    @app.exception_handler(NotInWorkspace)
    async def not_found(request, exc):
        return JSONResponse({"error": "not found"}, status_code=404)

    @app.exception_handler(UploadTooLarge)
    async def too_large(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=413)

    @app.exception_handler(Exception)
    async def unexpected(request, exc):
        return JSONResponse({"error": f"unexpected {type(exc).__name__}: {exc}"}, status_code=500)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def bad_request(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    async def body_json(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            from seglab._core.errors import ParameterError

            raise ParameterError(f"the request body is not valid JSON ({exc.msg} at line {exc.lineno})") from None

    # -- page and static files -----------------------------------------------------------------
    @app.get("/")
    def index(request: Request):
        response = FileResponse(STATIC / "index.html", media_type="text/html")
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/static/{path:path}")
    def static(path: str):
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            raise NotInWorkspace(path)
        target = (STATIC / path).resolve()
        if STATIC.resolve() not in target.parents or not target.is_file():
            raise NotInWorkspace(path)
        return FileResponse(target)

    # -- catalogue ---------------------------------------------------------------------------
    @app.get("/api/methods")
    def methods():
        # exactly what `seglab methods --json` prints (each entry's schema and where it came from)
        from seglab._core.registry import current_registry

        return current_registry().catalogue()

    @app.post("/api/validate")
    async def validate(request: Request):
        from seglab import Pipeline

        data = await body_json(request)
        given = data.get("pipeline") if isinstance(data, dict) and "pipeline" in data else data
        pipeline = Pipeline.from_dict(given)  # type: ignore[arg-type]  # it checks the type itself
        return {"ok": True, "pipeline": pipeline.to_dict(), "output": pipeline.output}

    # -- images ------------------------------------------------------------------------------
    @app.get("/api/images")
    def images():
        return {"workspace": str(ws.root), "images": ws.images()}

    @app.post("/api/images")
    async def upload(request: Request):
        from seglab._core.errors import ParameterError

        if ws.read_only:
            raise ParameterError("this workspace is read-only; start seglab serve with --workspace DIR to upload")
        form = await request.form()
        item = form.get("file")
        if item is None or isinstance(item, str):
            raise ParameterError("the upload needs a multipart field named `file`")
        name = _safe_name(item.filename or "upload")
        target = _unique(ws.root / "uploads", name)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name("." + target.name + ".part")
        with partial.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, item.file, out)
        await item.close()
        try:
            partial.replace(target)
            relative = target.relative_to(ws.root).as_posix()
            source = await run_in_threadpool(ws.source, relative)
        except BaseException:
            partial.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            raise
        return {"name": relative, "shape": list(source.shape), "dtype": str(source.dtype)}

    @app.get("/api/images/{name:path}/info")
    def image_info(name: str):
        source = ws.source(name)
        return {"name": name, "shape": list(source.shape), "channels": source.channels, "dtype": str(source.dtype),
                "lazy": source.lazy, "max_level": source.max_level, "tile_size": 256,
                "display_range": list(source.display_range())}

    @app.get("/api/images/{name:path}/tile")
    def tile(name: str, level: int, x: int, y: int):
        from ._render import encode_png

        source = ws.source(name)
        png = encode_png(source.tile(level, x, y))
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})

    @app.get("/api/images/{name:path}/region")
    def region(name: str, row: int, col: int, height: int, width: int, scale: int = 1):
        import cv2

        from seglab._core.errors import ParameterError

        from ._render import encode_png

        if height <= 0 or width <= 0 or scale < 1 or height * width > 64_000_000:
            raise ParameterError("`region` needs height, width > 0, scale >= 1 and at most 64 megapixels")
        source = ws.source(name)
        pixels = source.to_display(source.region(row, col, height, width))
        if pixels.size == 0:  # OpenCV's encoder asserts on an empty picture
            raise ParameterError(f"`region` (row={row}, col={col}, height={height}, width={width}) lies outside the "
                                 f"{' x '.join(str(s) for s in source.shape[:2])} image")
        if scale > 1 and pixels.size:
            pixels = cv2.resize(pixels, (max(1, pixels.shape[1] // scale), max(1, pixels.shape[0] // scale)),
                                interpolation=cv2.INTER_AREA)
        return Response(encode_png(pixels), media_type="image/png")

    @app.get("/api/images/{name:path}/thumbnail")
    def thumbnail(name: str, size: int = 96):
        import cv2

        from ._render import encode_png

        source = ws.source(name)
        size = int(min(max(size, 16), 512))
        pixels = source.overview() if source.lazy else source.region(0, 0, *source.shape)
        pixels = source.to_display(pixels)
        if pixels.ndim == 3 and pixels.shape[-1] == 4:
            pixels = pixels[..., :3]
        factor = size / max(pixels.shape[:2])
        if factor < 1:
            pixels = cv2.resize(pixels, (max(1, round(pixels.shape[1] * factor)),
                                         max(1, round(pixels.shape[0] * factor))), interpolation=cv2.INTER_AREA)
        return Response(encode_png(pixels), media_type="image/png", headers={"Cache-Control": "private, max-age=60"})

    @app.get("/api/files/{name:path}")
    def raw_file(name: str):
        path = ws.resolve(name)
        if not path.is_file():
            raise NotInWorkspace(name)
        return FileResponse(path)

    # -- runs --------------------------------------------------------------------------------
    def _run(body):
        from ._run import describe, parse_request, run_request

        request = parse_request(body, workspace=ws)
        result = store.add(run_request(ws, request))
        return describe(result, overlay=request.with_overlay, style=request.style)

    @app.post("/api/run")
    async def run(request: Request):
        body = await body_json(request)
        # serialised here (in the worker thread) rather than by FastAPI's slower generic encoder
        answer = await anyio.to_thread.run_sync(lambda: json.dumps(_run(body)).encode(), limiter=compute)
        return Response(answer, media_type="application/json")

    @app.post("/api/compare")
    async def compare(request: Request):
        from seglab._core.errors import ParameterError

        body = await body_json(request)
        if not isinstance(body, dict):
            raise ParameterError("the request body must be an object with image, truth and pipelines")
        pipelines = body.get("pipelines")
        if not isinstance(pipelines, list) or not 1 <= len(pipelines) <= 4:
            raise ParameterError("`pipelines` must be a list of 1 to 4 pipelines")
        if not body.get("truth"):
            raise ParameterError("`truth` names the ground-truth image to compare against")

        def work():
            from ._render import data_url, encode_png
            from ._run import confusion_picture, describe, parse_request, run_request

            rows = []
            for pipeline in pipelines:
                one = {k: v for k, v in body.items() if k != "pipelines"}
                one["pipeline"] = pipeline
                request = parse_request(one, workspace=ws)
                result = store.add(run_request(ws, request))
                row = describe(result, overlay=False)
                row["confusion"] = data_url(encode_png(confusion_picture(ws, result)))
                rows.append(row)
            return {"truth": body["truth"], "results": rows}

        return await run_in_threadpool(work)

    @app.post("/api/train")
    async def train(request: Request):
        from ._run import train_pixel_classifier

        body = await body_json(request)
        return await run_in_threadpool(train_pixel_classifier, ws, body)

    @app.post("/api/jobs")
    async def submit(request: Request):
        body = await body_json(request)
        job = await run_in_threadpool(jobs.submit, body)
        return JSONResponse(job.to_dict(), status_code=202)

    def _job(job_id):
        job = jobs.get(job_id)
        if job is None:
            raise NotInWorkspace(job_id)
        return job

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str):
        return _job(job_id).to_dict()

    @app.delete("/api/jobs/{job_id}")
    def job_cancel(job_id: str):
        job = jobs.cancel(_job(job_id).id)
        return job.to_dict() if job is not None else {}

    @app.get("/api/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request):
        import asyncio

        job = _job(job_id)
        final = ("done", "failed", "cancelled")

        async def stream():
            # every recorded state, in order (each tile, each epoch), then the final one
            sent, last = 0, None
            while True:
                if await request.is_disconnected():
                    return  # the job goes on; its result stays available
                events = job.events
                while sent < len(events):
                    last = events[sent]
                    sent += 1
                    yield f"data: {json.dumps(last)}\n\n"
                if job.state in final and sent >= len(job.events):
                    if last is None or last["state"] not in final:
                        yield f"data: {json.dumps(job.to_dict())}\n\n"
                    return
                await asyncio.sleep(0.1)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # -- U-Net training ------------------------------------------------------------------------
    @app.post("/api/train/unet")
    async def train_unet(request: Request):
        body = await body_json(request)
        job = await run_in_threadpool(jobs.submit_training, body)
        return JSONResponse(job.to_dict(), status_code=202)

    @app.get("/api/models")
    def models():
        from ._train import list_models

        return {"models": list_models(ws)}

    # -- results -----------------------------------------------------------------------------
    def _result(result_id):
        result = store.get(result_id)
        if result is None:
            raise NotInWorkspace(result_id)
        return result

    @app.get("/api/results/{result_id}")
    def result_json(result_id: str, overlay: bool = True, style: str = "fill"):
        from ._run import describe

        return describe(_result(result_id), overlay=overlay, style=style)

    @app.get("/api/results/{result_id}/objects")
    def result_objects(result_id: str, limit: int = 500):
        from ._run import objects_table

        result = _result(result_id)
        if result.output not in ("mask", "labels", "contour"):
            from seglab._core.errors import ParameterError

            raise ParameterError(f"objects are measured on masks and labels; this result is {result.output!r}")
        return objects_table(result, limit=limit)

    @app.get("/api/results/{result_id}/overlay")
    def result_overlay(result_id: str, style: str = "fill", row: int | None = None, col: int | None = None,
                       height: int | None = None, width: int | None = None, scale: int = 1,
                       layer: str | None = None):
        """The result's transparent layer; optionally a window (image coordinates) every `scale`-th pixel."""
        from seglab._core.errors import ParameterError

        from ._render import overlay_png

        result = _result(result_id)
        data, offset, kind = result.data, result.region[:2], result.output
        if layer:
            if layer not in result.extras:
                raise ParameterError(f"`layer` got {layer!r}; this result has "
                                     f"{', '.join(sorted(result.extras)) or 'no extra layers'}")
            data, kind = result.extras[layer], "proba"
        if scale < 1:
            raise ParameterError(f"`scale` got {scale}; expected an integer >= 1")
        if row is not None and col is not None and height is not None and width is not None:
            r0, c0 = max(0, row - result.region[0]), max(0, col - result.region[1])
            data = data[r0: r0 + max(0, height), c0: c0 + max(0, width)]
            offset = (result.region[0] + r0, result.region[1] + c0)
            if data.size == 0:  # a window outside the result (or height/width <= 0) made OpenCV assert
                top, left, rows, cols = result.region
                raise ParameterError(f"the window (row={row}, col={col}, height={height}, width={width}) holds no "
                                     f"pixel of this result (rows {top}..{top + rows - 1}, "
                                     f"cols {left}..{left + cols - 1})")
        if scale > 1:
            data = data[::scale, ::scale]
        contour = result.info.get("contour")
        if contour is not None and scale > 1:
            import numpy as np

            contour = (np.asarray(contour) - offset) / scale + offset
        png = overlay_png(data, kind, style=style, contour=None if layer else contour, offset=offset)
        return Response(png, media_type="image/png")

    @app.get("/api/results/{result_id}/confusion.png")
    def result_confusion(result_id: str):
        from ._render import encode_png
        from ._run import confusion_picture

        return Response(encode_png(confusion_picture(ws, _result(result_id))), media_type="image/png")

    @app.post("/api/results/{result_id}/save")
    async def result_save(result_id: str, request: Request):
        from ._run import save_export

        body = await body_json(request)
        name = body.get("file") if isinstance(body, dict) else None
        if not isinstance(name, str):
            from seglab._core.errors import ParameterError

            raise ParameterError("the request body must be {\"file\": \"mask.zarr\"} (or labels.zarr, mask.png, ...)")
        saved = await run_in_threadpool(save_export, _result(result_id), name, ws)
        return {"name": saved}

    @app.get("/api/results/{result_id}/{filename}")
    def result_export(result_id: str, filename: str):
        from ._run import export

        result = _result(result_id)
        try:
            payload, media = export(result, filename, ws)
        except LookupError:
            raise NotInWorkspace(filename) from None
        stem = PurePosixPath(result.image).name.split(".")[0]
        return Response(payload, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{stem}.{filename}"'})

    return app


def _safe_name(filename: str) -> str:
    """A plain file name from an upload's name: no folders, no odd characters, no leading dots."""
    import re

    base = PurePosixPath(filename.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".") or "upload"
    return base[:120]


def _unique(folder: Path, name: str) -> Path:
    target = folder / name
    stem, dot, suffix = name.partition(".")
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{dot}{suffix}"
    return target


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free now on `host`."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sample_workspace() -> Path:
    """A new temporary folder holding the bundled samples (the default workspace)."""
    from ._workspace import make_sample_workspace

    return make_sample_workspace(tempfile.mkdtemp(prefix="seglab-workspace-"))

