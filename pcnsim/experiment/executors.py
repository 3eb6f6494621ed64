"""Where cells run: in this process, local worker processes, or a dask.distributed cluster.

Each pool submits `run_cell` payloads, waits for the first to finish, turns a future into a
`CellOutcome`, and stops cleanly on Ctrl-C (cancel what has not started, keep what finished).

Failures of the machinery itself end the run within a bounded time with a `ClusterError`
(never a hang): a local worker process that dies, a dask scheduler that cannot be reached
(`CONNECT_TIMEOUT`), one that is lost, or a cluster with no workers for `cluster_timeout`
seconds (`CLUSTER_TIMEOUT` by default).
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Iterable, Sequence

from pcnsim.errors import ClusterError, ScenarioError
from pcnsim.experiment.cells import CellOutcome, cell_name, run_cell

log = logging.getLogger("pcnsim.experiment")

#: Seconds a dask cluster may go without a scheduler connection or without workers before the
#: run stops (`--cluster-timeout`).
CLUSTER_TIMEOUT = 30.0
#: Seconds to reach a dask scheduler at the start of a run.
CONNECT_TIMEOUT = 2.0
#: dask's loggers that report a lost connection with tracebacks, quiet while a pool is open.
_DASK_LOGGERS = ("distributed.client", "distributed.core", "distributed.comm", "distributed.batched",
                 "distributed.utils")
#: How often (seconds) the run checks on the cluster, and a worker process on its parent.
POLL_SECONDS = 0.5


def available_cores() -> int:
    """The cores this process may use (its CPU affinity where the system says)."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _watch_parent(parent: int) -> None:
    """In a worker process: exit at once when the process that started it is gone (killed -9,
    say), so that no orphan keeps computing for nobody."""
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(parent: int) -> None:
    """Workers leave Ctrl-C and SIGTERM to the parent, which stops the run cleanly; and they die
    with the parent (Linux: the kernel's parent-death signal; elsewhere a watcher thread)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - the watcher below still does it
            pass
    if os.getppid() != parent:  # the parent died while this worker started
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="pcnsim-parent-watch").start()


def _unguarded_main_script() -> str | None:
    """The caller's script if it starts a run without `if __name__ == "__main__":` (worker
    processes are spawned and re-import it, so the run then starts again in each worker)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or getattr(main, "__spec__", None) is not None:  # python -m ..., pcnsim's own CLI
        return None
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return None if re.search(r"""__name__\s*==\s*['"]__main__['"]""", text) else path


class LocalPool:
    """Local worker processes (spawned: safe with threads, the same on every platform)."""

    kind = "local"

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.slots = 2 * jobs
        self.finished_any = False
        self.pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_init_worker, initargs=(os.getpid(),))

    def submit(self, payload: Any) -> Any:
        return self.pool.submit(run_cell, payload)

    def wait_first(self, futures: Sequence[Any]) -> Iterable[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done

    def outcome(self, future: Any, point: int, replication: int) -> CellOutcome:
        try:
            out = future.result()
        except cf.process.BrokenProcessPool:
            script = _unguarded_main_script()
            if script is not None and not self.finished_any:
                raise ClusterError(
                    f"the worker processes could not start: the script {script} starts the run at import "
                    "time, and each worker process re-imports it. Put the call under "
                    "`if __name__ == \"__main__\":` (see the README's Python example), or use jobs=1.") from None
            raise ClusterError("a worker process died (out of memory, or killed); the finished cells are kept, "
                               "so the run can be resumed, perhaps with fewer --jobs") from None
        self.finished_any = True
        return out

    def stop(self, futures: Sequence[Any]) -> list[Any]:
        """Cancel what has not started, wait for the running cells; return those that finished."""
        for f in futures:
            f.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        return [f for f in futures if f.done() and not f.cancelled() and f.exception() is None]

    def close(self, wait: bool = True) -> None:
        if not wait:  # abandoned (a second Ctrl-C): do not wait for the workers, end them
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                try:
                    process.terminate()
                except Exception:  # noqa: BLE001 - already gone
                    pass
        self.pool.shutdown(wait=wait, cancel_futures=True)

    def describe(self) -> dict[str, Any]:
        return {"kind": "local processes", "jobs": self.jobs}


def check_scheduler_address(address: str) -> str:
    """`tcp://HOST:PORT` (or `tls://`, `inproc://`...) with a port in 1-65535; else a ScenarioError."""
    text = str(address).strip()
    m = re.fullmatch(r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)"
                     r"(?::(?P<port>\d+))?/?", text)
    example = "expected a dask scheduler address such as tcp://HOST:8786 (as `dask scheduler` prints it)"
    if m is None:
        raise ScenarioError(f"--scheduler {address!r}: {example}")
    if (m.group("scheme") or "tcp") == "inproc":
        return text
    if m.group("port") is None:
        raise ScenarioError(f"--scheduler {address!r}: no port; {example}")
    if not 1 <= int(m.group("port")) <= 65535:
        raise ScenarioError(f"--scheduler {address!r}: the port {m.group('port')} is out of range (1-65535); "
                            f"{example}")
    return text if m.group("scheme") else f"tcp://{text}"


class DaskPool:
    """Cells on a dask.distributed cluster (`dask scheduler` + `dask worker`s).

    The connection and the workers are watched while cells run: no scheduler connection, or
    no worker, for `timeout` seconds raises `ClusterError`."""

    kind = "dask"

    def __init__(self, address: str, timeout: float | None = None) -> None:
        address = check_scheduler_address(address)
        try:
            import distributed
        except ImportError:  # pragma: no cover - a declared dependency
            raise ScenarioError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        self.distributed = distributed
        self.address = address
        self.timeout = CLUSTER_TIMEOUT if timeout is None else float(timeout)
        # dask logs a lost connection with tracebacks; this pool reports it in one paragraph instead
        self.quieted = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        for name in _DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        try:
            self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as err:  # noqa: BLE001 - OSError, TimeoutError, ValueError... all mean "not there"
            self._restore_logging()
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ScenarioError(f"--scheduler {address}: cannot reach a dask scheduler there within "
                               f"{CONNECT_TIMEOUT:g} s ({reason}); start one with `dask scheduler` and give "
                               "the tcp://HOST:PORT address it prints") from None
        threads = self._worker_threads(wait=self.timeout)
        if not threads:
            self.close()
            raise ClusterError(f"--scheduler {address}: the scheduler has no workers (none joined within "
                               f"{self.timeout:g} s); start some with `dask worker {address}`")
        self.jobs = sum(threads.values())
        self.slots = max(4, 2 * self.jobs)
        self.since_healthy = time.monotonic()

    def _worker_threads(self, wait: float = 0.0) -> dict[str, int] | None:
        """{worker: threads} from the scheduler (waiting up to `wait` s for one); None if unreachable."""
        deadline = time.monotonic() + wait
        while True:
            try:
                if self.client.status != "running":
                    return None
                threads = self.client.sync(self.client.scheduler.ncores, callback_timeout=5)
            except Exception:  # noqa: BLE001 - a lost scheduler
                return None
            if threads or time.monotonic() >= deadline:
                return dict(threads)
            time.sleep(POLL_SECONDS)

    def submit(self, payload: Any) -> Any:
        point, rep = payload[0], payload[1]
        return self.client.submit(run_cell, payload, pure=False,
                                  key=f"pcnsim-{cell_name(point, rep)}-{os.urandom(4).hex()}")

    def wait_first(self, futures: Sequence[Any]) -> Iterable[Any]:
        """The futures that ended (finished, erred, cancelled); raises `ClusterError` when the
        cluster has been unusable for `timeout` seconds."""
        last_check = 0.0
        while True:
            done = [f for f in futures if f.status in ("finished", "error", "cancelled", "lost")]
            if done:
                return done
            now = time.monotonic()
            if now - last_check >= 1.0:
                last_check = now
                threads = self._worker_threads() if self.client.status == "running" else None
                if self.client.status != "running":
                    problem = "the connection to the dask scheduler was lost"
                elif threads is None:
                    problem = "the dask scheduler does not answer"
                elif not threads:
                    problem = "the cluster has no workers left"
                else:
                    problem = None
                    self.since_healthy = now
                if problem is not None and now - self.since_healthy >= self.timeout:
                    raise ClusterError(f"{problem} (for {self.timeout:g} s) at {self.address}")
            time.sleep(0.05)

    def outcome(self, future: Any, point: int, replication: int) -> CellOutcome:
        if future.status in ("cancelled", "lost") or self.client.status != "running":
            raise ClusterError(f"the connection to the dask scheduler at {self.address} was lost")
        try:
            return future.result(timeout=self.timeout)
        except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: the cell failed, the run goes on
            if self.client.status != "running":
                raise ClusterError(f"the connection to the dask scheduler at {self.address} was lost") from None
            return CellOutcome(point, replication, error={
                "type": type(err).__name__, "message": str(err), "traceback": traceback.format_exc()})

    def stop(self, futures: Sequence[Any]) -> list[Any]:
        """Cancel the cells no worker has started, let the running ones finish (up to `timeout`
        seconds; a second Ctrl-C abandons them); return those that finished."""
        try:
            running = {key for keys in self.client.processing().values() for key in keys}
        except Exception:  # noqa: BLE001 - a lost scheduler: nothing can finish
            running = set()
        waiting = [f for f in futures if f.key in running and f.status == "pending"]
        try:
            self.client.cancel([f for f in futures if f.status == "pending" and f.key not in running])
            deadline = time.monotonic() + self.timeout
            while (any(f.status == "pending" for f in waiting) and self.client.status == "running"
                   and time.monotonic() < deadline):
                time.sleep(0.05)
        except Exception:  # noqa: BLE001 - the cluster went away meanwhile: keep what finished
            pass
        return [f for f in futures if f.status == "finished"]

    def close(self, wait: bool = True) -> None:
        try:
            self.client.close(timeout=2)
        except Exception:  # noqa: BLE001 - a lost scheduler: nothing to close
            pass
        self._restore_logging()

    def _restore_logging(self) -> None:
        for name, level in self.quieted.items():
            logging.getLogger(name).setLevel(level)

    def describe(self) -> dict[str, Any]:
        return {"kind": "dask.distributed", "scheduler": self.address, "worker_threads": self.jobs}


def make_executor(jobs: int | None, scheduler: str | None, cells: int,
                  cluster_timeout: float | None = None) -> LocalPool | DaskPool | None:
    """The pool for a run: dask if a scheduler is given, else `jobs` local processes (None: in
    process). `jobs` is capped at the cores available and at the number of cells."""
    if cluster_timeout is not None and (isinstance(cluster_timeout, bool) or not 0 < float(cluster_timeout) < 86_400):
        raise ScenarioError(f"--cluster-timeout {cluster_timeout}: expected seconds, more than 0 and less than a day")
    if scheduler:
        return DaskPool(scheduler, cluster_timeout)
    cores = available_cores()
    jobs = cores if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ScenarioError(f"--jobs {jobs}: expected a whole number of worker processes, at least 1")
    if jobs > cores:
        log.info("--jobs %d: this machine has %d cores; using %d worker processes.", jobs, cores, cores)
        jobs = cores
    jobs = min(jobs, max(1, cells))
    return None if jobs == 1 else LocalPool(jobs)
