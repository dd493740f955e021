"""openai backend against a real chat-completions server on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend, resolve_backend_name
from graph.prompt import build_messages, extract_code
from harness.errors import FasterPyError

CODE = "def f(xs):\n    return sorted(xs)[0]\n"
REPLY = "Use min:\n```python\ndef f(xs):\n    return min(xs)\n```"


class Server:
    """Scripted behaviour: a queue of statuses to answer before succeeding, a required key."""

    def __init__(self) -> None:
        self.fail_with: list[int] = []
        self.required_key: str | None = None
        self.requests: list[dict] = []
        self.honour_n = True
        self.hold: threading.Event | None = None  # when set up, answers wait until it is set
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if outer.required_key and self.headers.get("Authorization") != f"Bearer {outer.required_key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided"}})
                if outer.hold is not None:
                    outer.hold.wait(30)
                if outer.fail_with:
                    status = outer.fail_with.pop(0)
                    return self._send(status, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
                n = body.get("n", 1) if outer.honour_n else 1
                choices = [{"index": i, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"} for i in range(n)]
                self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"], "choices": choices,
                                 "usage": {"prompt_tokens": 50, "completion_tokens": 12 * n, "total_tokens": 50 + 12 * n}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def _backend(url: str, **kw: object):  # type: ignore[no-untyped-def]
    cfg = GenerationConfig(**{"backend": "openai", "base_url": url, "model": "qwen-test", "timeout_s": 5, **kw})  # type: ignore[arg-type]
    b = get_backend(cfg, reuse=False)
    b.backoff_s = 0.01
    return b


def _request(n: int | None = None) -> GenerationRequest:
    return GenerationRequest(messages=build_messages(CODE, []), code=CODE, n=n)


def test_chat_completion_round_trip(server: Server) -> None:
    b = _backend(server.url, temperature=0.3, max_new_tokens=77)
    replies = b.generate(_request(n=2))
    assert len(replies) == 2
    assert extract_code(replies[0]) == "def f(xs):\n    return min(xs)\n"
    sent = server.requests[0]["body"]
    assert sent["model"] == "qwen-test" and sent["max_tokens"] == 77 and sent["temperature"] == 0.3
    assert sent["messages"][0]["role"] == "system" and "Input code:" in sent["messages"][1]["content"]
    assert b.last_stats.completion_tokens == 24


def test_server_ignoring_n_is_asked_again(server: Server) -> None:
    server.honour_n = False
    assert len(_backend(server.url).generate(_request(n=3))) == 3
    assert len(server.requests) == 3


def test_429_then_success_retries(server: Server) -> None:
    server.fail_with = [429, 503]
    replies = _backend(server.url).generate(_request())
    assert replies and len(server.requests) == 3


def test_persistent_5xx_gives_up_with_one_line(server: Server) -> None:
    server.fail_with = [500] * 10
    with pytest.raises(FasterPyError, match="kept failing after 3 tries") as exc:
        _backend(server.url, retries=2).generate(_request())
    assert "\n" not in str(exc.value)


def test_bad_key_is_a_clear_error(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    server.required_key = "sk-right"
    monkeypatch.setenv("MY_KEY", "sk-wrong")
    with pytest.raises(FasterPyError, match=r"401.*\$MY_KEY is set but was rejected"):
        _backend(server.url, api_key_env="MY_KEY").generate(_request())
    monkeypatch.setenv("MY_KEY", "sk-right")
    assert _backend(server.url, api_key_env="MY_KEY").generate(_request())
    assert server.requests[-1]["auth"] == "Bearer sk-right"


def test_wrong_path_is_a_clear_error(server: Server) -> None:
    with pytest.raises(FasterPyError, match="404.*ends in /v1"):
        _backend(server.url.removesuffix("/v1") + "/api").generate(_request())


def test_dead_server_and_bad_url() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FasterPyError, match="connection refused.*is the server running"):
        _backend(f"http://127.0.0.1:{port}/v1").generate(_request())
    with pytest.raises(FasterPyError, match="bad --base-url"):
        _backend("localhost:8000/v1")


def test_timeout_is_reported() -> None:
    # a server that accepts the connection but never answers
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        b = _backend(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", timeout_s=0.3, retries=1)
        with pytest.raises(FasterPyError, match="no reply .* within 0.3s"):
            b.generate(_request())
    finally:
        listener.close()


def test_base_url_selects_openai() -> None:
    assert resolve_backend_name(GenerationConfig(base_url="http://127.0.0.1:1/v1", model="m")) == "openai"


def test_cancel_stops_waiting_for_a_slow_server(server: Server) -> None:
    server.hold = threading.Event()
    cancel = threading.Event()
    request = _request()
    request.cancel = cancel
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    try:
        replies = _backend(server.url, timeout_s=30).generate(request)
        assert replies == []
        assert not server.hold.is_set()  # returned while the server was still holding the answer
        assert len(server.requests) == 1
    finally:
        timer.cancel()
        server.hold.set()
