"""Where cells run: in this process, local worker processes, or a dask.distributed cluster.

Each pool submits `run_cell` payloads, waits for the first to finish, turns a future into a
`CellOutcome`, and stops cleanly on Ctrl-C (cancel what has not started, keep what finished).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import traceback
from typing import Any, Iterable, Sequence

from pcnsim.errors import PcnsimError, ScenarioError
from pcnsim.experiment.cells import CellOutcome, cell_name, run_cell


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops the run cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """Local worker processes (spawned: safe with threads, the same on every platform)."""

    kind = "local"

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.slots = 2 * jobs
        self.pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_ignore_sigint)

    def submit(self, payload: Any) -> Any:
        return self.pool.submit(run_cell, payload)

    def wait_first(self, futures: Sequence[Any]) -> Iterable[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done

    def outcome(self, future: Any, point: int, replication: int) -> CellOutcome:
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            raise PcnsimError("a worker process died (out of memory, or killed); the finished cells are "
                              "kept, so the run can be resumed, perhaps with fewer --jobs") from None

    def stop(self, futures: Sequence[Any]) -> list[Any]:
        """Cancel what has not started, wait for the running cells; return those that finished."""
        for f in futures:
            f.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        return [f for f in futures if f.done() and not f.cancelled() and f.exception() is None]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> dict[str, Any]:
        return {"kind": "local processes", "jobs": self.jobs}


class DaskPool:
    """Cells on a dask.distributed cluster (`dask scheduler` + `dask worker`s)."""

    kind = "dask"

    def __init__(self, address: str) -> None:
        try:
            import distributed
        except ImportError:  # pragma: no cover - a declared dependency
            raise ScenarioError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        self.distributed = distributed
        self.address = address
        try:
            self.client = distributed.Client(address, timeout=20, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise ScenarioError(f"--scheduler {address}: cannot reach a dask scheduler there ({err}); start "
                                "one with `dask scheduler` and give its tcp://HOST:PORT address") from None
        threads = sum(self.client.nthreads().values()) or 1
        self.jobs = threads
        self.slots = max(4, 2 * threads)
        self.finished = distributed.as_completed(loop=self.client.loop)  # this client's futures, in the order they finish

    def submit(self, payload: Any) -> Any:
        point, rep = payload[0], payload[1]
        future = self.client.submit(run_cell, payload, pure=False,
                                    key=f"pcnsim-{cell_name(point, rep)}-{os.urandom(4).hex()}")
        self.finished.add(future)
        return future

    def wait_first(self, futures: Sequence[Any]) -> Iterable[Any]:
        return [next(self.finished)]

    def outcome(self, future: Any, point: int, replication: int) -> CellOutcome:
        try:
            return future.result()
        except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: the cell failed, the run goes on
            return CellOutcome(point, replication, error={
                "type": type(err).__name__, "message": str(err), "traceback": traceback.format_exc()})

    def stop(self, futures: Sequence[Any]) -> list[Any]:
        done = [f for f in futures if f.status == "finished"]
        self.client.cancel([f for f in futures if f.status != "finished"])
        return done

    def close(self) -> None:
        self.client.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": "dask.distributed", "scheduler": self.address, "worker_threads": self.jobs}


def make_executor(jobs: int | None, scheduler: str | None, cells: int) -> LocalPool | DaskPool | None:
    """The pool for a run: dask if a scheduler is given, else `jobs` local processes (None: in process)."""
    if scheduler:
        return DaskPool(scheduler)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ScenarioError(f"--jobs {jobs}: expected a whole number of worker processes, at least 1")
    jobs = min(jobs, max(1, cells))
    return None if jobs == 1 else LocalPool(jobs)
