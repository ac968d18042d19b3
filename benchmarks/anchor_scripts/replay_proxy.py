"""A proxy that answers each request it has seen before from memory, for the bound of a
client-bound workload: how long the MLflow client takes when the answer costs nothing.

Usage: python replay_proxy.py PORT TARGET_URL. The first request of a kind (method, path,
query and body) goes to TARGET_URL and its answer is kept; every later one is answered
with those bytes at once. Only for analysis: the figures of a server are never its replays.
Standard library only.
"""

from __future__ import annotations

import http.client
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ANSWERS: dict[tuple[str, str, bytes], tuple[int, str, bytes]] = {}
LOCK = threading.Lock()


def handler(target: str) -> type[BaseHTTPRequestHandler]:
    where = urlsplit(target)

    class Replay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real servers

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            key = (self.command, self.path, body)
            with LOCK:
                known = ANSWERS.get(key)
            if known is None:
                known = _forward(where.hostname, where.port, self.command, self.path, body)
                with LOCK:
                    ANSWERS[key] = known
            status, kind, payload = known
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        def log_message(self, *args) -> None:  # quiet
            pass

    return Replay


def _forward(host: str, port: int, method: str, path: str, body: bytes) -> tuple:
    connection = http.client.HTTPConnection(host, port, timeout=600)
    headers = {"Content-Type": "application/json"} if body else {}
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    answer = response.status, response.getheader("content-type", ""), response.read()
    connection.close()
    return answer


def main() -> None:
    port, target = int(sys.argv[1]), sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", port), handler(target)).serve_forever()


if __name__ == "__main__":
    main()
