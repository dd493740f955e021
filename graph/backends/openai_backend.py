"""The `openai` backend: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp
server, hosted APIs) over plain HTTP, with retries on 429/5xx and one-line errors."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, cancelled, wanted
from graph.backends.registry import register_backend
from harness.errors import FasterPyError

_RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF_S = 20.0


def _endpoint(base_url: str) -> str:
    parsed = urllib.parse.urlparse(base_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FasterPyError(
            f"bad --base-url {base_url!r} — give the server's API root, e.g. http://127.0.0.1:8000/v1"
        )
    path = parsed.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions"
    return urllib.parse.urlunparse(parsed._replace(path=path))


def _server_message(body: bytes) -> str:
    try:
        data = json.loads(body)
        err = data.get("error", data)
        msg = err.get("message") if isinstance(err, dict) else str(err)
        return str(msg)[:200]
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()[:200]


@register_backend("openai")
class OpenAIBackend:
    name = "openai"

    def __init__(self, config: GenerationConfig) -> None:
        if not config.base_url:
            raise FasterPyError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        self.url = _endpoint(config.base_url)
        self.api_key = os.environ.get(config.api_key_env or "OPENAI_API_KEY", "")
        self.last_stats = GenerationStats()
        self.backoff_s = 1.0  # first retry delay; doubles each time (tests shorten it)

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        delay = self.backoff_s
        attempts = max(0, self.config.retries) + 1
        last = ""
        for attempt in range(attempts):
            req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                detail = _server_message(exc.read() or b"")
                if exc.code in (401, 403):
                    env = self.config.api_key_env or "OPENAI_API_KEY"
                    state = "is set but was rejected" if self.api_key else "is not set"
                    raise FasterPyError(
                        f"server refused the request ({exc.code}: {detail}) — the API key in ${env} {state}; "
                        f"export a valid key or pass --api-key-env"
                    ) from None
                if exc.code == 404:
                    raise FasterPyError(
                        f"{self.url} answered 404 ({detail}) — check --base-url (usually ends in /v1) and --model"
                    ) from None
                if exc.code not in _RETRY_STATUS:
                    raise FasterPyError(f"server error {exc.code} from {self.url}: {detail}") from None
                last = f"{exc.code} {detail}"
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                wait = delay
                if retry_after:
                    try:
                        wait = min(float(retry_after), MAX_BACKOFF_S)
                    except ValueError:
                        pass
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    last = "timed out"
                    wait = delay
                elif isinstance(reason, ConnectionRefusedError):
                    raise FasterPyError(
                        f"cannot connect to {self.url} (connection refused) — is the server running? check --base-url"
                    ) from None
                elif isinstance(reason, socket.gaierror):
                    raise FasterPyError(f"unknown host in --base-url {self.config.base_url!r} — check the address") from None
                else:
                    raise FasterPyError(f"cannot reach {self.url}: {reason} — check --base-url and the network") from None
            except (TimeoutError, socket.timeout):
                last = "timed out"
                wait = delay
            except (ConnectionError, http_client_errors()) as exc:
                last = f"connection dropped ({exc.__class__.__name__})"
                wait = delay
            except ValueError as exc:
                raise FasterPyError(f"{self.url} did not answer with JSON ({exc}) — is it an OpenAI-compatible server?") from None
            if attempt + 1 < attempts:
                time.sleep(wait)
                delay = min(delay * 2, MAX_BACKOFF_S)
        if last == "timed out":
            raise FasterPyError(
                f"no reply from {self.url} within {self.config.timeout_s:g}s after {attempts} tries — raise --timeout or check the server"
            )
        raise FasterPyError(f"{self.url} kept failing after {attempts} tries (last: {last}) — try again later")

    def _post_unless_cancelled(self, payload: dict[str, Any], cancel: Any) -> dict[str, Any] | None:
        """`_post`, but give up waiting (None) once `cancel` is set. The request runs on a daemon
        thread that is left to finish on its own: urllib cannot abort a read in progress, and a
        server usually stops generating when the client goes away."""
        if cancel is None:
            return self._post(payload)
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["data"] = self._post(payload)
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        thread = threading.Thread(target=call, name="fasterpy-openai", daemon=True)
        thread.start()
        while thread.is_alive():
            if cancel.is_set():
                return None
            thread.join(0.05)
        if "error" in box:
            raise box["error"]
        return box["data"]

    def generate(self, request: GenerationRequest) -> list[str]:
        cfg = self.config
        n = wanted(request, cfg)
        replies: list[str] = []
        stats = GenerationStats()
        t0 = time.perf_counter()
        # servers that ignore `n` (llama.cpp server, some hosted APIs) return one choice: ask again
        for _ in range(n):
            if cancelled(request):
                break
            payload: dict[str, Any] = {
                "model": cfg.model or "default", "messages": request.messages,
                "temperature": cfg.temperature, "top_p": cfg.top_p,
                "max_tokens": cfg.max_new_tokens, "n": n - len(replies), "seed": cfg.seed + len(replies),
            }
            data = self._post_unless_cancelled(payload, request.cancel)
            if data is None:
                break
            choices = data.get("choices") if isinstance(data, dict) else None
            if not choices:
                raise FasterPyError(f"{self.url} replied without choices — is it an OpenAI-compatible chat server?")
            for ch in choices:
                msg = ch.get("message") or {}
                replies.append(msg.get("content") or ch.get("text") or "")
            usage = data.get("usage") or {}
            stats.completion_tokens += int(usage.get("completion_tokens") or 0)
            stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            if stats.first_candidate_s is None:
                stats.first_candidate_s = time.perf_counter() - t0
            if len(replies) >= n:
                break
        stats.candidates = len(replies[:n])
        stats.seconds = time.perf_counter() - t0
        self.last_stats = stats
        return replies[:n]


def http_client_errors() -> type[Exception]:
    import http.client

    return http.client.HTTPException
