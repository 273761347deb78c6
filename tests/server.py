"""The real app in its own process, as it runs for real, for the tests that must see what the
server printed; and Gradio's HTTP API spoken directly (as `curl` or a hostile client
would), so that a test can send what gradio_client never would (NaN in JSON, no session,
a wrong type) and read the app's own sentence back."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def close_app(demo) -> None:
    """Close an in-process Gradio app without racing its server. `Blocks.close()` sets the
    app's asyncio stop event from this thread while the server's loop may be adding or
    dropping waiters on it (every open stream waits on it): a CI run once died there with
    "deque mutated during iteration". Set it on its own loop first; close() then finds it set."""
    import threading
    event = demo.app.stop_event
    loop = getattr(event, "_loop", None)  # an asyncio.Event binds its loop when first awaited
    if loop is not None and loop.is_running() and not event.is_set():
        done = threading.Event()
        loop.call_soon_threadsafe(lambda: (event.set(), done.set()))
        done.wait(5)
    demo.close()


class AppServer:
    """`python app.py` (or another `script` that starts it) with its own checkpoint folder, Hub
    cache and upload folder under `tmp`, its output in a log the tests read (`output`, `tracebacks`)."""

    def __init__(self, tmp: Path, env: dict | None = None, timeout: float = 120, script: Path | None = None):
        tmp = Path(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = tmp / "server.log"
        self.upload_dir = tmp / "gradio"
        full = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1",
                "GRADIO_ANALYTICS_ENABLED": "False", "CNN_DEMO_CHECKPOINTS": str(tmp / "runs"),
                "CNN_DEMO_HUB_CACHE": str(tmp / "hub"), "GRADIO_TEMP_DIR": str(self.upload_dir),
                "PYTHONUNBUFFERED": "1", **(env or {})}
        self._log = open(self.log_path, "wb")
        # its own process group: what the app starts (a run's process, ZeroGPU's forked worker) ends with it
        self.proc = subprocess.Popen([sys.executable, str(script or ROOT / "app.py")], env=full, cwd=ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited before it served:\n{self.output()[-3000:]}")
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > end:
                raise RuntimeError(f"the app did not come up:\n{self.output()[-3000:]}")
            time.sleep(0.3)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def mark(self) -> int:
        return len(self.output())

    def tracebacks(self, since: int = 0) -> str:
        """The server's output since `since` if it holds a traceback, else ''."""
        out = self.output()[since:]
        return out if "Traceback" in out else ""

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        """End the app and everything it started (its process group): asked first, then made to."""
        import signal
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # what did not end when asked
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()


def upload(url: str, body: bytes, name: str = "image.png", client: httpx.Client | None = None) -> dict:
    """POST a file to Gradio's upload route, as the browser does; returns its FileData."""
    c = client or httpx.Client(timeout=60)
    r = c.post(f"{url}gradio_api/upload", files={"files": (name, body, "application/octet-stream")})
    r.raise_for_status()
    return {"path": r.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": name}


def call(url: str, api: str, data: list, session: str | None = None, timeout: float = 120) -> tuple[str, object]:
    """Call a named endpoint through Gradio's HTTP API: ("ok", outputs) or ("error", the
    message the client was sent — None when Gradio sent none). The JSON may carry NaN and
    infinity (json.dumps writes them, as a hostile client would)."""
    body = json.dumps({"data": data, "session_hash": session})  # allow_nan: NaN/Infinity go as written
    with httpx.Client(timeout=timeout) as c:
        r = c.post(f"{url}gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})
        if r.status_code != 200:
            return "error", f"HTTP {r.status_code}: {r.text[:300]}"
        outputs, event = None, None
        with c.stream("GET", f"{url}gradio_api/call/{api}/{r.json()['event_id']}") as s:
            for line in s.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    payload = json.loads(line[5:])
                    if event == "error":
                        return "error", (payload or {}).get("error") if isinstance(payload, dict) else payload
                    if event in ("complete", "generating"):
                        outputs = payload
                    if event == "complete":
                        return "ok", outputs
    return "error", "the stream ended without a result"

