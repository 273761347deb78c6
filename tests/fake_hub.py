"""A small Hugging Face Hub for tests, on loopback only: the real `huggingface_hub` client is
pointed at it (`HF_ENDPOINT`) and runs its real code against it.

It serves what loading and pushing a model need — model info with file sizes, file
downloads (HEAD/GET, with ranges), repo creation, the pre-upload question and commits —
and answers 401/403/404 the way the Hub does (`X-Error-Code` headers). Every request is
recorded (method, path, Authorization header, bytes sent), so a test can say what was
asked for and what was downloaded. Large files can be declared by size only: their bytes
are generated on demand, never held.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


class Big:
    """A file of `size` zero bytes after a short prefix, produced on demand."""

    def __init__(self, size: int, prefix: bytes = b""):
        self.size, self.prefix = size, prefix

    def read(self, start: int, end: int) -> bytes:  # [start, end)
        out = bytearray(max(0, end - start))
        p = self.prefix[start:end]
        out[:len(p)] = p
        return bytes(out)


def _etag(data) -> str:
    if isinstance(data, Big):
        return hashlib.sha256(f"big-{data.size}".encode()).hexdigest()
    return hashlib.sha256(data).hexdigest()


@dataclass
class Repo:
    commits: dict = field(default_factory=dict)  # sha → {path: bytes | Big}
    refs: dict = field(default_factory=dict)  # branch or tag → sha
    private: bool = False
    gated: bool = False
    readers: set = field(default_factory=set)  # tokens that may read a private or gated repo
    writers: set = field(default_factory=set)  # tokens that may push


@dataclass
class Request:
    method: str
    path: str
    auth: str | None
    sent: int = 0  # bytes of file content sent back


class FakeHub:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self.users: dict[str, str] = {}  # token → user name (may create repos in its namespace)
        self._n = 0
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                hub._handle(self, "GET")

            def do_HEAD(self):
                hub._handle(self, "HEAD")

            def do_POST(self):
                hub._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- set-up -------------------------------------------------------------------------
    def _sha(self) -> str:
        with self._lock:
            self._n += 1
            return hashlib.sha1(f"commit-{self._n}".encode()).hexdigest()

    def add_repo(self, repo_id: str, files: dict, *, private=False, gated=False, readers=(), writers=(),
                 tag: str | None = None) -> str:
        """A repo whose main branch holds `files` ({path: bytes | Big}); returns its commit sha."""
        repo = self.repos.setdefault(repo_id, Repo(private=private, gated=gated, readers=set(readers),
                                                   writers=set(writers)))
        sha = self._sha()
        repo.commits[sha] = dict(files)
        repo.refs["main"] = sha
        if tag:
            repo.refs[tag] = sha
        return sha

    def downloads(self, repo_id: str | None = None) -> list[str]:
        """Paths whose content was sent (GET of a file), in order."""
        pre = f"/{repo_id}/resolve/" if repo_id else "/"
        return [r.path for r in self.requests if r.method == "GET" and "/resolve/" in r.path
                and r.path.startswith(pre) and r.sent]

    def bytes_sent(self) -> int:
        return sum(r.sent for r in self.requests)

    # ---- serving ------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str):
        url = urlparse(h.path)
        path = unquote(url.path)
        query = parse_qs(url.query)
        auth = h.headers.get("Authorization")
        rec = Request(method, path, auth)
        self.requests.append(rec)
        token = auth.split(" ", 1)[1] if auth and auth.startswith("Bearer ") else None
        body = b""
        if method == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(n)
        try:
            status, headers, payload = self._route(method, path, query, token, body, h.headers, rec)
        except Exception as e:  # a bug in this test server: say so loudly
            status, headers, payload = 500, {}, f"fake hub error: {type(e).__name__}: {e}".encode()
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if "Content-Length" not in headers:
            h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(payload)
            if "/resolve/" in path and status in (200, 206):
                rec.sent = len(payload)

    @staticmethod
    def _error(status: int, code: str | None, message: str):
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        return status, headers, {"error": message}

    def _access(self, repo_id: str, token: str | None):
        """(repo, error) for reading."""
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and token not in repo.readers | repo.writers):
            # the Hub answers 401 (no token) or 404 alike for missing and private repos
            return None, self._error(401 if token is None else 404, "RepoNotFound", "Repository not found")
        if repo.gated and token not in repo.readers | repo.writers:
            return None, self._error(403 if token else 401, "GatedRepo",
                                     "Access to model is restricted. You must have access to it and be authenticated")
        return repo, None

    def _split(self, path: str, marker: str):
        """'/user/name/resolve/rev/file' → ('user/name', 'rev', 'file') (a repo id may lack a namespace)."""
        head, _, rest = path.partition(f"/{marker}/")
        rev, _, tail = rest.partition("/")
        return head.strip("/"), unquote(rev), tail

    def _route(self, method, path, query, token, body, headers, rec):
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/"):]
            if "/preupload/" in rest:
                return self._preupload(rest, token, body)
            if "/commit/" in rest:
                return self._commit(rest, token, body)
            repo_id, rev = (rest.split("/revision/", 1) + [None])[:2] if "/revision/" in rest else (rest, None)
            return self._info(repo_id.strip("/"), unquote(rev) if rev else None, token, "blobs" in query)
        if path == "/api/repos/create" and method == "POST":
            return self._create(token, json.loads(body or b"{}"))
        if path == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml(json.loads(body or b"{}").get("content", ""))
        if path == "/api/whoami-v2":
            if token not in self.users:
                return self._error(401, None, "Invalid credentials in Authorization header")
            return 200, {}, {"name": self.users[token], "type": "user"}
        if "/resolve/" in path:
            return self._resolve(method, path, token, headers)
        return self._error(404, None, f"fake hub: no route for {method} {path}")

    def _info(self, repo_id, rev, token, blobs):
        repo, err = self._access(repo_id, token)
        if err:
            return err
        sha = repo.refs.get(rev or "main", rev if rev in repo.commits else None)
        if sha is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        files = repo.commits[sha]
        siblings = []
        for p, data in sorted(files.items()):
            s = {"rfilename": p}
            if blobs:
                size = data.size if isinstance(data, Big) else len(data)
                s.update(size=size, blobId=_etag(data)[:40])
                if size > 10 * 2**20:
                    s["lfs"] = {"size": size, "sha256": _etag(data), "pointerSize": 134}
            siblings.append(s)
        return 200, {}, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                         "gated": "auto" if repo.gated else False, "siblings": siblings, "tags": []}

    def _resolve(self, method, path, token, headers):
        repo_id, rev, file = self._split(path, "resolve")
        repo, err = self._access(repo_id, token)
        if err:
            return err
        sha = repo.refs.get(rev, rev if rev in repo.commits else None)
        if sha is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        data = repo.commits[sha].get(file)
        if data is None:
            return self._error(404, "EntryNotFound", "Entry not found")
        size = data.size if isinstance(data, Big) else len(data)
        out = {"X-Repo-Commit": sha, "ETag": f'"{_etag(data)}"', "Accept-Ranges": "bytes",
               "Content-Type": "application/octet-stream"}
        start, end, status = 0, size, 200
        rng = headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a or 0)
            end = min(size, int(b) + 1) if b else size
            status = 206
            out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        out["Content-Length"] = str(end - start)
        if method == "HEAD":
            return status, out, b""
        chunk = data.read(start, end) if isinstance(data, Big) else data[start:end]
        return status, out, chunk

    def _writer(self, repo_id, token):
        repo = self.repos.get(repo_id)
        user = self.users.get(token)
        if user is None:
            return None, self._error(401, None, "Invalid credentials in Authorization header")
        if repo is None or (token not in repo.writers and not repo_id.startswith(f"{user}/")):
            return None, self._error(403, None, "You don't have the rights to write to this repo")
        return repo, None

    def _create(self, token, body):
        user = self.users.get(token)
        if user is None:
            return self._error(401, None, "Invalid credentials in Authorization header")
        org = body.get("organization") or user
        repo_id = f"{org}/{body['name']}"
        if org != user:
            return self._error(403, None, f"You don't have the rights to create a model under the namespace {org}")
        if repo_id in self.repos:
            return 409, {}, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"}
        # huggingface_hub 1.x sends visibility ("public" | "private" | ...), older ones private
        private = body.get("visibility", "public") != "public" or bool(body.get("private"))
        self.repos[repo_id] = Repo(private=private, writers={token})
        self.repos[repo_id].commits[self._sha()] = {}
        self.repos[repo_id].refs["main"] = next(iter(self.repos[repo_id].commits))
        return 200, {}, {"url": f"{self.url}/{repo_id}", "name": repo_id}

    def _validate_yaml(self, content: str):
        """The Hub checks a model card's YAML front matter before a commit."""
        import yaml
        if content.startswith("---"):
            head = content[3:].split("\n---", 1)[0]
            try:
                meta = yaml.safe_load(head)
            except yaml.YAMLError as e:
                return 400, {}, {"errors": [{"message": f"invalid YAML: {e}"}], "warnings": []}
            if meta is not None and not isinstance(meta, dict):
                return 400, {}, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []}
        return 200, {}, {"errors": [], "warnings": []}

    def _preupload(self, rest, token, body):
        repo_id, rev, _ = self._split("/" + rest, "preupload")
        _, err = self._writer(repo_id, token)
        if err:
            return err
        files = json.loads(body)["files"]
        return 200, {}, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                   for f in files], "commitOid": None}

    def _commit(self, rest, token, body):
        repo_id, rev, _ = self._split("/" + rest, "commit")
        repo, err = self._writer(repo_id, token)
        if err:
            return err
        files = dict(repo.commits[repo.refs.get(rev or "main", repo.refs["main"])])
        summary = ""
        for line in body.decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["key"] == "header":
                summary = item["value"].get("summary", "")
            elif item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] == "deletedFile":
                files.pop(item["value"]["path"], None)
            else:
                return self._error(400, None, f"fake hub: unsupported commit item {item['key']}")
        sha = self._sha()
        repo.commits[sha] = files
        repo.refs[rev or "main"] = sha
        return 200, {}, {"commitUrl": f"{self.url}/{repo_id}/commit/{sha}", "commitOid": sha,
                         "commitMessage": summary, "success": True}
