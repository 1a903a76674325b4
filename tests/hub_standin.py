"""A stand-in for huggingface.co on 127.0.0.1: serves checkpoint folders the way the hub does, so tests take the
real `huggingface_hub` download path (repo info, HEAD for metadata, GET for content, the cache layout) without
the network. Point the code at it with HF_ENDPOINT=standin.url.

Each repository has commits (a folder of files each) and refs (branch -> commit). Weight files answer like
LFS files (ETag = their SHA-256, as the hub's X-Linked-Etag), the rest like git files (ETag = a SHA-1).
`downloads` lists every file whose content was sent, as (repo_id, commit, filename).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass
class StandInRepo:
    commits: dict[str, Path]                              # commit sha -> folder of the files at that commit
    refs: dict[str, str] = field(default_factory=dict)   # branch or tag -> commit

    def commit_of(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.refs.get(revision)


class HubStandIn:
    def __init__(self, repos: dict[str, StandInRepo]):
        self.repos = repos
        self.downloads: list[tuple[str, str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "HubStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def downloaded(self, repo_id: str) -> set[str]:
        return {name for repo, _, name in self.downloads if repo == repo_id}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, body: bool) -> None:
                path = unquote(urlparse(self.path).path)
                info = re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/(.+)", path)
                if info:
                    return self._repo_info(info[1], info[2], body)
                resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if resolve:
                    return self._file(resolve[1], resolve[2], resolve[3], body)
                self._error(404, "EntryNotFound", f"no route {path}")

            def _lookup(self, repo_id: str, revision: str) -> tuple[StandInRepo, str] | None:
                repo = standin.repos.get(repo_id)
                if repo is None:
                    self._error(404, "RepoNotFound", f"Repository Not Found for url: {self.path}.")
                    return None
                commit = repo.commit_of(revision)
                if commit is None:
                    self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                    return None
                return repo, commit

            def _repo_info(self, repo_id: str, revision: str, body: bool) -> None:
                found = self._lookup(repo_id, revision)
                if found is None:
                    return
                repo, commit = found
                folder = repo.commits[commit]
                files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
                data = json.dumps({"id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                                   "siblings": [{"rfilename": f} for f in files]}).encode()
                self._send(200, data, {"Content-Type": "application/json"}, body)

            def _file(self, repo_id: str, revision: str, name: str, body: bool) -> None:
                found = self._lookup(repo_id, revision)
                if found is None:
                    return
                repo, commit = found
                file = repo.commits[commit] / name
                if not file.is_file():
                    self._error(404, "EntryNotFound", f"{name} does not exist at {commit}")
                    return
                data = file.read_bytes()
                headers = {"X-Repo-Commit": commit, "Content-Type": "application/octet-stream"}
                if name.endswith(".safetensors"):
                    headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
                    headers["X-Linked-Size"] = str(len(data))
                    headers["ETag"] = f'"{hashlib.sha1(name.encode()).hexdigest()}"'  # the pointer's git id
                else:
                    headers["ETag"] = f'"{hashlib.sha1(data).hexdigest()}"'
                if body:
                    standin.downloads.append((repo_id, commit, name))
                self._send(200, data, headers, body)

            def _error(self, status: int, code: str, message: str) -> None:
                data = json.dumps({"error": message}).encode()
                self._send(status, data, {"X-Error-Code": code, "X-Error-Message": message,
                                          "Content-Type": "application/json"}, True)

            def _send(self, status: int, data: bytes, headers: dict[str, str], body: bool) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

        return Handler
