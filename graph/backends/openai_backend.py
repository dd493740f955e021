"""The `openai` backend: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp
server, hosted APIs) over HTTP (httpx), with retries on 429/5xx, timeouts and dropped connections
(tenacity, exponential backoff honouring Retry-After) and one-line errors.

Concurrency: at most `max_concurrency` requests are in flight to one server from this process, a
semaphore shared by every backend instance (every row, every thread); a retry's wait holds no slot.
A server that ignores `n` (llama.cpp server) is sent the missing candidates as concurrent requests,
so its own batching (`--parallel`) serves them together. Under Ray each worker process has its own
bound: the server sees at most workers × max_concurrency requests."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.parse
from typing import Any, ClassVar, NoReturn

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, cancelled, wanted
from harness.errors import FasterPyError

_RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF_S = 20.0

_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def request_slots(url: str, bound: int) -> threading.BoundedSemaphore:
    """This process's bound on requests in flight to `url`: one semaphore per server and bound,
    shared by every OpenAIBackend that talks to it."""
    with _SLOTS_LOCK:
        return _SLOTS.setdefault((url, bound), threading.BoundedSemaphore(bound))


class _Retryable(Exception):
    """A failed try worth repeating: `last` describes it, `retry_after` is the server's wish."""

    def __init__(self, last: str, retry_after: float | None = None) -> None:
        super().__init__(last)
        self.last = last
        self.retry_after = retry_after


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


class OpenAIBackend:
    name = "openai"
    options: ClassVar[dict[str, str]] = {
        "base_url": "the OpenAI-compatible server's API root, e.g. http://127.0.0.1:8000/v1",
        "model": "the model name the server knows",
        "api_key_env": "environment variable holding the API key",
        "timeout_s": "seconds to wait for one server reply",
        "retries": "retries on 429/5xx and timeouts before giving up",
        "max_concurrency": "most requests in flight to the server from this process (shared by all rows)",
        "temperature": "sampling temperature; 0 = greedy",
        "top_p": "nucleus sampling mass",
        "max_new_tokens": "most tokens per reply",
        "n": "candidates per round",
        "seed": "sampling seed (candidate i uses seed + i)",
    }

    def __init__(self, config: GenerationConfig) -> None:
        if not config.base_url:
            raise FasterPyError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if config.max_concurrency < 1:
            raise FasterPyError(f"generation.max_concurrency is {config.max_concurrency} — give at least 1 (--max-concurrency)")
        self.config = config
        self.url = _endpoint(config.base_url)
        self.slots = request_slots(self.url, config.max_concurrency)
        self.api_key = os.environ.get(config.api_key_env or "OPENAI_API_KEY", "")
        self.last_stats = GenerationStats()
        self.backoff_s = 1.0  # first retry delay; doubles each time (tests shorten it)
        self.client = httpx.Client(timeout=config.timeout_s, follow_redirects=True)

    def _post(self, payload: dict[str, Any], cancel: Any = None) -> dict[str, Any] | None:
        """POST `payload`, retrying what `_Retryable` marks; None once `cancel` is set (no new try
        starts after that)."""
        body = json.dumps(payload).encode()
        attempts = max(0, self.config.retries) + 1
        backoff = wait_exponential(multiplier=self.backoff_s, max=MAX_BACKOFF_S)

        def wait(state: RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            if isinstance(failure, _Retryable) and failure.retry_after is not None:
                return min(failure.retry_after, MAX_BACKOFF_S)
            return backoff(state)

        def attempt() -> dict[str, Any] | None:
            if cancel is not None and cancel.is_set():  # cancelled while waiting to retry
                return None
            while not self.slots.acquire(timeout=0.05):  # wait for a free slot, or a cancel
                if cancel is not None and cancel.is_set():
                    return None
            try:
                return self._post_once(body)
            finally:
                self.slots.release()

        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable), stop=stop_after_attempt(attempts), wait=wait,
            sleep=cancel.wait if cancel is not None else time.sleep,  # a cancel cuts the wait short
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            if exc.last == "timed out":
                raise FasterPyError(
                    f"no reply from {self.url} within {self.config.timeout_s:g}s after {attempts} tries — raise --timeout or check the server"
                ) from None
            raise FasterPyError(f"{self.url} kept failing after {attempts} tries (last: {exc.last}) — try again later") from None

    def _post_once(self, body: bytes) -> dict[str, Any]:
        """One try: the parsed reply, a FasterPyError for what retrying cannot fix, or _Retryable."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            resp = self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise _Retryable("timed out") from None
        except httpx.ConnectError as exc:
            reason = _root_cause(exc)
            if isinstance(reason, ConnectionRefusedError):
                raise FasterPyError(
                    f"cannot connect to {self.url} (connection refused) — is the server running? check --base-url"
                ) from None
            if isinstance(reason, socket.gaierror):
                raise FasterPyError(f"unknown host in --base-url {self.config.base_url!r} — check the address") from None
            raise FasterPyError(f"cannot reach {self.url}: {reason} — check --base-url and the network") from None
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(f"connection dropped ({exc.__class__.__name__})") from None
        except httpx.TransportError as exc:
            raise FasterPyError(f"cannot reach {self.url}: {exc} — check --base-url and the network") from None
        if resp.status_code >= 400:
            self._refuse(resp)
        try:
            return resp.json()
        except ValueError as exc:
            raise FasterPyError(f"{self.url} did not answer with JSON ({exc}) — is it an OpenAI-compatible server?") from None

    def _refuse(self, resp: httpx.Response) -> NoReturn:
        """Turn an error status into a FasterPyError, or _Retryable for 429/5xx."""
        code = resp.status_code
        detail = _server_message(resp.content or b"")
        if code in (401, 403):
            env = self.config.api_key_env or "OPENAI_API_KEY"
            state = "is set but was rejected" if self.api_key else "is not set"
            raise FasterPyError(
                f"server refused the request ({code}: {detail}) — the API key in ${env} {state}; "
                f"export a valid key or pass --api-key-env"
            )
        if code == 404:
            raise FasterPyError(f"{self.url} answered 404 ({detail}) — check --base-url (usually ends in /v1) and --model")
        if code not in _RETRY_STATUS:
            raise FasterPyError(f"server error {code} from {self.url}: {detail}")
        retry_after: float | None = None
        try:
            retry_after = float(resp.headers.get("Retry-After", ""))
        except ValueError:
            pass
        raise _Retryable(f"{code} {detail}", retry_after)

    def _post_unless_cancelled(self, payloads: list[dict[str, Any]], cancel: Any) -> list[dict[str, Any]] | None:
        """`_post` of every payload at once (each on its own daemon thread; the slots bound how many
        reach the server together); None once `cancel` is set, without waiting further. A request
        already sent is left to finish on its own (a blocking read cannot be aborted from another
        thread; it starts no further try), and a server usually stops generating when the client
        goes away."""
        if cancel is None and len(payloads) == 1:
            data = self._post(payloads[0])
            return None if data is None else [data]
        boxes: list[dict[str, Any]] = [{} for _ in payloads]

        def call(payload: dict[str, Any], box: dict[str, Any]) -> None:
            try:
                box["data"] = self._post(payload, cancel)
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc

        threads = [threading.Thread(target=call, args=(p, b), name="fasterpy-openai", daemon=True)
                   for p, b in zip(payloads, boxes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                if cancel is not None and cancel.is_set():
                    return None
                thread.join(0.05)
        if cancel is not None and cancel.is_set():  # it gave up retrying because of the cancel: that is no failure
            return None
        for box in boxes:
            if "error" in box:
                raise box["error"]
        return [box["data"] for box in boxes if box.get("data") is not None]

    def generate(self, request: GenerationRequest) -> list[str]:
        cfg = self.config
        n = wanted(request, cfg)
        replies: list[str] = []
        stats = GenerationStats()
        t0 = time.perf_counter()

        def payload(k: int, seed: int) -> dict[str, Any]:
            return {"model": cfg.model or "default", "messages": request.messages, "temperature": cfg.temperature,
                    "top_p": cfg.top_p, "max_tokens": cfg.max_new_tokens, "n": k, "seed": seed}

        def take(data: dict[str, Any]) -> None:
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

        if not cancelled(request):
            first = self._post_unless_cancelled([payload(n, cfg.seed)], request.cancel)
            for data in first or []:
                take(data)
            # servers that ignore `n` (llama.cpp server, some hosted APIs) return one choice: ask for
            # the rest at once, one candidate a request (candidate i uses seed + i)
            if first and len(replies) < n and not cancelled(request):
                got = len(replies)
                rest = self._post_unless_cancelled([payload(1, cfg.seed + got + j) for j in range(n - got)],
                                                   request.cancel)
                for data in rest or []:
                    take(data)
        stats.candidates = len(replies[:n])
        stats.seconds = time.perf_counter() - t0
        self.last_stats = stats
        return replies[:n]


def _root_cause(exc: BaseException) -> BaseException:
    """The OS error under httpx's wrapping (httpx.ConnectError <- httpcore.ConnectError <- OSError)."""
    while (under := exc.__cause__ or exc.__context__) is not None:
        exc = under
    return exc
