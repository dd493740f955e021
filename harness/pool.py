"""A pool of warm, long-lived worker processes that fork one sandboxed child per run.

Public API (stable):

    WorkerPool(workers=None, limits=Limits(), preload=(), network=False, read_roots=None)
        .submit(request) -> concurrent.futures.Future[dict]   thread-safe
        .call(request) -> dict                                 submit + wait
        .size, .features, .read_roots, .worker_pids(), .close(); a context manager
    shared_pool(workers=None, read_roots=None) -> WorkerPool   the process-wide pool of that size and
                                      those read roots (None: the machine's size; reads not fenced),
                                      created on first use, closed at exit, re-created after close_all()
    default_pool() -> WorkerPool      shared_pool(): the pool run_program/call_function use by default
    close_all() -> int                close every open pool of this process (e.g. on cancel)
    machine_workers() -> int          CPUs this process may use

Requests are plain dicts built by harness.program and harness.function; callers normally use
`run_program` / `call_function` rather than `submit`. Each worker is `python -I harness/_worker.py`:
isolated mode (no PYTHON* variables, no user site, no script dir on sys.path), a scrubbed
environment, its own network namespace where the OS allows. With `read_roots` (a sequence, even an
empty one) a run may read only the interpreter and its libraries, its scratch directory and those
folders or files (Landlock, applied once per worker at start, so it costs no time per run);
`features["read_fenced"]` says whether the kernel let that happen. A worker that dies (killed from outside,
or a harness bug) is detected by EOF on its pipe and replaced; the request is retried once on the
fresh worker.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

from harness.errors import FasterPyError
from harness.limits import Limits

_WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
_HEAD = struct.Struct("<Q")


class WorkerDied(RuntimeError):
    """The worker process went away while serving a request."""


def _scratch_parent() -> str | None:
    """A memory-backed place for scratch directories when there is one (fast to create and empty)."""
    env = os.environ.get("FASTERPY_SCRATCH")
    if env:
        return env
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def machine_workers() -> int:
    """How many CPUs this process may run on (the pool's default size)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class _Worker:
    """One worker process and its two pipes. Used by one thread at a time."""

    def __init__(self, scratch_root: str, preload: Sequence[str], network: bool,
                 read_roots: tuple[str, ...] | None = None):
        args = [sys.executable, "-I", str(_WORKER_SCRIPT), scratch_root]
        if network:
            args.append("--network")
        if read_roots is not None:
            args += ["--read-fence", *(f"--read-root={root}" for root in read_roots)]
        if preload:
            args.append("--preload=" + ",".join(preload))
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": scratch_root,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            # Resolve every dynamic symbol at load time, in the worker: lazily bound ones would be
            # resolved again (and their GOT pages copied) in every forked child that calls them.
            "LD_BIND_NOW": "1",
        }
        debug = os.environ.get("FASTERPY_WORKER_DEBUG")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if debug else subprocess.DEVNULL,
            env=env,
            cwd=scratch_root,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the pool, not each worker
        )
        self.pid: int = self.proc.pid
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are pipes
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.features: dict = {}

    def wait_ready(self) -> _Worker:
        """Wait for the worker's hello (preloads and sandbox probes done)."""
        try:
            hello = self._recv(deadline=time.monotonic() + 60)
        except (WorkerDied, TimeoutError, EOFError, pickle.UnpicklingError) as exc:
            self.kill()
            raise WorkerDied(f"worker did not start: {exc}") from exc
        if not isinstance(hello, dict) or not hello.get("hello"):
            self.kill()
            raise WorkerDied(f"worker did not start: {hello!r}")
        self.features = hello["features"]
        return self

    def _recv(self, deadline: float | None):
        fd = self.stdout.fileno()
        head = self._read(fd, _HEAD.size, deadline)
        body = self._read(fd, _HEAD.unpack(head)[0], deadline)
        return pickle.loads(body)

    def _read(self, fd: int, n: int, deadline: float | None) -> bytes:
        import select

        chunks = []
        while n:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("worker did not answer in time")
                ready, _, _ = select.select([fd], [], [], remaining)
                if not ready:
                    continue
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise WorkerDied(f"worker {self.proc.pid} exited (code {self.proc.poll()})")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def request(self, req: dict, deadline: float | None) -> dict:
        body = pickle.dumps(req, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.stdin.write(_HEAD.pack(len(body)) + body)
            self.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(f"worker {self.proc.pid} is gone: {exc}") from exc
        return self._recv(deadline)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass


def request_deadline(req: dict) -> float:
    """Generous upper bound on how long a worker may take for `req` (each run has its own timeout)."""
    limits = req.get("limits") or {}
    per_run = float(limits.get("timeout_s", 10.0)) + 2.0
    if req.get("kind") == "program":
        n = max(1, len(req.get("inputs") or ())) * max(1, int(req.get("runs", 1)))
    else:
        n = max(1, int(req.get("repeats", 1)))
    return time.monotonic() + 30.0 + per_run * n


class WorkerPool:
    """Warm workers that fork a fresh, limited child for every run. Thread-safe; a context manager."""

    def __init__(
        self,
        workers: int | None = None,
        limits: Limits | None = None,
        preload: Sequence[str] = (),
        network: bool = False,
        read_roots: Sequence[str | os.PathLike[str]] | None = None,
    ):
        self.size = int(workers) if workers else machine_workers()
        if self.size < 1:
            raise FasterPyError(f"a pool needs at least one worker, got {workers} — pass --workers 1 or more")
        self.limits = limits or Limits()
        self._preload = tuple(preload)
        self._network = network
        self.read_roots = normalize_roots(read_roots)
        self._scratch = tempfile.mkdtemp(prefix="fasterpy-sandbox-", dir=_scratch_parent())
        os.chmod(self._scratch, 0o700)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self.respawns = 0
        try:
            # Start every worker first, then wait: their start-ups overlap.
            starting = [_Worker(self._scratch, self._preload, self._network, self.read_roots) for _ in range(self.size)]
            for worker in starting:
                with self._lock:
                    self._all.append(worker)
            for worker in starting:
                self._idle.put(worker.wait_ready())
        except WorkerDied as exc:
            self.close()
            raise FasterPyError(f"the sandbox workers could not start ({exc}) — run with "
                                "FASTERPY_WORKER_DEBUG=1 to see the worker's errors") from exc
        except Exception:
            self.close()
            raise
        self.features: dict = dict(self._all[0].features)
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="fasterpy-pool")
        _open_pools.add(self)

    def _add_worker(self) -> _Worker:
        worker = _Worker(self._scratch, self._preload, self._network, self.read_roots).wait_ready()
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            self.respawns += 1
        if not self._closed:
            self._add_worker()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._all]

    def _serve(self, req: dict) -> dict:
        last_error: Exception | None = None
        for _attempt in range(2):  # one retry on a fresh worker if the first one dies under us
            if self._closed:
                raise FasterPyError("the worker pool is closed — create a new WorkerPool")
            worker = self._idle.get()
            try:
                if not worker.alive():
                    raise WorkerDied("worker found dead before the request")
                resp = worker.request(req, request_deadline(req))
            except (WorkerDied, TimeoutError, EOFError, pickle.UnpicklingError) as exc:
                last_error = exc
                self._replace(worker)
                continue
            self._idle.put(worker)
            if "error" in resp:
                raise RuntimeError(f"harness worker failed: {resp['error']}")
            return resp
        raise RuntimeError(f"harness worker died twice serving one request: {last_error}")

    def submit(self, req: dict) -> Future[dict]:
        """Queue a request for the next free worker."""
        if self._closed:
            raise FasterPyError("the worker pool is closed — create a new WorkerPool")
        req = dict(req)
        req.setdefault("limits", self.limits.to_dict())
        return self._executor.submit(self._serve, req)

    def call(self, req: dict) -> dict:
        return self.submit(req).result()

    def close(self, wait: bool = True) -> None:
        """Stop the workers (pending requests are cancelled; running ones finish when wait=True)."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        executor = getattr(self, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            try:
                worker.stdin.close()  # EOF: the worker's loop ends on its own
            except OSError:
                pass
        for worker in workers:
            try:
                worker.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            worker.kill()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; call close() or use `with`
        try:
            self.close(wait=False)  # never join: this may run on one of the executor's own threads
        except Exception:
            pass


def normalize_roots(roots: Sequence[str | os.PathLike[str]] | None) -> tuple[str, ...] | None:
    """Read roots as absolute, resolved, sorted, de-duplicated paths (None stays None: no fence)."""
    if roots is None:
        return None
    return tuple(sorted({os.path.realpath(os.fspath(r)) for r in roots}))


#: Fenced process-wide pools kept open at once; the least recently used one beyond this is closed
#: (one per project a long session touched would otherwise keep a worker each).
MAX_FENCED_SHARED = 4

_shared: dict[tuple[int, tuple[str, ...] | None], WorkerPool] = {}
_shared_lock = threading.Lock()
_open_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def close_all() -> int:
    """Close every pool this process opened and has not closed; returns how many. Process-wide
    pools (shared_pool()) are re-created on next use, so this is safe between runs."""
    closed = 0
    for pool in list(_open_pools):
        if not pool._closed:
            try:
                pool.close()
                closed += 1
            except Exception:  # a pool that cannot close cleanly still has its workers killed
                pass
    return closed


def shared_pool(workers: int | None = None,
                read_roots: Sequence[str | os.PathLike[str]] | None = None) -> WorkerPool:
    """The process-wide pool with `workers` workers (None: one per CPU) and those read roots (None:
    reads not fenced; see WorkerPool), created on first use and closed at exit. The verifier uses
    shared_pool(1, roots): on one worker, an original and its candidate run under the same hash
    seed, so set and dict orders of strings agree."""
    size = int(workers) if workers else machine_workers()
    key = (size, normalize_roots(read_roots))
    with _shared_lock:
        pool = _shared.pop(key, None)  # re-inserted last: the dict's order is least recently used first
        if pool is None or pool._closed:
            pool = WorkerPool(workers=size, read_roots=key[1])
            atexit.register(pool.close)
        _shared[key] = pool
        fenced = [k for k in _shared if k[1] is not None]
        for old in fenced[:-MAX_FENCED_SHARED]:
            _shared.pop(old).close()
        return pool


def default_pool() -> WorkerPool:
    """The process-wide pool used when a caller passes no pool: shared_pool() sized to the machine."""
    return shared_pool()
