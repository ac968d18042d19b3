"""``loopml serve`` as a real process on loopback, for tests that talk to it over HTTP."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

LOOPML = str(Path(sys.executable).parent / "loopml")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(env: dict[str, str], cwd: Path, port: int | None = None) -> Iterator[str]:
    """The base URL of a ``loopml serve`` process, once it answers /readyz; stopped after."""
    port = port or free_port()
    command = [LOOPML, "serve", "--port", str(port), "--log-level", "warning"]
    with subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(f"{base}/readyz", process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=60)


def wait_until_ready(
    url: str, process: subprocess.Popen, what: str = "loopml serve", seconds: float = 180
) -> None:
    """Poll ``url`` until it answers 200; fail with the process's output if it exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stdout.read()}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} did not become ready in {seconds:.0f} s")
