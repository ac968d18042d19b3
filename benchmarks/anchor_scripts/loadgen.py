"""A small HTTP/1.1 load generator (standard library only, keep-alive connections).

Used for loopml and for the anchor alike, so both servers meet the same client.
Traffic goes only to 127.0.0.1, bounded by a request count and a time limit.

    python loadgen.py PORT PATH BODY_FILE --clients 8 --requests 20000 --seconds 20

Prints one JSON object: requests, failures, seconds, throughput, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def run(port, path, body, clients, requests, seconds, warmup, headers=()):
    extra = "".join(f"{header}\r\n" for header in headers)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    if warmup:
        await run_phase(port, request, 1, warmup, seconds)
    return await run_phase(port, request, clients, requests, seconds)


async def run_phase(port, request, clients, requests, seconds):
    state = {"left": requests, "failures": 0}
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(client(port, request, state, latencies, deadline) for _ in range(clients))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "failures": state["failures"],
        "seconds": elapsed,
        "throughput": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


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
    args = parser.parse_args()
    with open(args.body_file, "rb") as file:
        body = file.read()
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
    print(json.dumps(result))


if __name__ == "__main__":
    main()
