"""Load on ``seglab serve``: many clients asking for region previews at once.

``python -m benchmarks.web_load [--clients 64] [--requests 200] [--method otsu] [--size 2048]``

Starts a real server (``python -m seglab serve --no-browser``) on 127.0.0.1 over a workspace holding
one seeded SIZE x SIZE uint8 image, then runs CLIENTS concurrent clients (httpx, asyncio), each
sending REQUESTS ``POST /api/run`` previews of a random 512 x 512 region, and reports errors, latency
percentiles and throughput. For scale it also times the same work in-process (read the region,
``Pipeline.run``, the overlay PNG), the floor a server cannot beat on this machine.

Only loopback traffic; the request count is bounded and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REGION = 512


def make_workspace(folder: Path, size: int) -> Path:
    import seglab
    from seglab.data import blobs

    image, _ = blobs((size, size), n_blobs=60, seed=3)
    seglab.write(folder / "load.png", image)
    return folder


async def _client(base: str, token: str, n: int, size: int, method: str, seed: int, latencies: list,
                  errors: list, http) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        row, col = (int(v) for v in rng.integers(0, size - REGION + 1, 2))
        body = {"image": "load.png", "pipeline": {"method": method}, "region": [row, col, REGION, REGION]}
        start = time.perf_counter()
        try:
            answer = await http.post(f"{base}/api/run", json=body, headers={"Authorization": f"Bearer {token}"})
            latency = time.perf_counter() - start
            if answer.status_code != 200:
                errors.append(f"{answer.status_code}: {answer.text[:200]}")
                continue
            data = answer.json()
            if data["region"] != [row, col, REGION, REGION] or not data["overlay"].startswith("data:image/png"):
                errors.append(f"wrong answer for region {[row, col]}: {data['region']}")
                continue
            latencies.append(latency)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, the run goes on
            errors.append(f"{type(exc).__name__}: {exc}")


async def _load(base: str, token: str, clients: int, requests: int, size: int, method: str):
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        # one warm-up request (first read of the image, imports)
        await http.post(f"{base}/api/run", json={"image": "load.png", "pipeline": {"method": method},
                                                 "region": [0, 0, REGION, REGION]},
                        headers={"Authorization": f"Bearer {token}"})
        start = time.perf_counter()
        await asyncio.gather(*(_client(base, token, requests, size, method, seed, latencies, errors, http)
                               for seed in range(clients)))
        wall = time.perf_counter() - start
    return latencies, errors, wall


def run_load(base: str, token: str, *, clients: int, requests: int, size: int, method: str = "otsu",
             server_pid: int | None = None) -> dict:
    """Run the load against a started server; return the numbers.

    With `server_pid`, also the server's CPU time per answered preview (user + system, all its
    threads): a figure that does not depend on what else the machine is doing.
    """
    import psutil

    server = psutil.Process(server_pid) if server_pid else None
    cpu_before = sum(server.cpu_times()[:2]) if server else 0.0
    latencies, errors, wall = asyncio.run(_load(base, token, clients, requests, size, method))
    load_average = __import__("os").getloadavg()[0]
    cpu_server = (sum(server.cpu_times()[:2]) - cpu_before) if server else float("nan")
    ms = sorted(1000 * v for v in latencies)

    def pct(q):
        return ms[min(len(ms) - 1, int(round(q / 100 * (len(ms) - 1))))] if ms else float("nan")

    return {"clients": clients, "requests_each": requests, "ok": len(latencies), "errors": len(errors),
            "error_samples": errors[:5], "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": ms[-1] if ms else float("nan"), "mean_ms": statistics.fmean(ms) if ms else float("nan"),
            "wall_s": wall, "throughput_rps": len(latencies) / wall if wall else 0.0,
            "server_cpu_ms_per_preview": 1000 * cpu_server / max(1, len(latencies)),
            "load_average": load_average, "cores": __import__("os").cpu_count()}


def in_process_floor(folder: Path, method: str, n: int = 200) -> float:
    """Median ms of the same preview work without HTTP: crop, Pipeline.run, overlay layer, PNG."""
    import seglab
    from seglab.web._render import overlay_png

    image = seglab.read(folder / "load.png")
    pipeline = seglab.Pipeline.from_dict({"method": method})
    rng = np.random.default_rng(0)
    times = []
    for _ in range(n):
        row, col = (int(v) for v in rng.integers(0, image.shape[0] - REGION + 1, 2))
        start = time.perf_counter()
        result = pipeline.run(image[row: row + REGION, col: col + REGION])
        overlay_png(result.data, result.output)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--size", type=int, default=2048, help="side of the workspace image")
    parser.add_argument("--method", default="otsu")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))
    from conftest import start_server, stop_server  # the tests' launcher: a real `seglab serve` process

    with tempfile.TemporaryDirectory(prefix="seglab-load-") as tmp:
        folder = make_workspace(Path(tmp), args.size)
        floor = in_process_floor(folder, args.method)
        server = start_server(folder)
        try:
            numbers = run_load(server.base, server.token, clients=args.clients, requests=args.requests,
                               size=args.size, method=args.method, server_pid=server.process.pid)
        finally:
            stop_server(server)
    print(f"{args.clients} clients x {args.requests} previews ({args.method}, {REGION}x{REGION} regions of a "
          f"{args.size}x{args.size} image)")
    print(f"  ok {numbers['ok']}, errors {numbers['errors']} {numbers['error_samples']}")
    print(f"  latency p50 {numbers['p50_ms']:.1f} ms, p95 {numbers['p95_ms']:.1f} ms, p99 {numbers['p99_ms']:.1f} ms, "
          f"max {numbers['max_ms']:.1f} ms")
    print(f"  throughput {numbers['throughput_rps']:.0f} previews/s over {numbers['wall_s']:.1f} s")
    print(f"  server CPU per preview: {numbers['server_cpu_ms_per_preview']:.2f} ms (load average while running: "
          f"{numbers['load_average']:.1f} on {numbers['cores']} cores)")
    print(f"  in-process floor (same work, no HTTP, one at a time): {floor:.2f} ms per preview")
    return 0 if numbers["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
