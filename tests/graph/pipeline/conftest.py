"""Fixtures for the pipeline tests: a real local OpenAI-compatible HTTP server that answers every
chat completion with a scripted reply (so the real `openai` backend drives the real graph)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class ScriptedServer:
    """Replies with `replies[i]` to the i-th request (the last one repeats); records requests.
    `gate`, when set, is called with the request's index before the reply goes out (it may block)."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.requests: list[dict] = []
        self.gate: Callable[[int], None] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # model listing, if a client asks
                body = json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(payload)
                index = len(server.requests) - 1
                if server.gate is not None:
                    server.gate(index)
                text = server.replies[min(index, len(server.replies) - 1)]
                n = int(payload.get("n") or 1)
                choices = [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                           for i in range(n)]
                body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
                                   "choices": choices,
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted_server():
    servers: list[ScriptedServer] = []

    def start(replies: list[str]) -> ScriptedServer:
        s = ScriptedServer(replies)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def slow_stats(tmp_path: Path, repo_root: Path) -> Path:
    """A private copy of the shipped example (tests never touch data/)."""
    dest = tmp_path / "proj" / "slow_stats.py"
    dest.parent.mkdir()
    shutil.copy(repo_root / "data" / "examples" / "slow_stats.py", dest)
    # the project's settings (found by the CLI beside the file): fewer timing rounds keep tests
    # quick; a 10×+ speedup clears the 1.1× bound with 4 rounds
    (dest.parent / "fasterpy.toml").write_text('repeats = 4\nattempts = 2\n[generation]\nbackend = "rules"\n')
    return dest
