"""Fault suite II (issue #17): a real dask cluster on 127.0.0.1 that fails.

A scheduler and workers run as subprocesses (`python -m distributed.cli.dask_scheduler`,
`... dask_worker --no-nanny`), so that a test can kill any of them. Each run uses
`--cluster-timeout` of a few seconds, so that every test ends in well under 20 s; a
worker started with a patched copy of the model shows that its cells are refused.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcnsim import experiment
from pcnsim.cli import main
from pcnsim.errors import ClusterError
from tests.test_faults import finished_cells, write_sweep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def env_with(path: Path) -> dict[str, str]:
    """The environment of a process running the pcnsim in `path`."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")]),
            "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


class Cluster:
    """A scheduler (and workers) on 127.0.0.1, as subprocesses; everything ends with the test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        file = tmp / "scheduler.json"
        self.scheduler = self._start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                      "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)])
        deadline = time.monotonic() + 20
        while not file.exists() or not file.read_text().strip():
            assert self.scheduler.poll() is None and time.monotonic() < deadline, "no scheduler within 20 s"
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written whole, but let it land
        self.address = json.loads(file.read_text())["address"]

    def _start(self, cmd: list[str], code: Path = ROOT) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=self.tmp, env=env_with(code), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.processes.append(proc)
        return proc

    def add_worker(self, code: Path = ROOT) -> subprocess.Popen:
        """One single-threaded worker process running the pcnsim found in `code`; waits until it joined."""
        before = self.workers()
        worker = self._start([sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                              "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], code)
        deadline = time.monotonic() + 20
        while self.workers() <= before:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker did not join within 20 s"
            time.sleep(0.1)
        return worker

    def workers(self) -> int:
        import distributed

        with distributed.Client(self.address, timeout=5, set_as_default=False) as client:
            return len(client.scheduler_info()["workers"])

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


@pytest.fixture(scope="module")
def slow_sweep(tmp_path_factory) -> Path:
    """12 cells of 104 weeks (about 0.1 s each on one core): long enough to kill something while they
    run, with the model as fast as it now is (30 weeks, 25 ms, let a loaded machine finish them all)."""
    return write_sweep(tmp_path_factory.mktemp("scenario") / "sweep.yaml", horizon_weeks=104)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_paragraph(output: str) -> None:
    assert "Traceback" not in output and output.startswith("Error: "), output
    assert output.count("\n") == 1, output


# --------------------------------------------------------------------------- bad addresses
@pytest.mark.parametrize("address", ["not a url", "tcp://127.0.0.1", "tcp://127.0.0.1:70000", "FREE PORT"])
def test_a_bad_scheduler_address_fails_in_under_5_seconds(slow_sweep, tmp_path, address):
    address = f"tcp://127.0.0.1:{free_port()}" if address == "FREE PORT" else address
    start = time.monotonic()
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", address, "--quiet", "--no-report",
                                    "--out", str(tmp_path / "run")])
    assert time.monotonic() - start < 5
    assert res.exit_code == 2, res.output
    one_paragraph(res.output)
    assert address in res.output and "tcp://HOST" in res.output
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- a cluster that fails
def test_a_scheduler_without_workers_fails_within_the_timeout(cluster, slow_sweep, tmp_path):
    start = time.monotonic()
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", cluster.address, "--cluster-timeout", "2",
                                    "--quiet", "--no-report", "--out", str(tmp_path / "run")])
    assert time.monotonic() - start < 8
    assert res.exit_code == 1, res.output
    one_paragraph(res.output)
    assert "has no workers" in res.output and "dask worker" in res.output
    assert not (tmp_path / "run").exists()


def test_a_killed_scheduler_ends_the_run_with_the_resume_command(cluster, slow_sweep, tmp_path):
    cluster.add_worker()
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "pcnsim", "run", str(slow_sweep), "--scheduler", cluster.address,
                             "--cluster-timeout", "3", "--quiet", "--no-report", "--out", str(out)],
                            cwd=ROOT, env=env_with(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while not finished_cells(out):
        assert proc.poll() is None and time.monotonic() < deadline, "no cell within 30 s"
        time.sleep(0.01)
    cluster.scheduler.kill()
    killed = time.monotonic()
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - killed < 12
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "ClosedClientError" not in err
    assert "dask scheduler" in err and f"pcnsim run --out {out} --resume" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished_cells"] == finished_cells(out)
    assert 0 < len(finished_cells(out)) < 12


def test_losing_every_worker_ends_the_run_within_the_timeout(cluster, slow_sweep, tmp_path):
    worker = cluster.add_worker()
    out = tmp_path / "run"
    state = {}

    def progress(event):
        if event.done >= 1 and "killed" not in state:
            worker.send_signal(signal.SIGKILL)
            state["killed"] = time.monotonic()

    with pytest.raises(ClusterError) as caught:
        experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=2, out=out, progress=progress)
    assert time.monotonic() - state["killed"] < 10
    message = str(caught.value)
    assert "no workers left" in message and f"pcnsim run --out {out} --resume" in message
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["finished_cells"] == finished_cells(out)
    # the cluster back (here: this machine), the run finishes
    result = experiment.run(slow_sweep, jobs=1, out=out, resume=True, quiet=True)
    assert result.manifest["status"] == "complete" and len(finished_cells(out)) == 12


def test_a_worker_running_other_model_code_is_refused(cluster, slow_sweep, tmp_path):
    patched = tmp_path / "patched"
    shutil.copytree(ROOT / "pcnsim", patched / "pcnsim", ignore=shutil.ignore_patterns("__pycache__"))
    model = patched / "pcnsim" / "model" / "__init__.py"
    model.write_text(model.read_text() + "\n# a locally patched model\n")
    cluster.add_worker(code=patched)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(slow_sweep), "--scheduler", cluster.address, "--cluster-timeout", "5",
                                    "--quiet", "--no-report", "--out", str(out)])
    assert res.exit_code == 2, res.output
    one_paragraph(res.output)
    assert "other model code" in res.output and "same pcnsim on every worker" in res.output
    assert not out.exists() or finished_cells(out) == []   # nothing of it kept


def test_ctrl_c_on_dask_lets_the_running_cells_finish(cluster, slow_sweep, tmp_path, monkeypatch):
    from pcnsim.experiment import executors

    cluster.add_worker()
    out = tmp_path / "run"
    seen = {}
    real_stop = executors.DaskPool.stop

    def stop(self, futures):   # note which cells the worker had started when Ctrl-C came
        seen["running"] = {k for keys in self.client.processing().values() for k in keys}
        seen["futures"] = list(futures)
        return real_stop(self, futures)

    monkeypatch.setattr(executors.DaskPool, "stop", stop)

    def progress(event):
        if event.done == 1:
            raise KeyboardInterrupt   # as Ctrl-C arrives while the run waits for cells

    with pytest.raises(KeyboardInterrupt):
        experiment.run(slow_sweep, scheduler=cluster.address, cluster_timeout=5, out=out, progress=progress)
    kept = finished_cells(out)
    running = [f for f in seen["futures"] if f.key in seen["running"]]
    assert running, "the worker had no cell running"
    for future in running:   # finished and kept, not cancelled
        assert future.key.split("-")[1] + "-" + future.key.split("-")[2] in kept, (future.key, kept)
    assert len(kept) < 12
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["finished_cells"] == kept
