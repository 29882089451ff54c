"""A 12345 platform simulator for tests and demos: a real HTTP server, in its own process.

    python -m services.hotline_sim --intake-url http://127.0.0.1:8101 --client-id qinglan-12345 \\
        --secret <our INTAKE_HOTLINE_CLIENTS secret> --callback-secret <its callback_secret>

It listens on two ports:

- the platform port (default 8201) receives our status callbacks at ``POST /callbacks``: it checks the
  signature, the timestamp and the nonce like a real platform, applies each callback once per
  ``Idempotency-Key`` and records every delivery (point the client's ``callback_url`` at it);
- the control port (default 8202) drives it:
  ``POST /sim/push`` {"order_nos": [...]} (or {} for all of the sample orders, or {"orders": [raw orders]}) pushes
  signed work orders to intake; ``POST /sim/message`` {"order_no", "kind": feedback|redo|urge, "body"} sends a
  回访/重办/催办; ``POST /sim/fail`` {"count": 2, "status": 500, "apply": false} answers the next callbacks with an
  error (``apply``: after applying them, as when an answer is lost); ``POST /sim/unreachable`` {"on": true} or
  {"seconds": 60} closes the platform port (connections refused) and {"on": false} opens it again;
  ``GET /sim/callbacks`` (``?order_no=``) lists deliveries and applied callbacks; ``POST /sim/reset``.

The signing code here is written independently of intake's, so the two check each other.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ORDERS = Path(__file__).parent / "data" / "hotline_orders_dev.jsonl"
SKEW_SECONDS = 300


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    text = f"{method}\n{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign_headers(client_id: str, secret: str, method: str, path: str, body: bytes,
                 timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {"X-Hotline-Client": client_id, "X-Hotline-Timestamp": ts, "X-Hotline-Nonce": nonce,
            "X-Hotline-Signature": signature(secret, method, path, ts, nonce, body)}


@dataclass
class Config:
    intake_url: str
    client_id: str
    secret: str
    callback_secret: str
    orders: Path = ORDERS
    callback_path: str = "/callbacks"


@dataclass
class State:
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key, in order
    nonces: set[str] = field(default_factory=set)
    last_seq: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[int, bool]] = field(default_factory=list)  # (status, apply first)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Simulator:
    def __init__(self, config: Config, host: str, port: int, control_port: int) -> None:
        self.config = config
        self.host, self.port, self.control_port = host, port, control_port
        self.state = State()
        self._platform: ThreadingHTTPServer | None = None
        self._platform_lock = threading.Lock()
        self._reopen_timer: threading.Timer | None = None
        self.control = ThreadingHTTPServer((host, control_port), _handler(self, control=True))
        self.control.daemon_threads = True

    # --- the platform port -------------------------------------------------------------------------

    def open_platform(self) -> None:
        with self._platform_lock:
            if self._platform is not None:
                return
            server = ThreadingHTTPServer((self.host, self.port), _handler(self, control=False))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._platform = server

    def close_platform(self) -> None:
        with self._platform_lock:
            server, self._platform = self._platform, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def reachable(self) -> bool:
        return self._platform is not None

    def receive_callback(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        cfg, st = self.config, self.state
        ts, nonce = headers.get("x-hotline-timestamp", ""), headers.get("x-hotline-nonce", "")
        key = headers.get("idempotency-key", "")
        if headers.get("x-hotline-client") != cfg.client_id:
            return 401, {"code": 401, "message": "unknown client"}
        if not ts.isdigit() or abs(time.time() - int(ts)) > SKEW_SECONDS:
            return 401, {"code": 401, "message": "stale timestamp"}
        expected = signature(cfg.callback_secret, "POST", path, ts, nonce, body)
        if not hmac.compare_digest(expected, headers.get("x-hotline-signature", "")):
            return 401, {"code": 401, "message": "bad signature"}
        if not key:
            return 400, {"code": 400, "message": "Idempotency-Key required"}
        try:
            doc = json.loads(body)
        except ValueError:
            return 400, {"code": 400, "message": "not JSON"}
        with st.lock:
            if nonce in st.nonces:
                return 409, {"code": 409, "message": "replayed nonce"}
            st.nonces.add(nonce)
            failure = st.failures.pop(0) if st.failures else None
            duplicate = key in st.applied
            record = {"at": time.time(), "idempotency_key": key, "order_no": doc.get("order_no"),
                      "action": doc.get("action_type"), "seq": doc.get("seq"), "body": doc, "duplicate": duplicate,
                      "traceparent": headers.get("traceparent")}
            if failure is not None and not failure[1]:
                st.deliveries.append({**record, "status": failure[0], "applied": False})
                return failure[0], {"code": failure[0], "message": "平台内部错误"}
            if not duplicate:
                order = str(doc.get("order_no"))
                seq = int(doc.get("seq") or 0)
                record["out_of_order"] = seq != st.last_seq.get(order, 0) + 1
                st.last_seq[order] = max(seq, st.last_seq.get(order, 0))
                st.applied[key] = {**record, "receipt": f"R{len(st.applied) + 1:06d}"}
            status = failure[0] if failure is not None else 200
            st.deliveries.append({**record, "status": status, "applied": not duplicate})
            if failure is not None:
                return status, {"code": status, "message": "平台内部错误"}
            receipt = st.applied[key]["receipt"]
            return 200, {"code": 0, "message": "重复请求，已处理" if duplicate else "成功", "receipt": receipt,
                         "duplicate": duplicate}

    # --- control ---------------------------------------------------------------------------------------

    def _send(self, path: str, body: bytes, timestamp: int | None = None) -> dict[str, Any]:
        url = self.config.intake_url.rstrip("/") + path
        headers = sign_headers(self.config.client_id, self.config.secret, "POST", urlsplit(url).path, body, timestamp)
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={**headers, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return {"status": response.status, "body": json.loads(response.read() or b"null")}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = raw.decode(errors="replace")
            return {"status": exc.code, "body": answer}

    def push(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        if "orders" in doc:
            orders = list(doc["orders"])
        else:
            orders = [json.loads(line) for line in self.config.orders.read_text(encoding="utf-8").splitlines()
                      if line.strip()]
            wanted = doc.get("order_nos")
            if wanted:
                by_no = {o["order_no"]: o for o in orders}
                orders = [by_no[n] for n in wanted if n in by_no]
        out = []
        for order in orders:
            body = json.dumps(order, ensure_ascii=False).encode()
            out.append({"order_no": order.get("order_no"), **self._send("/api/v1/hotline/orders", body)})
        return out

    def message(self, doc: dict[str, Any]) -> dict[str, Any]:
        kind, order_no = doc["kind"], doc["order_no"]
        body = {"message_id": f"M{secrets.token_hex(8)}", **(doc.get("body") or {})}
        return self._send(f"/api/v1/hotline/orders/{order_no}/{kind}",
                          json.dumps(body, ensure_ascii=False).encode())

    def set_unreachable(self, doc: dict[str, Any]) -> None:
        if self._reopen_timer is not None:
            self._reopen_timer.cancel()
            self._reopen_timer = None
        if doc.get("seconds"):
            self.close_platform()
            self._reopen_timer = threading.Timer(float(doc["seconds"]), self.open_platform)
            self._reopen_timer.daemon = True
            self._reopen_timer.start()
        elif doc.get("on"):
            self.close_platform()
        else:
            self.open_platform()

    def callbacks(self, order_no: str | None) -> dict[str, Any]:
        with self.state.lock:
            deliveries = [d for d in self.state.deliveries if order_no in (None, d["order_no"])]
            applied = [a for a in self.state.applied.values() if order_no in (None, a["order_no"])]
        return {"deliveries": deliveries, "applied": applied, "reachable": self.reachable}

    def control_request(self, method: str, path: str, query: dict[str, list[str]], doc: dict[str, Any]
                        ) -> tuple[int, Any]:
        st = self.state
        if method == "GET" and path == "/sim/callbacks":
            wanted = query.get("order_no")
            return 200, self.callbacks(wanted[0] if wanted else None)
        if method == "GET" and path == "/sim/state":
            with st.lock:
                return 200, {"reachable": self.reachable, "failures": len(st.failures),
                             "deliveries": len(st.deliveries), "applied": len(st.applied)}
        if method == "POST" and path == "/sim/push":
            return 200, self.push(doc)
        if method == "POST" and path == "/sim/message":
            return 200, self.message(doc)
        if method == "POST" and path == "/sim/fail":
            with st.lock:
                st.failures.extend([(int(doc.get("status", 500)), bool(doc.get("apply", False)))]
                                   * int(doc.get("count", 1)))
            return 200, {"failures": len(st.failures)}
        if method == "POST" and path == "/sim/unreachable":
            self.set_unreachable(doc)
            return 200, {"reachable": self.reachable}
        if method == "POST" and path == "/sim/reset":
            with st.lock:
                self.state = State()
            self.open_platform()
            return 200, {"reset": True}
        return 404, {"message": f"no {method} {path}"}

    def serve(self) -> None:
        self.open_platform()
        print(f"hotline simulator: platform http://{self.host}:{self.port}{self.config.callback_path}  "
              f"control http://{self.host}:{self.control_port}/sim/state", flush=True)
        try:
            self.control.serve_forever()
        finally:
            self.close_platform()
            self.control.server_close()


def _handler(sim: Simulator, *, control: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the recorded state
            return

        def _answer(self, status: int, doc: Any) -> None:
            raw = json.dumps(doc, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            if not control:  # no kept-alive connection survives the platform port closing ("unreachable")
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self._body()
            if control:
                try:
                    doc = json.loads(body) if body else {}
                    status, answer = sim.control_request(method, parts.path, parse_qs(parts.query), doc)
                except Exception as exc:  # a control error is the test's to see
                    status, answer = 500, {"message": repr(exc)}
                self._answer(status, answer)
                return
            if method != "POST" or parts.path != sim.config.callback_path:
                self._answer(404, {"code": 404, "message": "not found"})
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = sim.receive_callback(self.path, headers, body)
            self._answer(status, answer)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(description="12345 platform simulator")
    parser.add_argument("--host", default=env("HOTLINE_SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("HOTLINE_SIM_PORT", "8201")))
    parser.add_argument("--control-port", type=int, default=int(env("HOTLINE_SIM_CONTROL_PORT", "8202")))
    parser.add_argument("--intake-url", default=env("HOTLINE_SIM_INTAKE_URL", "http://127.0.0.1:8101"))
    parser.add_argument("--client-id", default=env("HOTLINE_SIM_CLIENT_ID", "qinglan-12345"))
    parser.add_argument("--secret", default=env("HOTLINE_SIM_SECRET"), required=not env("HOTLINE_SIM_SECRET"))
    parser.add_argument("--callback-secret", default=env("HOTLINE_SIM_CALLBACK_SECRET"),
                        required=not env("HOTLINE_SIM_CALLBACK_SECRET"))
    parser.add_argument("--orders", type=Path, default=Path(env("HOTLINE_SIM_ORDERS", str(ORDERS))))
    args = parser.parse_args(argv)
    config = Config(intake_url=args.intake_url, client_id=args.client_id, secret=args.secret,
                    callback_secret=args.callback_secret, orders=args.orders)
    Simulator(config, args.host, args.port, args.control_port).serve()


if __name__ == "__main__":
    main()
