"""A small HTTP/1.1 load generator (standard library only, keep-alive connections).

Used for loopml and for the anchor alike, so both servers meet the same client.
Traffic goes only to 127.0.0.1, bounded by a request count and a time limit.

    python loadgen.py PORT PATH BODY_FILE --clients 8 --requests 20000 --seconds 20

Prints one JSON object: requests, failures, seconds, throughput, p50_ms, p99_ms.

``--processes N`` shares the clients among N load-generator processes (one Python
process tops out at a few thousand requests a second, which a fast server can
exceed); ``--ceiling`` measures that limit itself: the same load against a
trivial HTTP server in one more process, answering every request with 200 at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time


async def client(port, request, state, latencies, deadline):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while state["left"] > 0 and time.perf_counter() < deadline:
            state["left"] -= 1
            started = time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                state["failures"] += 1
    finally:
        writer.close()


async def read_response(reader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def _request(port, path, body, headers=()) -> bytes:
    extra = "".join(f"{header}\r\n" for header in headers)
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def run(port, path, body, clients, requests, seconds, warmup, headers=()):
    request = _request(port, path, body, headers)
    if warmup:
        await run_phase(port, request, 1, warmup, seconds)
    return await run_phase(port, request, clients, requests, seconds)


async def run_phase(port, request, clients, requests, seconds):
    latencies, failures, elapsed = await _phase(port, request, clients, requests, seconds)
    return summary(latencies, failures, elapsed)


async def _phase(port, request, clients, requests, seconds, start_at=None):
    if start_at is not None:  # processes start together
        await asyncio.sleep(max(0.0, start_at - time.time()))
    state = {"left": requests, "failures": 0}
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(client(port, request, state, latencies, deadline) for _ in range(clients))
    )
    return latencies, state["failures"], time.perf_counter() - started


def summary(latencies, failures, elapsed):
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "failures": failures,
        "seconds": elapsed,
        "throughput": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def _worker(port, request, clients, requests, seconds, start_at, results):
    results.put(asyncio.run(_phase(port, request, clients, requests, seconds, start_at)))


def run_processes(port, request, clients, requests, seconds, processes):
    """The clients spread over ``processes`` processes started together; one summary."""
    results = multiprocessing.Queue()
    start_at = time.time() + 1.0
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    workers = [
        multiprocessing.Process(
            target=_worker,
            args=(port, request, n, requests // processes, seconds, start_at, results),
        )
        for n in shares
        if n
    ]
    for worker in workers:
        worker.start()
    parts = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    latencies = [x for part in parts for x in part[0]]
    return summary(latencies, sum(p[1] for p in parts), max(p[2] for p in parts))


async def _trivial(reader, writer):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            writer.write(answer)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _serve_trivial(port, ready):
    async def main():
        server = await asyncio.start_server(_trivial, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("path")
    parser.add_argument("body_file")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--header", action="append", default=[], help="e.g. 'Authorization: ...'")
    parser.add_argument("--processes", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--ceiling", action="store_true", help="drive a trivial server on PORT instead"
    )
    args = parser.parse_args()
    with open(args.body_file, "rb") as file:
        body = file.read()
    trivial = None
    if args.ceiling:
        ready = multiprocessing.Event()
        trivial = multiprocessing.Process(target=_serve_trivial, args=(args.port, ready))
        trivial.start()
        ready.wait(30)
    try:
        if args.processes == 1:
            result = asyncio.run(
                run(
                    args.port,
                    args.path,
                    body,
                    args.clients,
                    args.requests,
                    args.seconds,
                    args.warmup,
                    args.header,
                )
            )
        else:
            request = _request(args.port, args.path, body, args.header)
            if args.warmup:
                asyncio.run(run_phase(args.port, request, 1, args.warmup, args.seconds))
            result = run_processes(
                args.port, request, args.clients, args.requests, args.seconds, args.processes
            )
    finally:
        if trivial is not None:
            trivial.terminate()
            trivial.join()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
