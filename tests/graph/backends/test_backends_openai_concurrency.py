"""openai backend under concurrency: many rows (threads, each with its own backend) against a real
local chat-completions server that answers slowly and ignores `n` (like llama.cpp server). The
server counts the requests in flight: the process-wide bound holds, and every row gets all of its
own candidates."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend
from harness.errors import FasterPyError


class SlowServer:
    """Answers each request after `delay` seconds with one choice naming the row and the seed."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.requests += 1
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    time.sleep(outer.delay)  # the model "generating"
                    row = body["messages"][-1]["content"]
                    text = f"```python\nprint({row!r}, {body['seed']})\n```"
                    data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                                       "usage": {"prompt_tokens": 5, "completion_tokens": 7}}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with lock:
                        outer.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow() -> Iterator[SlowServer]:
    s = SlowServer(delay=0.25)
    yield s
    s.close()


def _backend(url: str, bound: int) -> Any:
    cfg = GenerationConfig(backend="openai", base_url=url, model="m", timeout_s=30, max_concurrency=bound)
    return get_backend(cfg, reuse=False)


def test_rows_in_threads_share_the_bound_and_lose_nothing(slow: SlowServer) -> None:
    rows = [f"row-{i}" for i in range(5)]
    got: dict[str, list[str]] = {}

    def run(row: str) -> None:  # one row: its own backend instance, three candidates
        got[row] = _backend(slow.url, 2).generate(
            GenerationRequest(messages=[{"role": "user", "content": row}], n=3))

    threads = [threading.Thread(target=run, args=(r,)) for r in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert slow.requests == 15  # 5 rows × 3 candidates, one request each (the server ignores n)
    assert slow.max_in_flight == 2  # the bound is shared by every backend in the process, and reached
    for row in rows:  # every row has its own three candidates, seeds 42, 43, 44, none lost or mixed up
        assert sorted(got[row]) == [f"```python\nprint({row!r}, {42 + k})\n```" for k in range(3)]


def test_one_row_sends_its_candidates_together(slow: SlowServer) -> None:
    backend = _backend(slow.url, 4)
    replies = backend.generate(GenerationRequest(messages=[{"role": "user", "content": "x"}], n=4))
    assert len(replies) == 4 and slow.requests == 4
    assert slow.max_in_flight == 3  # the first request, then the three missing candidates at once
    assert backend.last_stats.candidates == 4 and backend.last_stats.completion_tokens == 28


def test_a_bound_below_one_is_a_clear_error(slow: SlowServer) -> None:
    with pytest.raises(FasterPyError, match="max_concurrency is 0 — give at least 1"):
        _backend(slow.url, 0)
