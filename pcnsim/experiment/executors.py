"""Where cells run: in this process, local worker processes, or a dask.distributed cluster.

The runner sees one interface, `Executor`: `submit` a cell, iterate the outcomes of the cells
that `finished`, `cancel` on Ctrl-C (cells not started are dropped, running ones finish and
are kept), `close` (also as a context manager). Three executors implement it: `InProcess`
(one cell at a time, here), `LocalPool` (local worker processes) and `DaskPool` (a
dask.distributed scheduler's workers; dask is the optional `cluster` extra).

Failures of the machinery itself end the run within a bounded time with a `ClusterError`
(never a hang), each with its own reason: a local worker process that dies; a dask scheduler
that cannot be reached (`CONNECT_TIMEOUT`) or whose connection is lost; a cluster with no
worker left for `cluster_timeout` seconds (`CLUSTER_TIMEOUT` by default), where a worker
that has not answered the scheduler for that long counts as gone. A dask cell whose result
was lost with its worker while other workers remain is not a failure: dask computes it again.
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
from abc import ABC, abstractmethod
from collections import deque
from pathlib import Path
from typing import Any, Iterator

from pcnsim.errors import ClusterError, ScenarioError
from pcnsim.experiment.cells import CellOutcome, cell_name, run_cell

log = logging.getLogger("pcnsim.experiment")

#: Seconds a dask cluster may go without a scheduler connection or without workers before the
#: run stops (`--cluster-timeout`); also how long a worker may go without answering the
#: scheduler (its heartbeat) before it counts as gone.
CLUSTER_TIMEOUT = 30.0
#: Seconds to reach a dask scheduler at the start of a run.
CONNECT_TIMEOUT = 2.0
#: dask's loggers that report a lost connection with tracebacks, quiet while a pool is open.
_DASK_LOGGERS = ("distributed.client", "distributed.core", "distributed.comm", "distributed.batched",
                 "distributed.utils")
#: How often (seconds) the run checks on the cluster, and a worker process on its parent.
POLL_SECONDS = 0.5
#: The one line that says how to get dask for `--scheduler`.
CLUSTER_EXTRA_HINT = ('--scheduler needs dask.distributed, which is not installed; install it with: '
                      'pip install "pcnsim[cluster]"')

#: A cell as the executors take it: (point, replication, the point's scenario, simulate or None).
Payload = tuple

# How the default `--jobs` chooses (`auto_jobs`), from measurements on a quiet 2-core machine
# (docs/performance.md, "How the default --jobs chooses"; benchmarks/bench.py's `jobs` section):
#: PCN-years one process simulates a second, cell overheads included (baseline-like cells).
PCN_YEARS_PER_SECOND = 50.0
#: Seconds a worker process takes to start, import the model and load the compiled day.
WORKER_START_SECONDS = 1.1
#: Workers are used only when the time they are estimated to save is at least this many worker
#: start-ups more: the estimate is rough (machines differ, cells differ), and a run near the
#: break-even size gains little either way, so such runs stay in one process and never lose.
SAFETY_STARTUPS = 1.0
#: Seconds of simulation a worker task (a chunk of cells) aims at: long enough that sending
#: cells and results is a small share of it, short enough to keep the workers evenly loaded.
CHUNK_SECONDS = 0.5


def available_cores() -> int:
    """The cores this process may use (its CPU affinity where the system says)."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _alive(pid: int) -> bool:
    """Whether the process `pid` still exists (a signal 0 sent to it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # it exists, and belongs to someone else
        return True
    return True


def _watch_parent(parent: int, owner: int | None = None) -> None:
    """In a worker process: exit at once when the process that started it (or, for a worker forked
    by the fork server, the run's process `owner`) is gone (killed -9, say), so that no orphan keeps
    computing for nobody."""
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent or (owner is not None and not _alive(owner)):
            os._exit(1)


def _init_worker(parent: int, death_signal: bool = True, owner: int | None = None) -> None:
    """Workers leave Ctrl-C and SIGTERM to the parent, which stops the run cleanly; and they die
    with the parent (Linux: the kernel's parent-death signal; elsewhere, and for a shared pool, a
    watcher thread: the kernel's signal follows the parent *thread* that started the worker, and
    a shared pool outlives that thread, a Streamlit rerun's say). A worker forked by the fork
    server has that server as its parent (which ends when the run's process `owner` does), and
    watches `owner` too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if death_signal and sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - the watcher below still does it
            pass
    if os.getppid() != parent or (owner is not None and not _alive(owner)):  # died while this worker started
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, owner), daemon=True, name="pcnsim-parent-watch").start()


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


def auto_jobs(pcn_years: float, cores: int, cells: int) -> int:
    """The processes the default `--jobs` uses: 1 (in this process) unless workers pay.

    One process takes about `pcn_years / PCN_YEARS_PER_SECOND` seconds; `n` workers about
    `WORKER_START_SECONDS + that / n` (they start side by side). Workers are used, as many as
    the cores (and the cells) allow, only when they are estimated to save at least
    `SAFETY_STARTUPS` worker start-ups: on 2 cores, from about 220 PCN-years of work.
    """
    n = max(1, min(int(cores), int(cells)))
    if n == 1:
        return 1
    alone = pcn_years / PCN_YEARS_PER_SECOND
    saved = alone - (WORKER_START_SECONDS + alone / n)
    return n if saved >= SAFETY_STARTUPS * WORKER_START_SECONDS else 1


def chunk_size(pcn_years: float, cells: int, jobs: int) -> int:
    """Cells a worker takes at a time: about `CHUNK_SECONDS` of work, and at least four chunks a
    worker, so that the last chunks finish close together."""
    if cells <= 0 or jobs <= 1:
        return 1
    per_cell = max(pcn_years / cells, 1e-9) / PCN_YEARS_PER_SECOND
    by_time = max(1, int(CHUNK_SECONDS / per_cell))
    by_balance = max(1, cells // (4 * jobs))
    return max(1, min(by_time, by_balance))


def load_model() -> None:
    """Import the model, load the compiled day from numba's cache (when the days run compiled) and
    compute the model fingerprint: what a worker needs before its first cell. Never raises: a
    cell that needs what failed to load fails with the reason, as it would have without this."""
    try:
        from pcnsim.model import simulation  # noqa: F401
        from pcnsim.model.engine import engine

        if engine() == "compiled":
            from pcnsim.model import daybook  # noqa: F401
        from pcnsim.experiment.cells import worker_fingerprint

        worker_fingerprint()
    except Exception:  # noqa: BLE001
        pass


#: The module the fork server imports before forking any worker (`pcnsim.experiment.preload`).
PRELOAD_MODULE = "pcnsim.experiment.preload"


def _worker_context(preload: bool) -> Any:
    """The multiprocessing context of local workers: a fork server where the system has one (Linux),
    else spawn (macOS, Windows: a fresh interpreter each).

    The fork server is one fresh interpreter (no thread, no state of this process is inherited),
    started here, at once: it imports `PRELOAD_MODULE` (the model and the compiled day, loaded
    once) while the run plans its cells, then forks each worker from itself with all that loaded,
    in milliseconds. Spawned workers each import numpy, SimPy, numba and the model and load the
    day (about 1 s of CPU each). One server serves every pool of this process (the app's too)."""
    if not sys.platform.startswith("linux") or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    if preload:   # not '__main__': a caller's script is imported by each worker (as by spawn), not by the server
        modules = getattr(getattr(forkserver, "_forkserver", None), "_preload_modules", None) or []
        context.set_forkserver_preload([*(m for m in modules if m not in ("__main__", PRELOAD_MODULE)), PRELOAD_MODULE])
    try:
        forkserver.ensure_running()   # without waiting: the first worker is forked once the server has loaded
    except OSError:   # no server to be had (its socket refused, say): workers spawned, as elsewhere
        return multiprocessing.get_context("spawn")
    return context


def _warm_worker(parent: int | None, preload: bool, death_signal: bool = True,
                 environ: dict[str, str] | None = None, owner: int | None = None) -> None:
    """A worker's start: `_init_worker`, then (for pcnsim's own model) import the model and load
    the compiled day from numba's cache, so that a warm pool answers its first cell at full speed.

    `parent` None: the worker was forked by the fork server (its parent) for the run's process
    `owner`, whose environment `environ` it takes, as a spawned worker would (the server's is that
    of the moment it started)."""
    if parent is None:
        parent = os.getppid()
        if environ is not None and dict(os.environ) != environ:
            os.environ.clear()
            os.environ.update(environ)
    _init_worker(parent, death_signal, owner)
    if preload:
        load_model()


def run_cells(payloads: list[Payload]) -> list[CellOutcome]:
    """A worker's task: a chunk of cells, one after another (`run_cell` each)."""
    return [run_cell(payload) for payload in payloads]


class Executor(ABC):
    """Where a run's cells run: the one interface the runner uses.

    The runner keeps up to `slots` cells in flight (`submit`), takes the outcomes of those
    that end (`finished`), and on Ctrl-C calls `cancel`; `close` (or leaving a `with` block)
    frees the workers. Machinery failures raise `ClusterError`; a cell that raises is an
    outcome with `error` set, not an exception, so the run goes on.
    """

    kind: str = ""
    #: Workers (processes or threads) computing cells.
    jobs: int = 1
    #: Cells kept in flight: enough to keep every worker busy while results come back.
    slots: int = 1
    #: Set when a second Ctrl-C abandoned the running cells: `close` then does not wait for them.
    abandoned: bool = False

    @abstractmethod
    def submit(self, payload: Payload) -> None:
        """Start (or queue) one cell."""

    def expect(self, cells: int) -> None:
        """The run is about to submit `cells` cells (an executor may size its chunks by it)."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Cells submitted whose outcome has not been returned by `finished`."""

    @abstractmethod
    def finished(self) -> Iterator[CellOutcome]:
        """Wait until at least one cell in flight ends, then yield the outcome of each that has."""

    @abstractmethod
    def _cancel(self) -> list[CellOutcome]:
        """`cancel` without the second-Ctrl-C bookkeeping."""

    def cancel(self) -> list[CellOutcome]:
        """Ctrl-C: drop the cells no worker has started, let the running ones finish, and return
        the outcomes of those that finished. A second Ctrl-C meanwhile abandons them (re-raised)."""
        try:
            return self._cancel()
        except KeyboardInterrupt:
            self.abandoned = True
            raise

    @abstractmethod
    def close(self, wait: bool = True) -> None:
        """Free the workers; `wait=False` ends running cells instead of waiting for them."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records of the executor."""
        return {"kind": self.kind, "jobs": self.jobs}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=not self.abandoned)


class InProcess(Executor):
    """Cells one after another in this process (`--jobs 1`): no worker to start, nothing to
    pickle, and a traceback of a failing cell points into the model directly."""

    kind = "in process"

    def __init__(self) -> None:
        self.queue: deque[Payload] = deque()

    def submit(self, payload: Payload) -> None:
        self.queue.append(payload)

    @property
    def in_flight(self) -> int:
        return len(self.queue)

    def finished(self) -> Iterator[CellOutcome]:
        if self.queue:
            yield run_cell(self.queue.popleft())

    def _cancel(self) -> list[CellOutcome]:
        self.queue.clear()   # Ctrl-C interrupted the running cell itself: nothing finished since
        return []

    def close(self, wait: bool = True) -> None:
        self.queue.clear()


class LocalPool(Executor):
    """Local worker processes (forked by a fork server on Linux, spawned elsewhere: safe with threads).

    Cells go to the workers in chunks of `chunk` (`run_cells`), so that a chunk's inter-process
    traffic (its scenarios, once per chunk, and its results) is a small share of its work. The
    model loads as soon as the pool is made, while the run plans and writes its folder: in the
    fork server, once, the workers forked from it at the first cells (`_worker_context`); or in
    each spawned worker (`_warm_worker`). `shared=True` makes a pool that outlives a run (`close`
    keeps it; `shutdown` ends it): the app keeps one warm for its session.
    """

    kind = "local"

    def __init__(self, jobs: int, chunk: int = 1, shared: bool = False, preload: bool = True,
                 processes: cf.ProcessPoolExecutor | None = None) -> None:
        self.jobs = jobs
        self.chunk = max(1, int(chunk))
        self.slots = 2 * jobs * self.chunk
        self.to_come: int | None = None      # cells the run has still to submit (`expect`), if it said
        self.shared = shared or processes is not None
        self.finished_any = False
        self.pending: list[Payload] = []
        self.futures: dict[cf.Future, list[tuple[int, int]]] = {}
        if processes is not None:
            self.pool = processes
            return
        context = _worker_context(preload)
        forked = context.get_start_method() == "forkserver"
        initargs = ((None, preload, True, dict(os.environ), os.getpid()) if forked
                    else (os.getpid(), preload, not shared))
        self.pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_warm_worker,
                                           initargs=initargs)
        if not forked:
            # start the workers now (the pool spawns one a task while none is idle): they load the
            # model while the run plans its cells and writes its folder. Forked workers start at
            # the first cells instead, in milliseconds, from the server already loading the model.
            for _ in range(jobs):
                self.pool.submit(int, 0)

    def view(self) -> LocalPool:
        """A pool for one run on this shared pool's processes, with cells of its own (two runs at
        once, from two app sessions, never see each other's cells); closing it keeps the processes."""
        return LocalPool(self.jobs, processes=self.pool)

    def expect(self, cells: int) -> None:
        self.to_come = len(self.pending) + max(0, int(cells))

    def _next_size(self) -> int:
        """The next chunk's cells: `chunk`, fewer as the run's end nears (guided self-scheduling), at most
        a `2 * jobs`-th of the cells still to come, so that the workers' last chunks end close together
        (with equal chunks one worker could idle for most of a chunk at the end)."""
        if self.to_come is None:
            return self.chunk
        return max(1, min(self.chunk, -(-self.to_come // (2 * self.jobs))))

    def submit(self, payload: Payload) -> None:
        self.pending.append(payload)
        self._dispatch(whole=True)

    def _dispatch(self, whole: bool = False) -> None:
        """Send the pending cells to the workers in chunks (`_next_size`); `whole`: only whole chunks."""
        while self.pending:
            size = self._next_size()
            if whole and len(self.pending) < size:
                return
            chunk, self.pending = self.pending[:size], self.pending[size:]
            if self.to_come is not None:
                self.to_come = max(0, self.to_come - len(chunk))
            try:
                future = self.pool.submit(run_cells, chunk)
            except (EOFError, ConnectionError):   # the fork server ended (killed) before forking a worker
                raise ClusterError("the worker processes could not start (their fork server ended); the "
                                   "finished cells are kept, so the run can be resumed") from None
            self.futures[future] = [(p[0], p[1]) for p in chunk]

    @property
    def in_flight(self) -> int:
        return len(self.pending) + sum(len(cells) for cells in self.futures.values())

    def finished(self) -> Iterator[CellOutcome]:
        self._dispatch()
        if not self.futures:
            return
        done, _ = cf.wait(list(self.futures), return_when=cf.FIRST_COMPLETED)
        for future in done:
            self.futures.pop(future)
            yield from self._outcomes(future)

    def _outcomes(self, future: cf.Future) -> list[CellOutcome]:
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

    def _cancel(self) -> list[CellOutcome]:
        self.pending.clear()
        futures = list(self.futures)
        for f in futures:
            f.cancel()
        if self.shared:
            cf.wait([f for f in futures if not f.cancelled()])
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.futures.clear()
        return [out for f in futures if f.done() and not f.cancelled() and f.exception() is None
                for out in f.result()]

    def close(self, wait: bool = True) -> None:
        self.pending.clear()
        if self.shared and wait:   # kept for the next run; nothing of this run is left in it
            for f in list(self.futures):
                f.cancel()
            cf.wait([f for f in self.futures if not f.cancelled()])
            self.futures.clear()
            return
        self.shutdown(wait)

    def shutdown(self, wait: bool = True) -> None:
        """End the worker processes (a shared pool too); `wait=False` ends running cells."""
        if not wait:  # abandoned (a second Ctrl-C): do not wait for the workers, end them
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                try:
                    process.terminate()
                except Exception:  # noqa: BLE001 - already gone
                    pass
        self.pool.shutdown(wait=wait, cancel_futures=True)

    @property
    def alive(self) -> bool:
        """Whether the pool can still take cells (not shut down, no worker died)."""
        return not (getattr(self.pool, "_broken", False) or getattr(self.pool, "_shutdown_thread", False))

    def describe(self) -> dict[str, Any]:
        return {"kind": "local processes", "jobs": self.jobs, "chunk": self.chunk}


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


class DaskPool(Executor):
    """Cells on a dask.distributed cluster (`dask scheduler` + `dask worker`s).

    The scheduler and its workers are watched while cells run (`_watch`, about once a
    second). Faults are told apart:
    - the connection to the scheduler lost: the run ends at once (dask has cancelled every
      cell in flight), saying so;
    - a worker gone while others remain: nothing to do; a cell it held (running, or finished
      but not yet fetched: dask marks it `lost`) is computed again by dask on another worker;
    - a worker that has not answered the scheduler (its heartbeat) for `timeout` seconds, a
      frozen one say, counts as gone: the scheduler is asked to drop it, as its own
      `worker-ttl` would after five minutes, so its cells go to the others;
    - no worker left (none answering) for `timeout` seconds: the run ends, saying so.
    """

    kind = "dask"

    def __init__(self, address: str, timeout: float | None = None) -> None:
        distributed = import_distributed()
        address = check_scheduler_address(address)
        self.distributed = distributed
        self.address = address
        self.timeout = CLUSTER_TIMEOUT if timeout is None else float(timeout)
        self.futures: dict[Any, tuple[int, int]] = {}
        self.heard: dict[str, tuple[float, float]] = {}  # worker: (its last_seen, when it last changed here)
        self.dropped: set[str] = set()                     # workers this run asked the scheduler to drop
        self.last_check = 0.0
        # dask logs a lost connection with tracebacks; this pool reports it in one paragraph instead
        self.quieted = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        for name in _DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        try:
            self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as err:  # noqa: BLE001 - OSError, TimeoutError, ValueError... all mean "not there"
            _stop_failed_client(err, distributed.Client)
            self._restore_logging()
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ScenarioError(f"--scheduler {address}: cannot reach a dask scheduler there within "
                               f"{CONNECT_TIMEOUT:g} s ({reason}); start one with `dask scheduler` and give "
                               "the tcp://HOST:PORT address it prints") from None
        self.since_healthy = time.monotonic()
        threads = self._wait_for_workers()
        if not threads:
            self.close()
            raise ClusterError(f"--scheduler {address}: the scheduler has no workers (none joined within "
                               f"{self.timeout:g} s); start some with `dask worker {address}`")
        self.jobs = sum(threads.values())
        self.slots = max(4, 2 * self.jobs)

    # ----------------------------------------------------------------- the cluster's health
    def _workers(self) -> dict[str, tuple[int, float]] | None:
        """{worker: (threads, last heartbeat in the scheduler's clock)}; None if the scheduler is
        not connected or does not answer within 5 s."""
        try:
            if self.client.status != "running":
                return None
            info = self.client.sync(self.client.scheduler.identity, n_workers=-1, callback_timeout=5)
        except Exception:  # noqa: BLE001 - a lost scheduler
            return None
        return {addr: (int(w.get("nthreads", 1)), float(w.get("last_seen", 0.0)))
                for addr, w in (info.get("workers") or {}).items()}

    def _answering(self, workers: dict[str, tuple[int, float]], now: float) -> dict[str, int]:
        """The workers whose heartbeat advanced within `timeout` seconds (by this machine's clock:
        only changes of the scheduler's timestamp are compared, never the two clocks), {worker:
        threads}; notes the last time any worker was heard from in `since_healthy`."""
        for addr, (_, seen) in workers.items():
            before = self.heard.get(addr)
            if before is None or before[0] != seen:
                self.heard[addr] = (seen, now)
        for addr in set(self.heard) - set(workers):
            del self.heard[addr]
        if self.heard:
            self.since_healthy = max(self.since_healthy, max(t for _, t in self.heard.values()))
        return {addr: workers[addr][0] for addr, (_, t) in self.heard.items() if now - t < self.timeout}

    def _wait_for_workers(self) -> dict[str, int]:
        """{worker: threads} once one has joined, waiting up to `timeout` seconds ({} if none did)."""
        deadline = time.monotonic() + self.timeout
        while True:
            workers = self._workers()
            if workers or workers is None or time.monotonic() >= deadline:
                return {addr: threads for addr, (threads, _) in (workers or {}).items()}
            time.sleep(POLL_SECONDS)

    def _lost_scheduler(self) -> ClusterError:
        return ClusterError(f"the connection to the dask scheduler at {self.address} was lost")

    def _watch(self) -> None:
        """About once a second: raise `ClusterError` if the scheduler is gone, or has had no
        answering worker for `timeout` seconds; ask it to drop the workers that stopped answering."""
        now = time.monotonic()
        if now - self.last_check < 1.0:
            return
        self.last_check = now
        if self.client.status != "running":
            raise self._lost_scheduler()
        workers = self._workers()
        if workers is None:
            if self.client.status != "running":
                raise self._lost_scheduler()
            if now - self.since_healthy >= self.timeout:
                raise ClusterError(f"the dask scheduler at {self.address} has not answered for {self.timeout:g} s")
            return
        answering = self._answering(workers, now)
        silent = sorted(set(workers) - set(answering) - self.dropped)
        if silent:
            self._drop(silent)
        if not answering and now - self.since_healthy >= self.timeout:
            frozen = f" ({len(workers)} stopped answering)" if workers else ""
            raise ClusterError(f"the cluster has no workers left{frozen}: none has answered the dask scheduler "
                               f"at {self.address} for {self.timeout:g} s")

    def _drop(self, workers: list[str]) -> None:
        """Ask the scheduler to drop workers that stopped answering (what its `worker-ttl` does),
        so that their cells run elsewhere; a worker with a nanny is restarted by it."""
        self.dropped.update(workers)
        log.warning("dask worker(s) %s have not answered for %g s: treated as gone, their cells run elsewhere.",
                    ", ".join(workers), self.timeout)
        try:
            self.client.sync(self.client.scheduler.restart_workers, workers=workers, timeout=5,
                             wait_for_workers=False, on_error="return",
                             stimulus_id=f"pcnsim-unresponsive-{time.time()}", callback_timeout=10)
        except Exception:  # noqa: BLE001 - the scheduler's own worker-ttl still drops them later
            pass

    # ----------------------------------------------------------------- cells
    def submit(self, payload: Payload) -> None:
        point, rep = payload[0], payload[1]
        future = self.client.submit(run_cell, payload, pure=False,
                                    key=f"pcnsim-{cell_name(point, rep)}-{os.urandom(4).hex()}")
        self.futures[future] = (point, rep)

    @property
    def in_flight(self) -> int:
        return len(self.futures)

    def finished(self) -> Iterator[CellOutcome]:
        """The outcomes of the cells that ended. `lost` (the worker holding the result died) is
        not an end: dask computes the cell again while the run watches the cluster."""
        while True:
            done = [f for f in self.futures if f.status in ("finished", "error", "cancelled")]
            if done:
                break
            self._watch()
            time.sleep(0.05)
        for future in done:
            out = self._outcome(future)
            del self.futures[future]
            yield out

    def _outcome(self, future: Any) -> CellOutcome:
        point, rep = self.futures[future]
        if future.status == "cancelled":   # dask cancels every future when the scheduler is lost
            raise self._lost_scheduler()
        while True:
            try:
                if future.status == "error":   # raised at once: the exception came with the report
                    future.result(timeout=self.timeout)
                return future.result(timeout=1.0)
            except TimeoutError:
                if future.status == "error":
                    return self._failed(point, rep, future.exception(timeout=self.timeout))
                # finished, but its worker died before the result came (`lost`): dask computes it
                # again on another worker, while the cluster is watched
                self._watch()
            except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: the cell failed, the run goes on
                if self.client.status != "running" or future.status == "cancelled":
                    raise self._lost_scheduler() from None
                return self._failed(point, rep, err)

    @staticmethod
    def _failed(point: int, rep: int, err: BaseException) -> CellOutcome:
        return CellOutcome(point, rep, error={"type": type(err).__name__, "message": str(err),
                                              "traceback": "".join(traceback.format_exception(err))})

    def _cancel(self) -> list[CellOutcome]:
        """Cancel the cells no worker has started, let the running ones finish (up to `timeout`
        seconds); the outcomes of those that finished."""
        futures = list(self.futures)
        try:
            running = {key for keys in self.client.processing().values() for key in keys}
        except Exception:  # noqa: BLE001 - a lost scheduler: nothing can finish
            running = set()
        waiting = [f for f in futures if f.key in running and f.status in ("pending", "lost")]
        try:
            self.client.cancel([f for f in futures if f.status in ("pending", "lost") and f.key not in running])
            deadline = time.monotonic() + self.timeout
            while (any(f.status in ("pending", "lost") for f in waiting) and self.client.status == "running"
                   and time.monotonic() < deadline):
                time.sleep(0.05)
        except KeyboardInterrupt:
            raise
        except Exception:  # noqa: BLE001 - the cluster went away meanwhile: keep what finished
            pass
        outcomes = []
        for f in futures:
            if f.status == "finished":
                try:
                    outcomes.append(f.result(timeout=self.timeout))
                except KeyboardInterrupt:
                    raise
                except Exception:  # noqa: BLE001 - its result went with its worker or the scheduler
                    pass
        self.futures.clear()
        return outcomes

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


def _stop_failed_client(err: BaseException, client_type: type) -> None:
    """Stop the IO-loop thread of a dask `Client` whose connection failed in its constructor.

    dask leaves that thread running (the half-made client is out of reach but for the
    exception's traceback); a process that goes on (a test session, a notebook) would keep it,
    and a live loop thread makes pytest crash while it parses source (CPython gh-106905)."""
    tb = err.__traceback__
    while tb is not None:
        client = tb.tb_frame.f_locals.get("self")
        if isinstance(client, client_type):
            try:
                client._loop_runner.stop()
            except Exception:  # noqa: BLE001 - another dask: the thread then stays, as before
                pass
            return
        tb = tb.tb_next


def import_distributed() -> Any:
    """`distributed`, or a `ScenarioError` (exit status 2) saying how to install the cluster extra."""
    try:
        import distributed
    except ImportError:
        raise ScenarioError(CLUSTER_EXTRA_HINT) from None
    return distributed


def make_executor(jobs: int | None, scheduler: str | None, cells: int,
                  cluster_timeout: float | None = None, pcn_years: float | None = None,
                  preload: bool = True) -> Executor:
    """The executor for a run: dask if a scheduler is given, else `jobs` local processes (one: in
    this process). `jobs` is capped at the cores available and at the number of cells; `None`
    (the default `--jobs`) lets `auto_jobs` choose from the run's work, `pcn_years` (every
    cell's PCNs x years simulated; unknown: as many workers as cores)."""
    if cluster_timeout is not None and (isinstance(cluster_timeout, bool) or not 0 < float(cluster_timeout) < 86_400):
        raise ScenarioError(f"--cluster-timeout {cluster_timeout}: expected seconds, more than 0 and less than a day")
    if scheduler:
        return DaskPool(scheduler, cluster_timeout)
    cores = available_cores()
    if jobs is None:
        jobs = cores if pcn_years is None else auto_jobs(pcn_years, cores, cells)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ScenarioError(f"--jobs {jobs}: expected a whole number of worker processes, at least 1")
    if jobs > cores:
        log.info("--jobs %d: this machine has %d cores; using %d worker processes.", jobs, cores, cores)
        jobs = cores
    jobs = min(jobs, max(1, cells))
    if jobs == 1:
        return InProcess()
    chunk = chunk_size(pcn_years, cells, jobs) if pcn_years is not None else 1
    return LocalPool(jobs, chunk=chunk, preload=preload)
