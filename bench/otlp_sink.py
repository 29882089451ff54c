"""A local OTLP/HTTP sink for measuring tracing's cost: accepts ``POST /v1/traces`` and drops it (counts requests
and bytes). ``python -m bench.otlp_sink PORT``; then run the bench with
``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT`` (the services export over OTLP/HTTP to it)."""

from __future__ import annotations

import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    requests = 0
    received = 0

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        Sink.requests += 1
        Sink.received += n
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _stop(*_: object) -> None:
    raise SystemExit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
    try:
        server.serve_forever()
    finally:
        print(f"otlp sink: {Sink.requests} export requests, {Sink.received} bytes", flush=True)


if __name__ == "__main__":
    main()
