"""Fault suite II (issue #17): state that cannot be mixed, every input checked, no orphans.

Each test reproduces one case of the issue and checks the refusal (exit status, one paragraph,
no traceback) and what is left on disk. The dask cluster cases are in test_faults_cluster.py.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pcnsim import experiment
from pcnsim.cli import main
from pcnsim.config import MAX_SWEEP_POINTS
from pcnsim.experiment import cells as cells_module
from pcnsim.experiment.executors import InProcess, LocalPool, available_cores, make_executor
from tests.test_faults import (assert_nothing_half_written, assert_same_results, finished_cells, run_command,
                               write_sweep)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("scenario") / "sweep.yaml", horizon_weeks=10)


@pytest.fixture(scope="module")
def reference(sweep, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    experiment.run(sweep, jobs=1, out=out, quiet=True)
    return out


def one_paragraph(res) -> None:
    assert "Traceback" not in res.output and res.output.startswith("Error: "), res.output
    assert res.output.count("\n") == 1, res.output


# --------------------------------------------------------------------------- state that cannot be mixed
@pytest.mark.integration
def test_a_cell_from_other_model_code_stops_the_run_and_is_not_kept(sweep, reference, tmp_path, monkeypatch):
    real = cells_module.worker_fingerprint
    calls = []

    def fingerprint() -> str:   # the fifth cell comes from a worker with a patched model
        calls.append(1)
        return "0" * 64 if len(calls) == 5 else real()

    monkeypatch.setattr(cells_module, "worker_fingerprint", fingerprint)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(sweep), "--jobs", "1", "--quiet", "--no-report", "--out", str(out)])
    assert res.exit_code == 2, res.output
    one_paragraph(res)
    assert "p00002-r0000" in res.output and "other model code" in res.output
    assert finished_cells(out) == ["p00000-r0000", "p00000-r0001", "p00001-r0000", "p00001-r0001"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and "other model code" in manifest["error"]
    monkeypatch.undo()
    experiment.run(sweep, jobs=1, out=out, quiet=True, resume=True)   # the same model: finishes
    assert_same_results(reference, out)


@pytest.mark.integration
def test_resume_refuses_a_folder_without_fingerprint_unless_told(sweep, reference, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["model_fingerprint"]
    manifest["status"] = "running"
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "cells" / "p00003-r0001.parquet").unlink()
    args = ["run", str(sweep), "--jobs", "1", "--quiet", "--no-report", "--out", str(out), "--resume"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    one_paragraph(res)
    assert "no model fingerprint" in res.output and "--allow-unverified-model" in res.output
    assert not (out / "cells" / "p00003-r0001.parquet").exists()
    res = CliRunner().invoke(main, [*args, "--allow-unverified-model"])
    assert res.exit_code == 0, res.output
    assert_same_results(reference, out)


@pytest.mark.integration
def test_empty_corrupt_or_misplaced_cells_are_redone_on_resume(sweep, reference, tmp_path, caplog):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    for name in ("results.parquet", "results.csv", "summary.csv", "weekly.parquet"):
        (out / name).unlink()
    cells = out / "cells"
    (cells / "p00000-r0000.parquet").write_bytes(b"")                      # a power cut
    (cells / "p00001-r0001.parquet").write_bytes(b"PAR1" + os.urandom(300))  # half written
    shutil.copy(cells / "p00005-r0000.parquet", cells / "p00004-r0000.parquet")  # the wrong cell
    res = CliRunner().invoke(main, ["run", "--quiet", "--no-report", "--jobs", "1", "--out", str(out), "--resume"])
    assert res.exit_code == 0, res.output
    assert "3 cell file(s)" in res.output and "p00000-r0000.parquet (empty)" in res.output
    assert_nothing_half_written(out)
    assert_same_results(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"][-1]["cells_done_before"] == 9 and manifest["status"] == "complete"


# --------------------------------------------------------------------------- inputs checked
@pytest.mark.integration
def test_a_sweep_over_the_maximum_is_refused_at_validation_with_its_count(tmp_path):
    values = ", ".join(str(v) for v in range(1000))
    file = tmp_path / "huge.yaml"
    file.write_text("extends: baseline\nname: huge\nsweep:\n  grid:\n"
                    f"    funding.arrs_per_patient: [{values}]\n    pcn.patients: [{values}]\n"
                    f"    pcn.practices: [{', '.join(str(v) for v in range(1, 1001))}]\n")
    start = time.monotonic()
    for verb in ("validate", "run"):
        res = CliRunner().invoke(main, [verb, str(file), "--out", str(tmp_path / "out")] if verb == "run"
                                 else [verb, str(file)])
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and "MemoryError" not in res.output
        assert "1,000 x 1,000 x 1,000 = 1,000,000,000 points" in res.output
        assert f"maximum of {MAX_SWEEP_POINTS:,}" in res.output
    assert time.monotonic() - start < 20
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_jobs_beyond_the_cores_are_capped_and_said(caplog):
    caplog.set_level("INFO", logger="pcnsim.experiment")
    with make_executor(1000, None, cells=10_000) as pool:
        cores = available_cores()
        assert isinstance(pool, InProcess if cores == 1 else LocalPool) and pool.jobs == cores
        assert f"--jobs 1000: this machine has {cores} cores" in caplog.text


@pytest.mark.integration
def test_an_unknown_target_metric_is_refused_with_a_suggestion(sweep, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(sweep), "--jobs", "1", "--quiet", "--no-report", "--out", str(out),
                                    "--target-halfwidth", "appointment_per_year=0.0001"])
    assert res.exit_code == 2, res.output
    one_paragraph(res)
    assert "'appointment_per_year' is not a pcnsim metric" in res.output
    assert "did you mean appointments_per_year" in res.output
    assert not out.exists()


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["wrong columns", "text values", "all NaN"])
def test_damaged_result_files_are_refused_by_report_and_compare(reference, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(reference, run, ignore=shutil.ignore_patterns("cells"))
    results = pd.read_parquet(run / "results.parquet")
    summary = pd.read_csv(run / "summary.csv")
    if damage == "wrong columns":
        results = results.rename(columns={"value": "val"})
        summary = summary.rename(columns={"mean": "average"})
    elif damage == "text values":
        results["value"] = "n/a"
        summary["mean"] = "n/a"
    else:
        results["value"] = float("nan")
        summary[["mean", "ci_low", "ci_high"]] = float("nan")
    results.to_parquet(run / "results.parquet", index=False)
    summary.to_csv(run / "summary.csv", index=False)
    for args in (["report", str(run)], ["compare", str(reference), str(run), "--out", str(tmp_path / "cmp")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        one_paragraph(res)
        assert str(run) in res.output
    assert not (tmp_path / "cmp").exists()
    assert not (run / "report.html").exists()


@pytest.mark.integration
def test_run_folder_files_follow_the_umask(sweep, tmp_path):
    old = os.umask(0o027)
    try:
        out = tmp_path / "run"
        experiment.run(sweep, jobs=1, out=out, quiet=True)
    finally:
        os.umask(old)
    modes = {p.relative_to(out).as_posix(): p.stat().st_mode & 0o777 for p in out.rglob("*")}
    assert modes and all(m == (0o750 if (out / p).is_dir() else 0o640) for p, m in modes.items()), modes


# --------------------------------------------------------------------------- processes
def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def still_alive_after(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def start_parallel_run(tmp_path: Path) -> tuple[subprocess.Popen, Path, list[int]]:
    file = write_sweep(tmp_path / "sweep.yaml", horizon_weeks=30)
    out = tmp_path / "run"
    cmd = [c for c in run_command(file, out) if c not in ("--jobs", "1")] + ["--jobs", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not finished_cells(out):
        assert proc.poll() is None and time.monotonic() < deadline, "no cell within 60 s"
        time.sleep(0.01)
    workers = children_of(proc.pid)
    assert len(workers) >= 2, workers
    return proc, out, workers


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc").is_dir() or available_cores() < 2, reason="needs /proc and 2 cores")
def test_sigterm_stops_like_ctrl_c_and_the_workers_end(tmp_path):
    proc, out, workers = start_parallel_run(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert f"pcnsim run --out {out} --resume" in err and "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished_cells"] == finished_cells(out) and manifest["cells"]["finished"] == len(finished_cells(out))
    assert still_alive_after(workers, 5) == []


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc").is_dir() or available_cores() < 2, reason="needs /proc and 2 cores")
def test_workers_do_not_outlive_a_parent_killed_by_sigkill(tmp_path):
    proc, out, workers = start_parallel_run(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert still_alive_after(workers, 5) == []


@pytest.mark.integration
def test_a_script_without_the_main_guard_is_told_and_leaves_no_folder(tmp_path):
    script = tmp_path / "example.py"
    script.write_text("import pcnsim\n"
                      "scenario = pcnsim.load_scenario('baseline', overrides={'run.horizon_weeks': 4, "
                      "'run.warmup_weeks': 1})\n"
                      "pcnsim.run(scenario, replications=2, jobs=2, quiet=True)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 1
    assert 'if __name__ == "__main__":' in res.stderr and "could not start" in res.stderr
    assert "died (out of memory" not in res.stderr
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").iterdir())


@pytest.mark.integration
def test_the_readme_python_example_runs_as_a_script(tmp_path):
    text = (ROOT / "README.md").read_text()
    code = text.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert 'if __name__ == "__main__":' in code and "out=" in code
    code = code.replace('pcnsim.load_scenario("baseline", overrides={',
                        'pcnsim.load_scenario("baseline", overrides={"run.horizon_weeks": 4, '
                        '"run.warmup_weeks": 1, ')
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 0, res.stderr
    assert "appointments_per_year" in res.stdout
    assert (tmp_path / "outputs" / "arrs-30" / "manifest.json").exists()


@pytest.mark.parametrize(("value", "expected"), [
    ("1e18", "expected a number at most"),           # out of range, not "not a whole number"
    ("1e4", None),                                   # a whole number in range: accepted
])
@pytest.mark.unit
def test_numbers_in_exponent_notation_are_checked_for_range(value, expected):
    res = CliRunner().invoke(main, ["validate", "baseline", "--set", f"run.replications={value}"])
    if expected is None:
        assert res.exit_code == 0, res.output
    else:
        assert res.exit_code == 2 and expected in res.output and "whole number" not in res.output, res.output


@pytest.mark.unit
def test_a_name_with_accented_letters_is_refused_in_words_that_say_why():
    res = CliRunner().invoke(main, ["validate", "baseline", "--set", "name=Ünïcode"])
    assert res.exit_code == 2
    assert "plain letters (A-Z, a-z)" in res.output and "accents" in res.output
