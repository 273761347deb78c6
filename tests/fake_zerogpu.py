"""ZeroGPU's device API on loopback, for tests and benchmarks: the app runs under the real
`spaces` package in ZeroGPU mode (`SPACES_ZERO_GPU=true`, `SPACES_ZERO_DEVICE_API_URL`
pointing here) and `spaces`' own client (spaces/zero/api.py, client.py) talks to this server
exactly as it talks to Hugging Face's.

What it answers, as the real API does:
- `POST /startup-report` at launch (the app has decorated functions);
- `POST /schedule` (a GPU asked for, with the visitor's `X-IP-Token` and the duration the
  function declared), by `mode`: a GPU at once (JSON), a wait in line (server-sent events:
  pings, then `succeeded` or `failed`), no GPU (503); whatever the mode, a duration over
  `max_duration` (429 with a negative wait) or over what is left of the visitor's daily quota
  (429 with what is left);
- `POST /allow` (the forked worker's pid), `POST /release` (the GPU given back, `fail=` when
  the task failed), `GET /queue-size`.

Every schedule is recorded as a `Grant`: the token, the declared duration, the answer, and
for a GPU given, when it was released: the seconds the GPU was held. A visitor's quota is
spent by those seconds (a schedule needs the declared duration left, as ZeroGPU refuses a
task that asks for more than the visitor has).
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ANONYMOUS = "(no token)"  # ZeroGPU counts a visitor without a token by address; here, one bucket


def ip_token(user: str) -> str:
    """An `X-IP-Token` as the Hub's proxy sends it: a JWT whose payload names the visitor
    (`spaces` reads the payload, never the signature)."""
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part({'user': user})}.sig"


@dataclass
class Grant:
    token: str
    duration: float  # seconds the decorated function declared
    answer: str  # "gpu", "queued", "queue-failed", "busy", "quota", "illegal-duration"
    allow_token: str = ""
    start: float = 0.0
    held: float | None = None  # seconds from the GPU's grant to its release
    failed: bool = False  # released with fail=true (the task raised, or its worker died)
    pid: int | None = None  # the worker that was allowed on the GPU


class FakeZeroGPU:
    def __init__(self, mode: str = "gpu", quota: float = 120.0, max_duration: float = 300.0,
                 pings: int = 2, ping_gap: float = 0.2):
        self.mode = mode  # "gpu" | "queue" | "queue-fail" | "busy"
        self.quota, self.max_duration = quota, max_duration  # seconds a day per visitor; per task
        self.pings, self.ping_gap = pings, ping_gap
        self.grants: list[Grant] = []
        self.startup_reports = 0
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # a streamed body ends when the connection closes

            def log_message(self, *a):
                pass

            def do_GET(self):
                api._handle(self)

            def do_POST(self):
                api._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- what tests read -------------------------------------------------------------------
    def left(self, token: str | None = None) -> float:
        with self._lock:
            return self.quota - self._spent.get(token or ANONYMOUS, 0.0)

    def spend(self, seconds: float, token: str | None = None) -> None:
        """Use up some of a visitor's quota (a visitor who has been here before)."""
        with self._lock:
            key = token or ANONYMOUS
            self._spent[key] = self._spent.get(key, 0.0) + seconds

    def given(self) -> list[Grant]:
        return [g for g in self.grants if g.answer in ("gpu", "queued")]

    # ---- serving ---------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler):
        url = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/startup-report":
            self.startup_reports += 1
            return self._send(h, 200, {})
        if url.path == "/queue-size":
            return self._send(h, 200, 0.0)
        if url.path == "/schedule":
            return self._schedule(h, q)
        if url.path == "/allow":
            with self._lock:
                for g in self.grants:
                    if g.allow_token == q.get("allowToken"):
                        g.pid = int(q.get("pid", 0))
                        return self._send(h, 200, {})
            return self._send(h, 404, {"detail": "unknown allow token"})
        if url.path == "/release":
            with self._lock:
                for g in self.grants:
                    if g.allow_token == q.get("allowToken") and g.held is None:
                        g.held = time.monotonic() - g.start
                        g.failed = q.get("fail", "false").lower() == "true"
                        self._spent[g.token] = self._spent.get(g.token, 0.0) + g.held
                        return self._send(h, 200, {})
            return self._send(h, 404, {"detail": "unknown allow token"})
        return self._send(h, 404, {"detail": f"no route {url.path}"})

    def _schedule(self, h, q):
        token = q.get("token") or ANONYMOUS
        duration = float(q.get("durationSeconds", 60))
        grant = Grant(token=token, duration=duration, answer=self.mode)
        with self._lock:
            self.grants.append(grant)
            left = self.quota - self._spent.get(token, 0.0)
        auth = {} if token == ANONYMOUS else {"X-Authenticated": "regular"}
        if duration > self.max_duration:
            grant.answer = "illegal-duration"
            return self._send(h, 429, {"left": int(left), "wait": -1},
                              {**auth, "X-Approve-Result": "illegal-duration"})
        if duration > left:
            grant.answer = "quota"
            return self._send(h, 429, {"left": int(max(0, left)), "wait": 3600},
                              {**auth, "X-Approve-Result": "quota-exceeded"})
        if self.mode == "busy":
            return self._send(h, 503, {"detail": "no GPU"}, auth)
        answer = {"idle": True, "nvidiaIndex": 0, "nvidiaUUID": "GPU-fake-zerogpu",
                  "allowToken": secrets.token_hex(8)}
        if self.mode == "gpu":
            self._grant(grant, answer)
            return self._send(h, 200, answer, auth)
        # a wait in line: pings, then a GPU or the end of the wait
        h.send_response(200)
        for k, v in {**auth, "Content-Type": "text/event-stream", "X-Queuing-Reason": "node"}.items():
            h.send_header(k, v)
        h.end_headers()
        try:
            for _ in range(self.pings):
                h.wfile.write(b"event: ping\ndata: {}\n\n")
                h.wfile.flush()
                time.sleep(self.ping_gap)
            if self.mode == "queue-fail":
                grant.answer = "queue-failed"
                h.wfile.write(b"event: failed\ndata: {}\n\n")
            else:
                grant.answer = "queued"
                self._grant(grant, answer)
                h.wfile.write(b"event: succeeded\ndata: " + json.dumps(answer).encode() + b"\n\n")
            h.wfile.flush()
        except OSError:  # the visitor left while waiting
            pass

    def _grant(self, grant: Grant, answer: dict) -> None:
        grant.allow_token, grant.start = answer["allowToken"], time.monotonic()

    @staticmethod
    def _send(h, status: int, payload, headers: dict | None = None):
        body = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
