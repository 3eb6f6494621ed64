"""Faults during a run (issue 7): SIGKILL, Ctrl-C, a full or read-only disk, a bad --out.

What must hold: a run folder never holds half a file that a resume or a report would read
(temporary files only under hidden `.NAME.tmp-PID` names, which the loaders ignore); the
finished cells survive; the manifest never claims completion for a run that stopped; a
resume then gives exactly the files of an uninterrupted run; and a refusal by the system is
one paragraph naming the folder and the reason (exit status 2), never a traceback.

The real model runs here, on a short horizon, so that the subprocess tests kill a real
`pcnsim run`. The disk faults are simulated (the tests run as root, for whom a read-only
chmod does not stop writes) by making the writes raise the OSError the system would raise.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pcnsim import experiment
from pcnsim.cli import main
from pcnsim.errors import RunFolderError
from pcnsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
FINAL_FILES = ("results.parquet", "results.csv", "summary.csv", "weekly.parquet")
ARRS_POINTS = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)


def write_sweep(path: Path, horizon_weeks: int) -> Path:
    """A small real sweep: 6 points x 2 replications = 12 cells of `horizon_weeks` weeks."""
    points = "".join(f"    - {{funding.arrs_per_patient: {a}}}\n" for a in ARRS_POINTS)
    path.write_text(f"extends: baseline\nname: fault-sweep\n"
                    f"run: {{horizon_weeks: {horizon_weeks}, warmup_weeks: 2, replications: 2, seed: 5}}\n"
                    f"sweep:\n  points:\n{points}")
    return path


def run_command(file: Path, out: Path, *extra: str, gate: Path | None = None) -> list[str]:
    """`pcnsim run FILE` in process; with `gate`, every cell but the first held until the file `gate`
    exists (tests/cell_gate.py), so that a signal comes while exactly one cell is kept."""
    start = [sys.executable, "-m", "pcnsim"] if gate is None else [sys.executable, "-m", "tests.cell_gate", str(gate)]
    return [*start, "run", str(file), "--jobs", "1", "--quiet", "--no-report", "--out", str(out), *extra]


def wait_for_a_cell(folder: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until the run in `proc` has kept a cell (an event, not a time); fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not finished_cells(folder):
        assert proc.poll() is None, "the run ended before it wrote a cell"
        assert time.monotonic() < deadline, f"no cell written within {timeout:g} s"
        time.sleep(0.005)


def is_temporary(path: Path) -> bool:
    """A name the writers use before renaming, and the loaders never read."""
    return path.name.startswith(".") and ".tmp-" in path.name


def finished_cells(folder: Path) -> list[str]:
    return sorted(p.stem for p in (folder / "cells").glob("p*-r*.parquet"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_nothing_half_written(folder: Path, allow_temporary: bool = False) -> None:
    """Every file a resume or a report reads is whole; anything else is a hidden temporary name."""
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            assert path == folder / "cells", path
        elif is_temporary(path):
            assert allow_temporary, f"temporary file left behind: {path}"
        elif path.suffix == ".parquet":
            table = pq.read_table(path)  # raises on a truncated file
            if path.parent.name == "cells":
                info = json.loads(table.schema.metadata[b"pcnsim.cell"])
                assert experiment.cell_name(info["point"], info["replication"]) == path.stem
        elif path.name == "manifest.json":
            json.loads(path.read_text())
        elif path.name == "scenario.yaml":
            assert load_scenario(path).name == "fault-sweep"
        else:
            assert path.suffix == ".csv" and pd.read_csv(path).shape[0] > 0, path


def assert_same_results(a: Path, b: Path) -> None:
    """The final files of two runs are equal, frame by frame and byte by byte."""
    for name in FINAL_FILES:
        read = pd.read_parquet if name.endswith(".parquet") else pd.read_csv
        pd.testing.assert_frame_equal(read(a / name), read(b / name), check_exact=True)
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


#: Manifest entries that record when and how a session ran, not what it computed.
SESSION_KEYS = ("started", "finished", "wall_seconds", "sessions", "command")


def comparable_manifest(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in SESSION_KEYS:
        manifest.pop(key)
    manifest["cells"].pop("cpu_seconds")
    return manifest


@pytest.fixture(scope="module")
def short_sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("scenario") / "sweep.yaml", horizon_weeks=10)


@pytest.fixture(scope="module")
def reference(short_sweep, tmp_path_factory) -> Path:
    """The uninterrupted run that every stopped-and-resumed run must reproduce."""
    out = tmp_path_factory.mktemp("ref") / "run"
    experiment.run(short_sweep, jobs=1, out=out, quiet=True)
    return out


# --------------------------------------------------------------------------- signals
@pytest.mark.integration
@pytest.mark.slow
def test_sigkill_leaves_only_whole_files_and_resume_equals_an_uninterrupted_run(tmp_path):
    file = write_sweep(tmp_path / "sweep.yaml", horizon_weeks=30)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    uninterrupted = subprocess.Popen(run_command(file, whole), cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
    proc = subprocess.Popen(run_command(file, killed, gate=tmp_path / "gate"), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for_a_cell(killed, proc)   # the next cell is held at the gate (never opened)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=120) == -signal.SIGKILL

    # (a) killed mid-run: whole cells, a manifest that does not claim completion, no final files
    kept = finished_cells(killed)
    assert kept == ["p00000-r0000"]
    assert_nothing_half_written(killed, allow_temporary=True)
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"
    assert not any((killed / name).exists() for name in FINAL_FILES)

    # (b) resume finishes, redoing none of the kept cells, and equals the uninterrupted run
    resumed = subprocess.run(run_command(file, killed, "--resume"), cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert uninterrupted.wait(timeout=120) == 0, uninterrupted.stderr.read()
    assert_nothing_half_written(killed)
    assert_same_results(whole, killed)
    assert comparable_manifest(killed) == comparable_manifest(whole)
    sessions = json.loads((killed / "manifest.json").read_text())["sessions"]
    assert [s["cells_done_before"] for s in sessions] == [0, len(kept)]


@pytest.mark.integration
def test_ctrl_c_keeps_finished_cells_and_says_how_to_resume(tmp_path):
    file = write_sweep(tmp_path / "sweep.yaml", horizon_weeks=30)
    out = tmp_path / "run"
    # A test runner started in the background (`.ci/run &`) ignores SIGINT, and a child inherits
    # that; restore the default so that the run gets its KeyboardInterrupt as from a terminal.
    # The first cell is kept, the next held at a gate (never opened): Ctrl-C comes while a cell runs.
    proc = subprocess.Popen(run_command(file, out, gate=tmp_path / "gate"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_a_cell(out, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"pcnsim run --out {out} --resume" in err and "Traceback" not in err, err
    assert finished_cells(out) == ["p00000-r0000"]
    assert_nothing_half_written(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished_cells"] == finished_cells(out)   # the manifest lists what is kept
    assert manifest["cells"] == {"total": 12, "finished": len(finished_cells(out)), "failed": 0}


# --------------------------------------------------------------------------- a full or read-only disk
def disk_full_after(monkeypatch, writes_allowed: int) -> list[str]:
    """From the (writes_allowed + 1)-th rename into place on, every write fails with ENOSPC.

    The temporary file is complete by then, so the test checks that the writer removes it.
    Returns the names written so far (the list grows as the run goes)."""
    real_replace = os.replace
    written: list[str] = []

    def replace(src, dst, *args, **kwargs):
        if len(written) >= writes_allowed:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src))
        real_replace(src, dst, *args, **kwargs)
        written.append(Path(dst).name)

    monkeypatch.setattr(os, "replace", replace)
    return written


# writes of a 12-cell run (a grid sweep): scenario.yaml, manifest.json, 12 cells, weekly.parquet,
# results.parquet, results.csv, summary.csv, differences.csv, manifest.json
@pytest.mark.integration
@pytest.mark.parametrize(("writes_allowed", "failing"), [
    (0, "scenario.yaml"), (1, "manifest.json"), (5, "cells/p00001-r0001.parquet"),
    (14, "weekly.parquet"), (17, "summary.csv"), (18, "differences.csv"), (19, "manifest.json")])
def test_a_disk_that_fills_stops_the_run_keeps_whole_cells_and_resume_finishes_it(
        short_sweep, reference, tmp_path, monkeypatch, writes_allowed, failing):
    out = tmp_path / "run"
    written = disk_full_after(monkeypatch, writes_allowed)
    with pytest.raises(RunFolderError) as caught:
        experiment.run(short_sweep, jobs=1, out=out, quiet=True)
    message = str(caught.value)
    assert f"'{out}'" in message and f"(writing {failing})" in message and "No space left on device" in message
    monkeypatch.undo()  # room made on the disk

    if writes_allowed < 2:  # stopped before the first manifest: nothing kept, the same command runs again
        assert "Nothing was kept" in message and not out.exists()
        experiment.run(short_sweep, jobs=1, out=out, quiet=True)
    else:
        assert f"pcnsim run --out {out} --resume" in message
        assert_nothing_half_written(out)
        assert finished_cells(out) == sorted(n[:-8] for n in written if n.startswith("p"))
        assert json.loads((out / "manifest.json").read_text())["status"] == "running"  # never "complete"
        experiment.run(short_sweep, jobs=1, out=out, quiet=True, resume=True)
    assert_nothing_half_written(out)
    assert_same_results(reference, out)
    assert comparable_manifest(out) == comparable_manifest(reference)


@pytest.mark.integration
def test_cli_full_disk_while_writing_a_cell_is_one_paragraph_with_exit_status_2(short_sweep, tmp_path,
                                                                                monkeypatch):
    """pyarrow fails half way through a cell: the half file goes, the manifest records the stop."""
    real_write = pq.write_table
    calls = []

    def write_table(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) == 4:
            Path(where).write_bytes(b"PAR1" + bytes(100))  # half a parquet file, then the disk is full
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")
        return real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", write_table)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(short_sweep), "--jobs", "1", "--quiet", "--no-report",
                                    "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1  # one paragraph
    assert f"'{out}'" in res.output and "No space left on device" in res.output
    assert "Error writing bytes" not in res.output  # the system's reason, not pyarrow's wording
    assert_nothing_half_written(out)
    assert finished_cells(out) == ["p00000-r0000", "p00000-r0001", "p00001-r0000"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and "No space left on device" in manifest["error"]


@pytest.mark.integration
def test_cli_read_only_run_folder_refuses_resume_and_changes_nothing(short_sweep, reference, tmp_path,
                                                                     monkeypatch):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    (out / "cells" / "p00002-r0001.parquet").unlink()  # something left to do
    before = snapshot(out)

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "write_text", read_only)
    monkeypatch.setattr(Path, "write_bytes", read_only)
    monkeypatch.setattr(pq, "write_table", lambda table, where, *a, **k: read_only(Path(where)))
    res = CliRunner().invoke(main, ["run", str(short_sweep), "--jobs", "1", "--quiet", "--no-report",
                                    "--out", str(out), "--resume"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.output.count("\n") == 1
    assert f"'{out}'" in res.output and "Read-only file system" in res.output
    assert snapshot(out) == before


@pytest.mark.integration
def test_cli_read_only_place_for_a_new_run_folder(short_sweep, tmp_path, monkeypatch):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.is_relative_to(tmp_path / "mnt"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    out = tmp_path / "mnt" / "run"
    res = CliRunner().invoke(main, ["run", str(short_sweep), "--jobs", "1", "--quiet", "--no-report",
                                    "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.output.count("\n") == 1
    assert f"'{out}'" in res.output and "Read-only file system" in res.output
    assert not (tmp_path / "mnt").exists()


@pytest.mark.integration
def test_cli_out_inside_a_regular_file(short_sweep, tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    out = blocker / "run"
    res = CliRunner().invoke(main, ["run", str(short_sweep), "--jobs", "1", "--quiet", "--no-report",
                                    "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.output.count("\n") == 1
    assert f"'{out}'" in res.output and "Not a directory" in res.output
    assert blocker.read_text() == "not a folder"


@pytest.mark.integration
def test_cli_any_other_system_refusal_is_one_paragraph_too(short_sweep, tmp_path, monkeypatch):
    def no_more_files(jobs, **options):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(experiment.executors, "LocalPool", no_more_files)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(short_sweep), "--jobs", "2", "--quiet", "--no-report",
                                    "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.output.count("\n") == 1
    assert "Too many open files" in res.output and f"--out {out} --resume" in res.output
