"""A real webhook receiver for the tests: a threaded HTTP server on the loopback that keeps every request it
gets (headers and body, byte for byte) and answers each with the next status of its script (200 once the
script is used up). ``hold`` makes it keep the next request waiting, having read it, until ``release``.

Signatures are checked with the reference implementation, the ``standardwebhooks`` package, as an integrator
would: so the service's signing is proven compatible, not assumed."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The event, once its signature is verified by ``standardwebhooks`` (raises if it is not)."""
        return Webhook(secret).verify(self.body, self.headers)

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[int] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script or [])
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.hold = False
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/kait"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def event_ids(self) -> Counter[str]:
        return Counter(r.event_id for r in self.received())


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server = self.server
        with server.lock:
            status = server.script.pop(0) if server.script else 200
            hold, server.hold = server.hold, False
            server.requests.append(
                Received({k.lower(): v for k, v in self.headers.items()}, body, answered=status)
            )
        if hold:
            server.arrived.set()
            server.release.wait(30)
        answer = b'{"diterima": true}' if status < 300 else b"<html>Galat internal penerima</html>"
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/lain")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:  # the sender is gone (killed while we held its request)
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass
