"""Fault suite II (issues 17, 29): a real dask cluster on 127.0.0.1 that fails.

A scheduler and workers run as subprocesses (`python -m distributed.cli.dask_scheduler`,
`... dask_worker --no-nanny`), so that a test can kill or freeze any of them. The tests wait
for events (a cell file written, a worker joined or gone), never for the clock: a worker can
be started with a gate (tests/cell_gate.py) that holds every cell but the first until the
test opens it, so that the fault comes while exactly one cell is kept. Time bounds are at
least ten times what a quiet machine needs. Every dask client and process a test starts is
closed by its fixture, and the test checks that no dask IO-loop thread outlives it (a live
one makes pytest crash while it parses source: CPython gh-106905, Python <= 3.11.7).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcnsim import experiment
from pcnsim.cli import main
from pcnsim.errors import ClusterError
from tests.test_faults import assert_same_results, finished_cells, write_sweep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration
#: Generous bound for anything a quiet machine does in a few seconds.
PATIENCE = 120.0


def env_with(path: Path, **extra: str) -> dict[str, str]:
    """The environment of a process running the pcnsim in `path` (and `extra`)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")]),
            "DASK_DISTRIBUTED__WORKER__DAEMON": "False", **extra}


def wait_for(condition, what: str, timeout: float = PATIENCE, alive: subprocess.Popen | None = None):
    """Poll `condition()` until it is true (returned); fail after `timeout` s or when `alive` ends."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert alive is None or alive.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
        time.sleep(0.02)
    return value


class Cluster:
    """A scheduler (and workers) on 127.0.0.1, as subprocesses, and one client to watch them;
    `close` ends everything."""

    def __init__(self, tmp: Path) -> None:
        import distributed

        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.client = None
        file = tmp / "scheduler.json"
        self.scheduler = self._start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                      "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)])
        wait_for(lambda: file.exists() and file.read_text().strip().endswith("}"), "scheduler file",
                 alive=self.scheduler)
        self.address = json.loads(file.read_text())["address"]
        self.client = distributed.Client(self.address, timeout=30, set_as_default=False)

    def _start(self, cmd: list[str], code: Path = ROOT, **env: str) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=self.tmp, env=env_with(code, **env), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.processes.append(proc)
        return proc

    def add_worker(self, code: Path = ROOT, gate: Path | None = None) -> subprocess.Popen:
        """One single-threaded worker process running the pcnsim found in `code` (its cells held at
        `gate` if given: tests/cell_gate.py); waits until it joined."""
        before = self.workers()
        cmd = [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
               "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{len(self.processes)}"]
        if gate is not None:
            cmd += ["--preload", "tests.cell_gate"]
        worker = self._start(cmd, code, **({"PCNSIM_TEST_GATE": str(gate)} if gate else {}))
        wait_for(lambda: self.workers() - before, "worker joined", alive=worker)
        worker.name = next(w["name"] for a, w in self.info().items() if a not in before)
        return worker

    def info(self) -> dict[str, dict]:
        return self.client.scheduler_info(n_workers=-1)["workers"]

    def workers(self) -> set[str]:
        return set(self.info())

    def holder_of_unfetched_cell(self, out: Path) -> str | None:
        """The name of a worker holding a finished cell that the run has not written yet."""
        written = set(finished_cells(out))
        for key, where in self.client.who_has().items():
            if str(key).startswith("pcnsim-") and "-".join(str(key).split("-")[1:3]) not in written and where:
                return self.info().get(where[0], {}).get("name")
        return None

    def close(self) -> None:
        if self.client is not None:
            self.client.close(timeout=10)
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def dask_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "IO loop"]


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()
    deadline = time.monotonic() + 30
    while dask_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not dask_threads(), "a dask client outlived its test"


@pytest.fixture(scope="module")
def slow_sweep(tmp_path_factory) -> Path:
    """12 cells of 104 weeks (about 0.1 s each on one core)."""
    return write_sweep(tmp_path_factory.mktemp("scenario") / "sweep.yaml", horizon_weeks=104)


@pytest.fixture(scope="module")
def reference(slow_sweep, tmp_path_factory) -> Path:
    """The sweep run in process: what every run on a faulty cluster that finishes must equal."""
    out = tmp_path_factory.mktemp("reference") / "run"
    experiment.run(slow_sweep, jobs=1, out=out, quiet=True)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_paragraph(output: str) -> None:
    assert "Traceback" not in output and output.startswith("Error: "), output
    assert output.count("\n") == 1, output


# --------------------------------------------------------------------------- no dask, bad addresses
def test_scheduler_without_dask_installed_says_how_to_install_it(slow_sweep, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)   # as after `pip install pcnsim`: no cluster extra
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", "tcp://127.0.0.1:8786", "--quiet",
                                    "--no-report", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    one_paragraph(res.output)
    assert 'pip install "pcnsim[cluster]"' in res.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("address", ["not a url", "tcp://127.0.0.1", "tcp://127.0.0.1:70000", "FREE PORT"])
def test_a_bad_scheduler_address_fails_within_the_connect_timeout(slow_sweep, tmp_path, address):
    from pcnsim.experiment.executors import CONNECT_TIMEOUT

    address = f"tcp://127.0.0.1:{free_port()}" if address == "FREE PORT" else address
    start = time.monotonic()
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", address, "--quiet", "--no-report",
                                    "--out", str(tmp_path / "run")])
    assert time.monotonic() - start < 10 * CONNECT_TIMEOUT
    assert res.exit_code == 2, res.output
    one_paragraph(res.output)
    assert address in res.output and "tcp://HOST" in res.output
    assert not (tmp_path / "run").exists()
    assert not dask_threads()


# --------------------------------------------------------------------------- a cluster that fails
@pytest.mark.slow
def test_a_scheduler_without_workers_fails_within_the_timeout(cluster, slow_sweep, tmp_path):
    start = time.monotonic()
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", cluster.address, "--cluster-timeout", "2",
                                    "--quiet", "--no-report", "--out", str(tmp_path / "run")])
    assert time.monotonic() - start < 2 + PATIENCE
    assert res.exit_code == 1, res.output
    one_paragraph(res.output)
    assert "has no workers" in res.output and "dask worker" in res.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_killed_scheduler_ends_the_run_with_the_resume_command(cluster, slow_sweep, tmp_path):
    cluster.add_worker(gate=tmp_path / "gate")   # never opened: one cell finishes, the others hold
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "pcnsim", "run", str(slow_sweep), "--scheduler", cluster.address,
                             "--cluster-timeout", "60", "--quiet", "--no-report", "--out", str(out)],
                            cwd=ROOT, env=env_with(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    wait_for(lambda: finished_cells(out), "cell written", alive=proc)
    cluster.scheduler.kill()
    _, err = proc.communicate(timeout=PATIENCE)   # well before --cluster-timeout: the loss is seen at once
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "ClosedClientError" not in err
    assert "connection to the dask scheduler" in err and f"pcnsim run --out {out} --resume" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished_cells"] == finished_cells(out) == ["p00000-r0000"]


@pytest.mark.slow
def test_losing_every_worker_ends_the_run_within_the_timeout(cluster, slow_sweep, reference, tmp_path):
    worker = cluster.add_worker(gate=tmp_path / "gate")
    out = tmp_path / "run"
    killed = {}

    def progress(event):
        if event.done == 1 and not killed:   # the first cell kept, the others held by the worker
            worker.kill()
            worker.wait(timeout=PATIENCE)
            killed["at"] = time.monotonic()

    with pytest.raises(ClusterError) as caught:
        experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=2, out=out, progress=progress)
    assert time.monotonic() - killed["at"] < 2 + PATIENCE
    message = str(caught.value)
    assert "no workers left" in message and f"pcnsim run --out {out} --resume" in message
    assert "connection to the dask scheduler" not in message   # the scheduler is fine
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished_cells"] == finished_cells(out) == ["p00000-r0000"]
    # the cluster back (here: this machine), the run finishes as if nothing had happened
    result = experiment.run(slow_sweep, jobs=1, out=out, resume=True, quiet=True)
    assert result.manifest["status"] == "complete" and len(finished_cells(out)) == 12
    assert_same_results(reference, out)


@pytest.mark.slow
def test_a_worker_lost_with_an_unfetched_cell_while_another_remains_is_not_an_error(cluster, slow_sweep,
                                                                                    reference, tmp_path):
    """dask marks the cell `lost` and computes it again on the other worker: the run finishes,
    identical to a clean run."""
    workers = {w.name: w for w in (cluster.add_worker(), cluster.add_worker())}
    out = tmp_path / "run"
    killed = []

    def progress(event):   # the run waits here, so a finished cell stays unfetched on its worker
        if event.done >= 1 and not killed and event.done < event.total:
            name = wait_for(lambda: cluster.holder_of_unfetched_cell(out), "finished, unfetched cell")
            workers[name].kill()
            workers[name].wait(timeout=PATIENCE)
            wait_for(lambda: len(cluster.workers()) == 1, "worker gone from the scheduler")
            killed.append(name)

    result = experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=PATIENCE, out=out,
                            progress=progress)
    assert killed and result.manifest["status"] == "complete" and not result.failed
    assert_same_results(reference, out)


@pytest.mark.slow
def test_a_frozen_only_worker_ends_the_run_within_the_timeout(cluster, slow_sweep, tmp_path):
    """SIGSTOP: the worker's connection stays open, only its heartbeat stops; after
    --cluster-timeout it counts as gone (not after dask's five-minute worker-ttl)."""
    worker = cluster.add_worker(gate=tmp_path / "gate")
    out = tmp_path / "run"
    frozen = {}

    def progress(event):
        if event.done == 1 and not frozen:
            worker.send_signal(signal.SIGSTOP)
            frozen["at"] = time.monotonic()

    with pytest.raises(ClusterError) as caught:
        experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=3, out=out, progress=progress)
    assert time.monotonic() - frozen["at"] < 3 + PATIENCE   # not dask's 300 s
    message = str(caught.value)
    assert "no workers left" in message and "stopped answering" in message
    assert finished_cells(out) == ["p00000-r0000"]


@pytest.mark.slow
def test_a_frozen_worker_while_another_remains_loses_nothing(cluster, slow_sweep, reference, tmp_path):
    workers = {w.name: w for w in (cluster.add_worker(), cluster.add_worker())}
    out = tmp_path / "run"
    frozen = []

    def progress(event):
        if event.done >= 1 and not frozen:   # freeze a worker while it holds a cell
            busy = wait_for(lambda: [n for a, keys in cluster.client.processing().items() if keys
                                     for n in [cluster.info().get(a, {}).get("name")] if n in workers],
                            "a worker with a cell")
            workers[busy[0]].send_signal(signal.SIGSTOP)
            frozen.append(busy[0])

    result = experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=3, out=out,
                            progress=progress)
    assert frozen and result.manifest["status"] == "complete" and not result.failed
    assert_same_results(reference, out)


@pytest.mark.slow
def test_a_worker_running_other_model_code_is_refused(cluster, slow_sweep, tmp_path):
    patched = tmp_path / "patched"
    shutil.copytree(ROOT / "pcnsim", patched / "pcnsim", ignore=shutil.ignore_patterns("__pycache__"))
    model = patched / "pcnsim" / "model" / "__init__.py"
    model.write_text(model.read_text() + "\n# a locally patched model\n")
    cluster.add_worker(code=patched)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", cluster.address, "--cluster-timeout", "60",
                                    "--quiet", "--no-report", "--out", str(out)])
    assert res.exit_code == 2, res.output
    one_paragraph(res.output)
    assert "other model code" in res.output and "same pcnsim on every worker" in res.output
    assert not out.exists() or finished_cells(out) == []   # nothing of it kept


@pytest.mark.slow
def test_ctrl_c_on_dask_lets_the_running_cells_finish(cluster, slow_sweep, tmp_path, monkeypatch):
    from pcnsim.experiment import executors

    gate = tmp_path / "gate"
    cluster.add_worker(gate=gate)
    out = tmp_path / "run"
    seen = {}
    real_cancel = executors.DaskPool._cancel

    def cancel(self):   # note which cells the worker holds at Ctrl-C; once the others are cancelled, let them end
        seen["running"] = {k for keys in self.client.processing().values() for k in keys}
        seen["futures"] = {f.key: self.futures[f] for f in self.futures}
        others = [f for f in self.futures if f.key not in seen["running"]]

        def open_gate():
            wait_for(lambda: all(f.status == "cancelled" for f in others), "the waiting cells cancelled")
            gate.touch()

        opener = threading.Thread(target=open_gate, daemon=True)
        opener.start()
        try:
            return real_cancel(self)
        finally:
            opener.join(timeout=PATIENCE)

    monkeypatch.setattr(executors.DaskPool, "_cancel", cancel)

    def progress(event):
        if event.done == 1:   # Ctrl-C while the worker holds cells (at the gate)
            wait_for(lambda: cluster.client.processing().get(next(iter(cluster.workers()))), "a running cell")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=60, out=out, progress=progress)
    kept = finished_cells(out)
    running = {experiment.cell_name(*cell) for key, cell in seen["futures"].items() if key in seen["running"]}
    cancelled = {experiment.cell_name(*cell) for key, cell in seen["futures"].items() if key not in seen["running"]}
    assert running, "no cell held by the worker at Ctrl-C"
    assert set(kept) == {"p00000-r0000"} | running   # the running ones finished and kept, no other
    assert not set(kept) & cancelled
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["finished_cells"] == kept
