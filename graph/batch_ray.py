"""The Ray runner of `fasterpy batch --ray`: each row is a Ray task, the finished rows stream back
to the driver, which writes them with graph.batch's RowWriter (the same resumable output).

Resources: a row task asks for `cpus_per_row` CPUs (default 1) and verifies on a sandbox pool of
one worker (harness.verify.verify_pool), so Ray never schedules two verifications on one core. A
Ray worker process keeps its RunContext (backend, knowledge base, warm sandbox worker) across the
rows it runs. A worker that dies mid-row (OOM kill, segfault, lost node) makes Ray retry the row
on another worker, up to `max_retries` times; a row that kills every try is recorded as failed
with the reason. Every node needs FasterPy installed and the tests directory at the same path.
Ray is imported only here, inside the functions: without --ray it is never loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.batch import DEFAULT_OUT_COL, RowJob, RowWriter, failed_row, process_row
from graph.config import FasterPyConfig
from graph.result import OptimizeResult
from harness.errors import FasterPyError


@dataclass
class RaySettings:
    """How to run a batch on Ray; `address` is ray.init's: "local" starts a cluster here, "auto"
    joins the one `ray start` runs on this machine, "host:6379" or "ray://host:10001" a remote
    one, None joins RAY_ADDRESS or a running local cluster and else starts one. `num_cpus` sizes
    a cluster this call starts (None: all cores). An already initialised Ray is used as it is.
    `before_row(job)` runs in the worker before each try of a row (fault injection in tests)."""

    address: str | None = None
    num_cpus: int | None = None
    cpus_per_row: float = 1.0
    max_retries: int = 2
    max_in_flight: int | None = None  # rows submitted at once; None: twice the rows the cluster runs at once
    before_row: Callable[[RowJob], None] | None = None


_WORKER_CONTEXT: dict[str, Any] = {}  # in a Ray worker process: the config's JSON -> its open RunContext


def _worker_context(config: FasterPyConfig) -> Any:
    """This worker process's RunContext for `config`, opened on its first row and kept warm."""
    from graph.pipeline.context import RunContext

    key = config.model_dump_json()
    ctx = _WORKER_CONTEXT.get(key)
    if ctx is None:
        for old in _WORKER_CONTEXT.values():
            old.close()
        _WORKER_CONTEXT.clear()
        ctx = _WORKER_CONTEXT[key] = RunContext()
    return ctx


def _row_task(job: RowJob, tests: str, config: dict[str, Any], out_col: str, cpus_per_row: float,
              before_row: Callable[[RowJob], None] | None) -> tuple[dict[str, Any], OptimizeResult]:
    """One row, in a Ray worker (Ray pickles this function by reference: the worker imports it)."""
    import ray

    if before_row is not None:
        before_row(job)
    cfg = FasterPyConfig.from_dict(config)
    if cfg.generation.threads is None:  # llama.cpp/torch: the CPUs this task holds, not the node's
        cfg.generation = cfg.generation.with_overrides(threads=max(1, int(cpus_per_row)))
    out, result = process_row(job, Path(tests), cfg, _worker_context(cfg), out_col)
    out["fasterpy_ray_node"] = ray.get_runtime_context().get_node_id()
    return out, result


def _connect(settings: RaySettings) -> bool:
    """Join or start the cluster; True when this call started (and must stop) Ray."""
    import ray

    if ray.is_initialized():
        return False
    try:
        starts = settings.address in (None, "local")
        ray.init(address=settings.address, num_cpus=settings.num_cpus if starts else None,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = settings.address or "a local cluster"
        raise FasterPyError(f"cannot start or join Ray at {where}: {str(exc).splitlines()[0]} — "
                            "start one with `ray start --head` or check --ray ADDRESS") from None
    return True


def _failure(exc: BaseException, tries: int) -> str:
    import ray.exceptions as rex

    if isinstance(exc, rex.RayTaskError):  # the row's own exception, not a dead worker: not retried
        cause = getattr(exc, "cause", None) or exc
        text = (str(cause).strip().splitlines() or [""])[-1][:200]
        return f"the row raised on its Ray worker: {type(cause).__name__}: {text}"
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return (f"its Ray worker died on all {tries} tries ({type(exc).__name__}: {first}) — "
            "run the row alone with `fasterpy optimize` to see what kills it")


def run_rows_on_ray(jobs: list[RowJob], tests: Path, config: FasterPyConfig, writer: RowWriter,
                    settings: RaySettings, *, out_col: str = DEFAULT_OUT_COL) -> None:
    """Run `jobs` as Ray tasks and write each finished row through `writer`, in finishing order."""
    try:
        import ray
        import ray.exceptions as rex
    except ImportError:
        raise FasterPyError("--ray needs Ray — install it: pip install 'fasterpy[ray]'") from None
    if not jobs:
        return
    if settings.cpus_per_row <= 0 or settings.max_retries < 0:
        raise FasterPyError("cpus_per_row must be positive and max_retries at least 0 — fix the Ray settings")
    started = _connect(settings)
    try:
        task = ray.remote(num_cpus=settings.cpus_per_row, max_retries=settings.max_retries,
                          retry_exceptions=False)(_row_task)
        cluster_cpus = float(ray.cluster_resources().get("CPU", 1))
        window = settings.max_in_flight or max(1, int(cluster_cpus // settings.cpus_per_row)) * 2
        shared = (str(tests.resolve()), ray.put(config.to_dict()), out_col, settings.cpus_per_row,
                  settings.before_row)
        queue = iter(jobs)
        pending: dict[Any, RowJob] = {}

        def submit() -> None:
            job = next(queue, None)
            if job is not None:
                pending[task.remote(job, *shared)] = job

        for _ in range(window):
            submit()
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        out_row, result = ray.get(ref)
                    except rex.RayError as exc:
                        out_row, result = failed_row(job, _failure(exc, settings.max_retries + 1), out_col)
                    writer.write(out_row, result)
                    submit()
        except BaseException:  # Ctrl-C or a write failure: stop the rows still running
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()
