"""Bounds on requests before Gradio reads them: an ASGI middleware in front of the app.

Gradio parses a request's whole body before any of the app's code runs — JSON into
Python objects (a 1500×1500 'kernel' took 4 s and 117 MB), multipart forms into memory
(a form accepts up to 1,000 files) — so the size of a body is bounded here, from its
Content-Length, per kind of route: uploads (one image) and everything else (JSON: the
largest honest bodies are a bank of 16 kernels and the canvas's PNG as a data URL). Uploads also have a disk budget: Gradio's upload folder is kept within
`UPLOAD_CACHE_BUDGET` by deleting its oldest files, and an upload that cannot fit is
refused. Every refusal is a JSON `{"detail": sentence}` with the HTTP status that fits.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from ..limits import MAX_JSON_BODY, UPLOAD_CACHE_BUDGET, megabytes

UPLOAD_BODY = 20 * 2**20 + 64 * 2**10  # one file of Gradio's max_file_size (20 MB), plus the form around it


def body_limit(path: str) -> int:
    if path.endswith("/upload") or path == "/api/classify":  # one image file
        return UPLOAD_BODY
    return MAX_JSON_BODY


class UploadFolder:
    """The size of Gradio's upload folder, measured at most every `every` seconds (walking it
    costs), with what was accepted since added; `make_room` deletes the oldest files."""

    def __init__(self, folder: Path, budget: int = UPLOAD_CACHE_BUDGET, every: float = 10.0):
        self.folder, self.budget, self.every = Path(folder), budget, every
        self._size, self._at = 0, 0.0
        self._lock = threading.Lock()

    def _files(self):
        out = []
        for root, _, names in os.walk(self.folder):
            for n in names:
                p = os.path.join(root, n)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                out.append((st.st_mtime, st.st_size, p))
        return out

    def size(self) -> int:
        with self._lock:
            if time.monotonic() - self._at > self.every:
                self._size = sum(s for _, s, _ in self._files())
                self._at = time.monotonic()
            return self._size

    def accepted(self, n: int) -> None:
        with self._lock:
            self._size += n

    def make_room(self, n: int) -> bool:
        """Delete the oldest files until `n` more bytes fit in the budget; whether they do."""
        if self.size() + n <= self.budget:
            return True
        with self._lock:
            files = sorted(self._files())
            total = sum(s for _, s, _ in files)
            for _, s, p in files:
                if total + n <= self.budget * 0.8:
                    break
                try:
                    os.unlink(p)
                    total -= s
                except OSError:
                    pass
            self._size, self._at = total, time.monotonic()
            return total + n <= self.budget


class RequestGuard:
    """ASGI middleware; `upload_folder` is a function giving Gradio's upload folder."""

    def __init__(self, app, upload_folder=None):
        self.app = app
        self._folder_of = upload_folder
        self._uploads: UploadFolder | None = None

    def uploads(self) -> UploadFolder:
        if self._uploads is None:
            from gradio.utils import get_upload_folder
            self._uploads = UploadFolder(Path((self._folder_of or get_upload_folder)()))
        return self._uploads

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        path = scope["path"]
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        limit = body_limit(path)
        if length is None:
            if headers.get(b"transfer-encoding"):
                return await _refuse(send, 411, "Send the request with a Content-Length: bodies are size-checked "
                                                "before they are read.")
            n = 0
        else:
            try:
                n = int(length)
            except ValueError:
                return await _refuse(send, 400, "The Content-Length header is not a number.")
        if n > limit:
            return await _refuse(send, 413, f"The request body is {megabytes(n)}; this route takes at most "
                                            f"{megabytes(limit)}.")
        if path.endswith("/upload") and n:
            uploads = self.uploads()
            if not uploads.make_room(n):
                return await _refuse(send, 507, "The server's upload space is full; try again in a few minutes.")
            uploads.accepted(n)
        return await self.app(scope, receive, send)


async def _refuse(send, status: int, sentence: str) -> None:
    body = json.dumps({"detail": sentence}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
