"""Load on ``seglab serve``: many clients asking for region previews at once.

``python -m benchmarks.web_load [--clients 64] [--requests 200] [--method otsu] [--size 2048]
[--client raw|httpx]``

Starts a real server (``python -m seglab serve --no-browser``) on 127.0.0.1 over a workspace holding
one seeded SIZE x SIZE uint8 image, then runs CLIENTS concurrent clients (asyncio), each sending
REQUESTS ``POST /api/run`` previews of a random 512 x 512 region over its own keep-alive connection,
and reports errors, latency percentiles and throughput. For scale it also times the same work
in-process (read the region, ``Pipeline.run``, the overlay PNG), the floor a server cannot beat on
this machine.

The load generator shares the machine's cores with the server, so it must be cheap: ``--client raw``
(the default) writes each HTTP/1.1 request and reads its ``Content-Length`` answer on an asyncio
stream (about 0.1 ms of CPU per request, as wrk or hey would cost), and still parses every answer and
checks its region and overlay; ``--client httpx`` uses httpx's AsyncClient (about 1 ms of CPU per
request, which on two cores is taken from the server).

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


async def _raw_client(base: str, token: str, n: int, size: int, method: str, seed: int, latencies: list,
                      errors: list) -> None:
    """One client on one keep-alive connection: plain HTTP/1.1 over an asyncio stream."""
    import json

    host, port = base.removeprefix("http://").rsplit(":", 1)
    rng = np.random.default_rng(seed)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for _ in range(n):
            row, col = (int(v) for v in rng.integers(0, size - REGION + 1, 2))
            body = json.dumps({"image": "load.png", "pipeline": {"method": method},
                               "region": [row, col, REGION, REGION]}).encode()
            start = time.perf_counter()
            try:
                writer.write(b"POST /api/run HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                             b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (host.encode(), token.encode(), len(body), body))
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                payload = await reader.readexactly(length)
                latency = time.perf_counter() - start
                if status != 200:
                    errors.append(f"{status}: {payload[:200]!r}")
                    continue
                data = json.loads(payload)
                if data["region"] != [row, col, REGION, REGION] or not data["overlay"].startswith("data:image/png"):
                    errors.append(f"wrong answer for region {[row, col]}: {data['region']}")
                    continue
                latencies.append(latency)
            except Exception as exc:  # noqa: BLE001 - every failure is counted; the connection is reopened
                errors.append(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection(host, int(port))
    finally:
        writer.close()


async def _load_raw(base: str, token: str, clients: int, requests: int, size: int, method: str):
    latencies: list[float] = []
    errors: list[str] = []
    await _raw_client(base, token, 1, size, method, 10**6, [], [])  # warm-up (first read of the image)
    start = time.perf_counter()
    await asyncio.gather(*(_raw_client(base, token, requests, size, method, seed, latencies, errors)
                           for seed in range(clients)))
    return latencies, errors, time.perf_counter() - start


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
             server_pid: int | None = None, client: str = "raw") -> dict:
    """Run the load against a started server; return the numbers.

    With `server_pid`, also the server's CPU time per answered preview (user + system, all its
    threads): a figure that does not depend on what else the machine is doing.
    """
    import psutil

    server = psutil.Process(server_pid) if server_pid else None
    cpu_before = sum(server.cpu_times()[:2]) if server else 0.0
    load = _load_raw if client == "raw" else _load
    try:
        import uvloop  # the client's own event loop costs less CPU on uvloop (installed with seglab[web])

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    latencies, errors, wall = runner(load(base, token, clients, requests, size, method))
    load_average = __import__("os").getloadavg()[0]
    cpu_server = (sum(server.cpu_times()[:2]) - cpu_before) if server else float("nan")
    ms = sorted(1000 * v for v in latencies)

    def pct(q):
        return ms[min(len(ms) - 1, int(round(q / 100 * (len(ms) - 1))))] if ms else float("nan")

    return {"client": client, "clients": clients, "requests_each": requests, "ok": len(latencies),
            "errors": len(errors),
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
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator: raw HTTP/1.1 on asyncio streams (cheap) or httpx.AsyncClient")
    parser.add_argument("--record", default=None, metavar="FILE",
                        help="append the numbers (with `uptime`) as one JSON line to FILE")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))
    from conftest import start_server, stop_server  # the tests' launcher: a real `seglab serve` process

    with tempfile.TemporaryDirectory(prefix="seglab-load-") as tmp:
        folder = make_workspace(Path(tmp), args.size)
        floor = in_process_floor(folder, args.method)
        server = start_server(folder)
        try:
            numbers = run_load(server.base, server.token, clients=args.clients, requests=args.requests,
                               size=args.size, method=args.method, server_pid=server.process.pid,
                               client=args.client)
        finally:
            stop_server(server)
    import subprocess

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{args.clients} clients x {args.requests} previews ({args.method}, {REGION}x{REGION} regions of a "
          f"{args.size}x{args.size} image; {args.client} client)")
    print(f"  uptime after the run: {uptime}")
    print(f"  ok {numbers['ok']}, errors {numbers['errors']} {numbers['error_samples']}")
    print(f"  latency p50 {numbers['p50_ms']:.1f} ms, p95 {numbers['p95_ms']:.1f} ms, p99 {numbers['p99_ms']:.1f} ms, "
          f"max {numbers['max_ms']:.1f} ms")
    print(f"  throughput {numbers['throughput_rps']:.0f} previews/s over {numbers['wall_s']:.1f} s")
    print(f"  server CPU per preview: {numbers['server_cpu_ms_per_preview']:.2f} ms (load average while running: "
          f"{numbers['load_average']:.1f} on {numbers['cores']} cores)")
    print(f"  in-process floor (same work, no HTTP, one at a time): {floor:.2f} ms per preview")
    if args.record:
        import datetime
        import json

        numbers = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in numbers.items()}
        record = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "uptime": uptime,
                  "method": args.method, "size": args.size, "floor_ms": round(floor, 3), **numbers}
        with open(args.record, "a") as handle:
            handle.write(json.dumps(record) + "\n")
    return 0 if numbers["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
