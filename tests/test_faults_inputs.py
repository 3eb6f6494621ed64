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
#: The CLI, the model or other processes, nearly everywhere here (the few unit tests say so too).
pytestmark = pytest.mark.integration


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


def descendants_of(pid: int) -> list[int]:
    """Children, grandchildren...: on Linux the workers are the children of the run's fork server."""
    found, frontier = [], [pid]
    while frontier:
        children = children_of(frontier.pop())
        found += children
        frontier += children
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
    workers = descendants_of(proc.pid)
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


# =========================================================================== Reliability III (issue 29)
def _refused_at_once(args: list[str], nothing_at: Path | None = None, seconds: float = 10):
    """Run the CLI in process: exit status 2, one paragraph without a traceback, within `seconds`,
    and nothing written at `nothing_at`. Returns the result."""
    start = time.monotonic()
    res = CliRunner().invoke(main, args)
    assert time.monotonic() - start < seconds, f"took {time.monotonic() - start:.1f} s"
    assert res.exit_code == 2, res.output
    one_paragraph(res)
    if nothing_at is not None:
        assert not nothing_at.exists(), sorted(nothing_at.rglob("*"))
    return res


def _diamond(folder: Path, levels: int) -> Path:
    """An `extends` diamond: each level's file extends both files of the level below."""
    folder.mkdir()
    (folder / f"l{levels}a.yaml").write_text("extends: baseline\n")
    (folder / f"l{levels}b.yaml").write_text("extends: baseline\n")
    for level in range(levels - 1, 0, -1):
        for side in "ab":
            (folder / f"l{level}{side}.yaml").write_text(f"extends: [l{level + 1}a.yaml, l{level + 1}b.yaml]\n")
    top = folder / "top.yaml"
    top.write_text("extends: [l1a.yaml, l1b.yaml]\nname: diamond\n")
    return top


_BOMB = ("[&a [1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], "
         "&d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], "
         "&g [*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g], &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]]")

#: Hostile inputs of the command line: (id, what to write, the CLI arguments after `run FILE`, words expected).
_HOSTILE_SET = [
    ("digits in --set", ["--set", "pcn.practices=" + "1" * 5000], "5,000 digits"),
    ("--set nested 3,000 deep", ["--set", "pcn=" + "[" * 3000 + "]" * 3000], "nested"),
    ("--set containing itself", ["--set", "pcn=&a [*a]"], "nested"),
    ("--set alias bomb (9^9)", ["--set", "pcn.list_sizes=" + _BOMB], "100,000 values"),
    ("relative overflow", ["--set", "pcn.practices=*1e308"], "too large"),
    ("huge exponent", ["--set", "pcn.practices=1e5000"], "pcn.practices"),
    ("--max-replications 1e9", ["--max-replications", "1e9", "--target-halfwidth",
                                "appointments_per_year=0.000001"], "from 1 to 100,000"),
    ("--max-replications 10^9", ["--max-replications", "1000000000", "--target-halfwidth",
                                 "appointments_per_year=0.000001"], "100,000"),
    ("--replications 1e9", ["--replications", "1e9"], "100,000"),
    ("--seed of 5,000 digits", ["--seed", "9" * 5000], "at most 100 digits"),
    ("a name of one dot", ["--set", "name=."], "dots only"),
    ("a name of two dots", ["--set", "name=.."], "dots only"),
]


@pytest.mark.parametrize(("extra", "words"), [c[1:] for c in _HOSTILE_SET], ids=[c[0] for c in _HOSTILE_SET])
def test_hostile_options_are_refused_at_once_and_write_nothing(sweep, tmp_path, extra, words):
    out = tmp_path / "out"
    res = _refused_at_once(["run", str(sweep), "--jobs", "1", "--quiet", "--out", str(out), *extra], out)
    assert words in res.output, res.output
    assert "1" * 200 not in res.output and "9" * 200 not in res.output   # the value is not echoed whole


def _special(tmp_path: Path, kind: str) -> str:
    if kind == "fifo":
        fifo = tmp_path / "pipe.yaml"
        os.mkfifo(fifo)
        return str(fifo)
    return {"kmsg": "/proc/kmsg", "device": "/dev/zero", "passwd": "/etc/passwd"}[kind]


_HOSTILE_FILES = [
    ("a 5,000-digit integer", lambda t: "extends: baseline\npcn: {practices: " + "7" * 5000 + "}\n", "5,000 digits"),
    ("extends /proc/kmsg", lambda t: f"extends: {_special(t, 'kmsg')}\n", "kmsg"),
    ("extends a FIFO", lambda t: f"extends: {_special(t, 'fifo')}\n", "not a regular file"),
    ("extends a device", lambda t: f"extends: {_special(t, 'device')}\n", "not a regular file"),
    ("extends /etc/passwd", lambda t: f"extends: {_special(t, 'passwd')}\n", "not a scenario file"),
    ("extends another program's YAML", lambda t: (t / "sshd.conf").write_text("PermitRootLogin: 'secret-7'\n")
     and f"extends: {t / 'sshd.conf'}\n", "not a scenario file"),
    ("a description that is a mapping", lambda t: "extends: baseline\ndescription: {a: 1}\n", "hostile.yaml"),
    ("a name of dots", lambda t: "extends: baseline\nname: '..'\n", "dots only"),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in _HOSTILE_FILES], ids=[c[0] for c in _HOSTILE_FILES])
def test_hostile_files_are_refused_at_once_and_write_nothing(tmp_path, text, words):
    if "kmsg" in words and not Path("/proc/kmsg").exists():
        pytest.skip("no /proc/kmsg")
    if sys.platform == "win32":
        pytest.skip("FIFOs and /dev are Unix")
    file = tmp_path / "hostile.yaml"
    content = text(tmp_path)
    file.write_text(content)
    out = tmp_path / "out"
    for args in (["validate", str(file)], ["run", str(file), "--jobs", "1", "--quiet", "--out", str(out)]):
        res = _refused_at_once(args, out)
        assert words in res.output, res.output
        assert "root:" not in res.output and "/bin/" not in res.output and "secret" not in res.output  # no content
    if "description" in content:
        assert "baseline.yaml" not in res.output


def test_an_extends_diamond_is_refused_in_a_moment(tmp_path):
    top = _diamond(tmp_path / "d", 12)
    res = _refused_at_once(["validate", str(top)], seconds=3)
    assert "reach more than 1,000 files" in res.output
    small = _diamond(tmp_path / "small", 6)   # 64 paths: fine, each file read once
    assert CliRunner().invoke(main, ["validate", str(small)]).exit_code == 0


def test_resume_of_a_manifest_that_is_a_list_is_refused(reference, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    (out / "manifest.json").write_text("[]")
    before = sorted(p.name for p in out.rglob("*"))
    res = _refused_at_once(["run", "--out", str(out), "--resume", "--jobs", "1", "--quiet"])
    assert "manifest.json" in res.output
    res = _refused_at_once(["run", str(reference / "scenario.yaml"), "--out", str(out), "--resume", "--jobs", "1",
                            "--quiet"])
    assert "JSON object" in res.output
    assert sorted(p.name for p in out.rglob("*")) == before


def test_an_out_folder_with_a_colon_is_a_local_folder(sweep, reference, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["run", str(sweep), "--jobs", "1", "--quiet", "--no-report", "--out", "t12:30"])
    assert res.exit_code == 0, res.output
    assert_same_results(reference, tmp_path / "t12:30")
    res = CliRunner().invoke(main, ["compare", "t12:30", str(reference), "--out", "c12:30"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("errno_", ["ENOSPC", "EROFS"])
def test_report_and_compare_on_a_refusing_disk_say_so_and_leave_nothing(reference, tmp_path, monkeypatch, errno_):
    import errno

    run = tmp_path / "run"
    shutil.copytree(reference, run)
    code = getattr(errno, errno_)

    def refuse(src, dst):
        raise OSError(code, os.strerror(code), str(src))

    monkeypatch.setattr(os, "replace", refuse)
    res = CliRunner().invoke(main, ["report", str(run)])
    assert res.exit_code == 2, res.output
    one_paragraph(res)
    assert os.strerror(code) in res.output and str(run) in res.output
    assert not (run / "report.html").exists()
    files = sorted(p.relative_to(run) for p in run.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(reference) for p in reference.rglob("*") if p.is_file())   # no new file
    cmp = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(reference), str(run), "--out", str(cmp)])
    assert res.exit_code == 2, res.output
    one_paragraph(res)
    assert os.strerror(code) in res.output
    assert not cmp.exists()


@pytest.mark.parametrize("verb", ["validate", "run", "report", "compare"])
def test_a_path_of_5000_characters_is_refused_in_one_paragraph(reference, tmp_path, verb):
    long = "x" * 5000
    args = {"validate": ["validate", long], "run": ["run", str(reference / "scenario.yaml"), "--out", long],
            "report": ["report", long], "compare": ["compare", str(reference), long]}[verb]
    res = _refused_at_once(args)
    assert "x" * 200 not in res.output


def test_compare_of_a_point_of_5000_digits_is_refused(reference, tmp_path):
    res = _refused_at_once(["compare", str(reference), f"{reference}:{'1' * 5000}", "--out", str(tmp_path / "c")],
                           tmp_path / "c")
    assert "characters" in res.output


def test_compare_of_equal_runs_says_there_is_no_difference(reference, tmp_path):
    res = CliRunner().invoke(main, ["compare", str(reference), str(reference), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert "No difference in any metric" in res.output
    assert "None of the headline metrics" not in res.output and "Set by the scenarios" not in res.output
    page = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "No difference in any metric" in page and "set by the scenarios" not in page


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("pcn.practices", "1000", "from 1 to 15"),
    ("pcn.practices", "1" * 5000, "5,000 digits"),
    ("pcn.practices", "2.5", "whole number"),
    ("funding.arrs_per_patient", "[[[[]]]]", "number"),
    ("funding.arrs_per_patient", "nan", "number"),
    ("funding.backfill_meetings", "maybe", "true or false"),
    ("ics.representation", "everyone", "all, forum"),
    ("pcn.practices", "6", None),
    ("funding.backfill_meetings", "True", None),
])
def test_the_app_checks_query_parameters_as_the_cli_checks_set(key, text, expected):
    from pcnsim.app import logic
    from pcnsim.errors import ScenarioError

    lever = next(lv for lv in logic.LEVERS if lv.key == key)
    start = logic.lever_values(pcnsim_baseline())[key]
    if expected is None:
        logic.query_value(lever, text, start)
        return
    with pytest.raises(ScenarioError, match=expected) as err:
        logic.query_value(lever, text, start)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def pcnsim_baseline():
    from pcnsim.scenario import load_scenario

    return load_scenario("baseline")


@pytest.mark.integration
def test_the_app_shows_a_bad_query_parameter_without_a_traceback(app_outputs, monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from pcnsim.app import PAGE

    for name, value in (("OUTPUTS", str(app_outputs)), ("HORIZON_WEEKS", "20"), ("WARMUP_WEEKS", "2"),
                        ("REPLICATIONS", "2")):
        monkeypatch.setenv(f"PCNSIM_APP_{name}", value)
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.query_params["pcn.practices"] = "1000"
    at.run()
    assert not at.exception, at.exception
    assert any("pcn.practices" in w.value and "1 to 15" in w.value for w in at.warning)
    assert at.slider(key="lever:pcn.practices").value == 5


# --------------------------------------------------------------------------- one writer per run folder
def _other_scenario(sweep: Path, tmp_path: Path) -> Path:
    other = tmp_path / "other.yaml"
    other.write_text(sweep.read_text().replace("seed: 5", "seed: 6").replace("fault-sweep", "other-sweep"))
    return other


_LAUNCH = """
import os, sys, time
ready, go = sys.argv[1], sys.argv[2]
from pcnsim.cli import main                     # imported before the start line: both start at once
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
main(sys.argv[3:])
"""


@pytest.mark.integration
def test_two_runs_started_together_into_one_folder_never_both_succeed(sweep, tmp_path):
    other = _other_scenario(sweep, tmp_path)
    out = tmp_path / "shared"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = []
    for i, file in enumerate((sweep, other)):
        args = ["run", str(file), "--jobs", "1", "--quiet", "--no-report", "--out", str(out)]
        procs.append(subprocess.Popen([sys.executable, "-c", _LAUNCH, str(tmp_path / f"ready{i}"), str(go), *args],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):   # both loaded, waiting on the line
        assert all(p.poll() is None for p in procs) and time.monotonic() < deadline
        time.sleep(0.005)
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], (codes, results)
    winner = codes.index(0)
    err = results[1 - winner][1]
    assert "another pcnsim run holds it" in err and str(out) in err and "Traceback" not in err, err
    assert err.count("\n") == 1, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["name"] == ("fault-sweep", "other-sweep")[winner]
    stored = {json.loads(pq_metadata(p)[b"pcnsim.cell"])["scenario_fingerprint"] for p in (out / "cells").iterdir()}
    assert stored == {manifest["scenario_fingerprint"]}


def pq_metadata(path: Path) -> dict:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).metadata


@pytest.mark.integration
def test_a_folder_held_by_another_run_is_refused_new_or_resumed(sweep, reference, tmp_path):
    from pcnsim.experiment.folder import claim_folder

    out = tmp_path / "run"
    shutil.copytree(reference, out)
    empty = tmp_path / "empty"
    with claim_folder(out, True)[0], claim_folder(empty, False)[0]:   # as another process's run would
        before = sorted(p.name for p in out.rglob("*"))
        res = _refused_at_once(["run", "--out", str(out), "--resume", "--jobs", "1", "--quiet"])
        assert "another pcnsim run holds it" in res.output and str(out) in res.output
        res = _refused_at_once(["run", str(sweep), "--out", str(empty), "--jobs", "1", "--quiet"])
        assert "another pcnsim run holds it" in res.output
        assert sorted(p.name for p in out.rglob("*")) == before and not any(empty.iterdir())
    res = CliRunner().invoke(main, ["run", "--out", str(out), "--resume", "--jobs", "1", "--quiet", "--no-report"])
    assert res.exit_code == 0, res.output   # released: the lock ends with its holder


@pytest.mark.integration
def test_resume_refuses_a_cell_of_another_scenario(sweep, reference, tmp_path):
    foreign = tmp_path / "foreign"
    experiment.run(_other_scenario(sweep, tmp_path), jobs=1, out=foreign, quiet=True)
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["status"] = "running"
    (out / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(foreign / "cells" / "p00002-r0001.parquet", out / "cells" / "p00002-r0001.parquet")
    res = _refused_at_once(["run", "--out", str(out), "--resume", "--jobs", "1", "--quiet"])
    assert "p00002-r0001.parquet" in res.output and "another scenario" in res.output
    assert (out / "cells" / "p00002-r0001.parquet").read_bytes() == \
        (foreign / "cells" / "p00002-r0001.parquet").read_bytes()   # refused, not silently redone


# --------------------------------------------------------------------------- signals in every phase
def _popen(args: list[str], code: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    launch = code + "\nfrom pcnsim.cli import main\nmain(__import__('sys').argv[1:])\n"
    return subprocess.Popen([sys.executable, "-c", launch, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.integration
def test_sigterm_while_the_results_are_combined_leaves_a_resumable_interrupted_run(sweep, reference, tmp_path):
    out = tmp_path / "run"
    # the signal is sent by the process itself once the combining has begun (weekly.parquet written)
    patch = ("import os, signal\nimport pcnsim.experiment.combine as c\nreal = c._results_frame\n"
             "def frame(*a, **k):\n    os.kill(os.getpid(), signal.SIGTERM)\n    return real(*a, **k)\n"
             "c._results_frame = frame\n")
    proc = _popen(["run", str(sweep), "--jobs", "1", "--quiet", "--no-report", "--out", str(out)], patch)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert f"pcnsim run --out {out} --resume" in err and "Traceback" not in err, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["cells"]["finished"] == 12
    res = CliRunner().invoke(main, ["run", "--out", str(out), "--resume", "--jobs", "1", "--quiet", "--no-report"])
    assert res.exit_code == 0, res.output
    assert_same_results(reference, out)


@pytest.mark.integration
def test_sigterm_on_a_folder_of_scenarios_stops_like_one_run_and_resumes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write_sweep(src / "1-first.yaml", horizon_weeks=40)
    (src / "2-second.yaml").write_text((src / "1-first.yaml").read_text().replace("fault-sweep", "second"))
    args = ["run", str(src), "--jobs", "1", "--quiet", "--no-report"]
    pack = tmp_path / "pack"
    proc = _popen([*args, "--out", str(pack)])
    deadline = time.monotonic() + 90
    while not finished_cells(pack / "fault-sweep"):   # the first cell is written: cells are running
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert f"Finish the pack with: pcnsim run {src} --out {pack} --resume" in err and "Traceback" not in err, err
    assert "leaked" not in err
    manifest = json.loads((pack / "fault-sweep" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["finished_cells"] == finished_cells(pack / "fault-sweep")
    assert not (pack / "second").exists() or json.loads((pack / "second" / "manifest.json").read_text())["status"] \
        == "interrupted"
    res = CliRunner().invoke(main, [*args, "--out", str(pack), "--resume"])
    assert res.exit_code == 0, res.output
    ref = tmp_path / "ref"
    assert CliRunner().invoke(main, [*args, "--out", str(ref)]).exit_code == 0
    for name in ("fault-sweep", "second"):
        assert_same_results(ref / name, pack / name)


@pytest.mark.integration
def test_sigterm_while_the_run_is_planned_writes_nothing_and_says_so(sweep, tmp_path):
    out = tmp_path / "run"
    patch = ("import os, signal\nimport pcnsim.experiment.runner as r\nreal = r.plan_points\n"
             "def plan(*a, **k):\n    os.kill(os.getpid(), signal.SIGTERM)\n    return real(*a, **k)\n"
             "r.plan_points = plan\n")
    proc = _popen(["run", str(sweep), "--jobs", "1", "--quiet", "--no-report", "--out", str(out)], patch)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Interrupted before the run started: nothing was written." in err and "Traceback" not in err, err
    assert err.count("Interrupted") == 1 and not out.exists()
