"""What the command line imports before it does anything (issue 18, start-up).

`pcnsim --help`, a verb's `--help`, `validate` and `params` must not load the heavy libraries
(pandas, scipy, matplotlib, seaborn, pyarrow, simpy, numba, or the model); `pcnsim run` must
reach its first cell without pandas, pyarrow, scipy.stats or the plotting libraries, and a
worker process must unpickle `run_cell` without them. Each check runs in a fresh interpreter,
since this test session has imported everything already. Behaviour only: the times are in
benchmarks/bench.py (section `startup`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Never needed to print help, check a scenario file or list parameters.
HEAVY = ("pandas", "scipy", "matplotlib", "seaborn", "pyarrow", "simpy", "numba", "openpyxl", "SALib",
         "dask", "distributed", "tqdm", "pcnsim.model", "pcnsim.report", "pcnsim.experiment",
         "pcnsim.analysis")
#: Loaded after the cells (combining them, the report), never before the first one.
AFTER_CELLS = ("pandas", "pyarrow", "scipy.stats", "matplotlib", "seaborn", "openpyxl", "SALib", "dask",
               "distributed", "pcnsim.report")


def _fresh(code: str, *args: str) -> dict:
    """Run `code` in a new interpreter (repository first on the path); it prints one JSON value."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


_CLI = """
    import json, sys
    from click.testing import CliRunner
    from pcnsim.cli import main
    heavy = json.loads(sys.argv[1])
    result = CliRunner().invoke(main, sys.argv[2:])
    print(json.dumps({"exit": result.exit_code, "output": result.output[-2000:],
                      "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


@pytest.mark.integration
@pytest.mark.parametrize("args", [
    ["--help"], ["--version"], ["run", "--help"], ["validate", "--help"], ["params", "--help"],
    ["report", "--help"], ["compare", "--help"], ["verify", "--help"], ["app", "--help"], ["calibrate", "--help"],
    ["validate", "baseline"], ["params"], ["params", "baseline", "--format", "csv"],
])
def test_help_validate_and_params_load_no_heavy_library(args):
    got = _fresh(_CLI, json.dumps(HEAVY), *args)
    assert got["exit"] == 0, got["output"]
    assert got["loaded"] == [], f"pcnsim {' '.join(args)} imported {got['loaded']}"


@pytest.mark.integration
def test_a_worker_unpickles_run_cell_without_pandas_pyarrow_or_scipy():
    """What a spawned worker imports to receive its first cell: `run_cell` and a Scenario."""
    got = _fresh("""
        import json, pickle, sys
        from pcnsim.config import Scenario
        from pcnsim.experiment.cells import run_cell
        pickle.loads(pickle.dumps((0, 0, Scenario(), run_cell)))
        print(json.dumps(sorted(m for m in ("pandas", "pyarrow", "scipy", "matplotlib", "seaborn")
                                if m in sys.modules)))
    """)
    assert got == []


@pytest.mark.integration
def test_run_reaches_its_first_cell_before_loading_pandas_or_the_report(tmp_path):
    """`pcnsim run` through the command line; the model's entry point notes what is loaded
    when the first cell starts, then simulates as usual."""
    got = _fresh("""
        import json, sys
        from click.testing import CliRunner
        import pcnsim.model as model   # the cell's `simulate` (cells._default_simulate looks it up here)
        from pcnsim.cli import main
        watch, seen = json.loads(sys.argv[1]), []
        real = model.simulate

        def noting(scenario, replication=0):
            if not seen:
                seen.append(sorted(m for m in watch if m in sys.modules))
            return real(scenario, replication)

        model.simulate = noting
        result = CliRunner().invoke(main, ["run", "baseline", "--replications", "1", "--jobs", "1", "--quiet",
                                           "--no-report", "--set", "run.horizon_weeks=3",
                                           "--set", "run.warmup_weeks=1", "--out", sys.argv[2]])
        print(json.dumps({"exit": result.exit_code, "output": result.output[-2000:],
                          "at_first_cell": seen[0] if seen else None,
                          "at_end": sorted(m for m in watch if m in sys.modules)}))
    """, json.dumps(AFTER_CELLS), str(tmp_path / "run"))
    assert got["exit"] == 0, got["output"]
    assert got["at_first_cell"] == [], f"loaded before the first cell: {got['at_first_cell']}"
    assert "pandas" in got["at_end"]   # the probe saw the run go on to combine its cells


@pytest.mark.integration
def test_the_model_package_loads_a_name_when_it_is_first_used():
    got = _fresh("""
        import json, sys
        import pcnsim.model as model
        bare = sorted(m for m in ("simpy", "numba", "pcnsim.model.simulation") if m in sys.modules)
        scheme = model.STREAM_SCHEME                      # the manifest's constants: streams.py alone
        after_constants = sorted(m for m in ("simpy", "numba", "pcnsim.model.simulation") if m in sys.modules)
        names = {n: getattr(model, n) is getattr(sys.modules[f"pcnsim.model.{model._WHERE[n]}"], n)
                 for n in model.__all__}
        try:
            model.no_such_name
            missing = "no error"
        except AttributeError as err:
            missing = str(err)
        print(json.dumps({"bare": bare, "after_constants": after_constants, "names": names,
                          "missing": missing, "dir": set(model.__all__) <= set(dir(model))}))
    """)
    assert got["bare"] == [] and got["after_constants"] == []
    assert all(got["names"].values()) and got["dir"]
    assert "no_such_name" in got["missing"]


@pytest.mark.integration
def test_a_run_with_worker_processes_never_loads_the_model_in_its_main_process(tmp_path):
    """The workers simulate; the main process plans, writes the manifest and combines (once the day is
    in numba's cache: on a machine's first run the main process compiles it for the workers)."""
    import pcnsim.model.daybook  # noqa: F401  (compiles the day into the cache if it is not there yet)
    got = _fresh("""
        import json, sys
        from click.testing import CliRunner
        from pcnsim.cli import main
        result = CliRunner().invoke(main, ["run", "baseline", "--replications", "2", "--jobs", "2", "--quiet",
                                           "--no-report", "--set", "run.horizon_weeks=3",
                                           "--set", "run.warmup_weeks=1", "--out", sys.argv[1]])
        print(json.dumps({"exit": result.exit_code, "output": result.output[-2000:],
                          "loaded": sorted(m for m in ("pcnsim.model.simulation", "simpy", "numba")
                                           if m in sys.modules)}))
    """, str(tmp_path / "run"))
    assert got["exit"] == 0, got["output"]
    assert got["loaded"] == []
    assert len(list((tmp_path / "run" / "cells").glob("*.parquet"))) == 2


# --------------------------------------------------------------------------- the exit
_EXIT = """
    import atexit, gc, sys, threading, time
    from pcnsim.cli import main
    atexit.register(lambda: print("atexit ran", gc.get_threshold()))   # stdout is a pipe: this waits in its buffer
    if sys.argv[1] == "thread":   # a thread still at work when the command ends
        threading.Thread(target=lambda: (time.sleep(0.3), print("thread done", flush=True))).start()
    sys.argv = ["pcnsim", *sys.argv[2:]]
    main()
"""


def _command(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONUNBUFFERED", None)   # stdout buffered, as a user's pipe is
    return subprocess.run([sys.executable, "-c", textwrap.dedent(_EXIT), *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


@pytest.mark.integration
def test_the_command_line_exits_with_its_status_its_output_and_its_atexit_handlers():
    """From the command line `main` ends through `exit_now`: the status, every line written
    (piped, so block-buffered) and the atexit handlers are kept."""
    import gc

    from click.testing import CliRunner

    from pcnsim.cli import GC_THRESHOLD, main

    before = gc.get_threshold()
    done = _command("-", "params", "baseline", "--format", "csv")
    assert done.returncode == 0, done.stderr
    expected = CliRunner().invoke(main, ["params", "baseline", "--format", "csv"]).output
    assert gc.get_threshold() == before   # called by code: this process's collector untouched
    ran = f"atexit ran {GC_THRESHOLD}\n"   # the command line's collector thresholds
    assert done.stdout == expected + ran
    bad = _command("-", "validate", "no-such-scenario")
    assert bad.returncode == 2 and "does not exist" in bad.stderr and bad.stdout == ran


@pytest.mark.integration
def test_the_command_line_waits_for_a_thread_still_at_work():
    from pcnsim.cli import GC_THRESHOLD

    done = _command("thread", "--version")
    assert done.returncode == 0, done.stderr
    assert "thread done" in done.stdout and done.stdout.endswith(f"atexit ran {GC_THRESHOLD}\n")


@pytest.mark.integration
def test_the_command_line_under_cprofile_leaves_its_profile(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(tmp_path / "p.prof"), "-m", "pcnsim",
                           "--version"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "p.prof").stat().st_size > 0


@pytest.mark.unit
def test_exit_now_reports_a_message_as_python_does(capfd, monkeypatch):
    import pcnsim.cli as cli

    ended = []
    monkeypatch.setattr(cli.os, "_exit", ended.append)
    monkeypatch.setattr(cli.atexit, "_run_exitfuncs", lambda: ended.append("atexit"))
    cli.exit_now("it went wrong")
    cli.exit_now(None)
    cli.exit_now(130)
    assert ended == ["atexit", 1, "atexit", 0, "atexit", 130]
    assert "it went wrong" in capfd.readouterr().err
