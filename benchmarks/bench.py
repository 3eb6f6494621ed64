"""pcnsim benchmarks: model speed, SimPy engine ceiling, memory, and `--jobs` speed-up.

Run from the repository root (no pytest needed):

    python benchmarks/bench.py            # the full set, a few minutes on 2 cores
    python benchmarks/bench.py --quick    # about a minute: fewer replications, smaller sweeps
    python benchmarks/bench.py --json bench.json --only speed,engine

It prints (a) PCN-years simulated per second on one core for the baseline (median of
several replications, CPU time and wall time), and for an ICS of 10 PCNs; (b) SimPy
events processed per second by the model next to a bare SimPy loop measured in the same
run, and their ratio; (c) peak memory of one baseline replication and of a sweep of N
points against 2N points (the CLI in a subprocess, `--jobs 1`, so that one process holds
everything); (d) the wall-time speed-up of `pcnsim run --jobs 2` over `--jobs 1` on a
sweep; (e) start-up: `pcnsim --help`, `pcnsim validate`, the time from `pcnsim run` to its
first cell (in this process, and in a worker process), `pcnsim report` of a small run, and a
whole baseline run (`--jobs 1`, start-up and exit included: issue 18's 20 PCN-years/s), each
the median of several runs in fresh processes; (f) national: the wall time of an
England-year (`pcnsim run england`, all cores) against a baseline run (10 replications x 3
years, `--jobs 1`), measured one after the other. The machine may be shared: the figures
to trust are the ratios (model / bare SimPy, 2N / N memory, jobs-1 / jobs-2 time) and
CPU-time rates; the load average is printed next to them. Record the headline numbers in
benchmarks/results/HISTORY.md and docs/performance.md ("Current figures").
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import simpy  # noqa: E402

from pcnsim.model import simulate  # noqa: E402
from pcnsim.scenario import load_scenario  # noqa: E402

WEEKS_PER_YEAR = 52
SECTIONS = ("speed", "engine", "memory", "jobs", "startup", "national", "auto", "england", "app")
#: Issue 30's figures, one command: `python benchmarks/bench.py --issue30 --json benchmarks/results/DATE.json`.
ISSUE30 = ("auto", "england", "app")


# --------------------------------------------------------------------------- the machine
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    import pandas
    import pyarrow
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {"nproc": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "simpy": simpy.__version__,
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__,
            "commit": commit + ("+dirty" if dirty else ""), "date": time.strftime("%Y-%m-%d"),
            "loadavg_start": os.getloadavg(), "busy_cores_start": busy_cores(),
            "pcnsim_bytecode": bytecode_cached()}


def bytecode_cached() -> bool:
    """Whether pcnsim's sources have bytecode a process can load (`__pycache__`), or may write it. Where
    PYTHONDONTWRITEBYTECODE is set and they have none, every process compiles those it imports (about
    0.1 s of CPU for a run's 73 modules) and the start-up figures include it: `python -m compileall pcnsim`."""
    return not sys.dont_write_bytecode or any((ROOT / "pcnsim").glob("**/__pycache__/*.pyc"))


# --------------------------------------------------------------------------- (a) model speed
def time_replications(scenario, reps: int, first: int = 0) -> list[dict[str, float]]:
    """Wall and CPU seconds, events and PCN-years of `reps` replications (after one untimed)."""
    simulate(scenario, first + reps)          # warm caches and imports, untimed
    out = []
    for r in range(first, first + reps):
        w, c = time.perf_counter(), time.process_time()
        rep = simulate(scenario, r)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        out.append({"wall": wall, "cpu": cpu, "events": rep.events,
                    "pcn_years": rep.pcns * scenario.run.horizon_weeks / WEEKS_PER_YEAR})
    return out


def summarise_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    py = runs[0]["pcn_years"]
    return {"replications": len(runs), "pcn_years_per_replication": py,
            "wall_s_median": med("wall"), "cpu_s_median": med("cpu"),
            "pcn_years_per_s_cpu": statistics.median(r["pcn_years"] / r["cpu"] for r in runs),
            "pcn_years_per_s_wall": statistics.median(r["pcn_years"] / r["wall"] for r in runs),
            "events_per_replication": med("events"),
            "events_per_s_cpu": statistics.median(r["events"] / r["cpu"] for r in runs)}


def bench_speed(quick: bool) -> dict[str, Any]:
    base = load_scenario("baseline")
    ics10 = load_scenario("baseline", {"ics.pcns": 10})
    return {"baseline": summarise_runs(time_replications(base, 3 if quick else 9)),
            "ics10": summarise_runs(time_replications(ics10, 1 if quick else 3))}


# --------------------------------------------------------------------------- (b) engine ceiling
def bare_simpy(processes: int, total_events: int) -> dict[str, float]:
    """`processes` SimPy processes each doing `yield env.timeout(1)`: the engine's ceiling."""
    env = simpy.Environment()
    per = total_events // processes

    def ticker(n):
        for _ in range(n):
            yield env.timeout(1)

    for _ in range(processes):
        env.process(ticker(per))
    c = time.process_time()
    env.run()
    cpu = time.process_time() - c
    events = next(env._eid)   # the same counter simulate() reports
    return {"processes": processes, "events": events, "cpu_s": cpu, "events_per_s_cpu": events / cpu}


def bench_engine(quick: bool, model_speed: dict[str, Any] | None) -> dict[str, Any]:
    n = 200_000 if quick else 1_000_000
    best = lambda k: max((bare_simpy(k, n) for _ in range(3)), key=lambda r: r["events_per_s_cpu"])  # noqa: E731
    one, ten = best(1), best(10)
    if model_speed is None:
        model_speed = {"baseline": summarise_runs(time_replications(load_scenario("baseline"), 3))}
    model = model_speed["baseline"]["events_per_s_cpu"]
    return {"bare_1_process": one, "bare_10_processes": ten, "model_events_per_s_cpu": model,
            "model_over_bare": model / ten["events_per_s_cpu"],
            "model_us_per_event": 1e6 / model, "bare_us_per_event": 1e6 / ten["events_per_s_cpu"]}


# --------------------------------------------------------------------------- (c) memory
_MAXRSS = textwrap.dedent("""
    import resource, subprocess, sys, time
    t = time.perf_counter()
    rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if rc.returncode:
        sys.stderr.write(rc.stderr.decode()[-2000:])
    print(rc.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
""")


def busy_cores(seconds: float = 1.0) -> float:
    """Cores kept busy by other processes right now (from /proc/stat over `seconds`; NaN elsewhere)."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]          # total, idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return math.nan
    return (1 - (i1 - i0) / max(1, t1 - t0)) * (os.cpu_count() or 1)


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Run `cmd` under a fresh wrapper: exit code, wall seconds, peak RSS (MiB) of it or any child."""
    out = subprocess.run([sys.executable, "-c", _MAXRSS, *cmd], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode or not out.stdout.strip():
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    rc, wall, kib = out.stdout.split()
    if int(rc):
        raise RuntimeError(f"{' '.join(cmd)} exited {rc}:\n{out.stderr}")
    return {"wall_s": float(wall), "maxrss_mib": int(kib) / 1024}


def sweep_file(folder: Path, name: str, points: int, reps: int, weeks: int) -> Path:
    """A sweep of `points` points over extra CD sessions, `reps` replications of `weeks` weeks."""
    values = [round(3.5 * i / max(1, points - 1), 4) for i in range(points)]
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nextends: baseline\n"
                    f"run: {{replications: {reps}, horizon_weeks: {weeks}, warmup_weeks: {min(13, weeks - 1)}}}\n"
                    f"sweep:\n  points:\n" + "".join(
                        f"    - {{clinical_director.extra_protected_sessions: {v}}}\n" for v in values))
    return path


def cli(scenario: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "pcnsim", "run", str(scenario), "--jobs", str(jobs), "--quiet",
            "--no-report", "--out", str(out)]


def bench_memory(quick: bool, tmp: Path) -> dict[str, Any]:
    base = load_scenario("baseline")
    simulate(base, 0)
    tracemalloc.start()
    simulate(base, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    one = run_measured([sys.executable, "-c", "from pcnsim.model import simulate; from pcnsim.scenario "
                        "import load_scenario; simulate(load_scenario('baseline'), 0)"])
    imports = run_measured([sys.executable, "-c", "import pcnsim.model, pcnsim.scenario"])
    n = 8 if quick else 16
    reps, weeks = 2, 104
    small = run_measured(cli(sweep_file(tmp, "mem-n", n, reps, weeks), tmp / "mem-n", 1))
    big = run_measured(cli(sweep_file(tmp, "mem-2n", 2 * n, reps, weeks), tmp / "mem-2n", 1))
    return {"replication_tracemalloc_peak_mib": peak / 2**20,
            "replication_process_maxrss_mib": one["maxrss_mib"], "imports_maxrss_mib": imports["maxrss_mib"],
            "sweep": {"reps": reps, "weeks": weeks, "jobs": 1,
                      "n_points": n, "n_maxrss_mib": small["maxrss_mib"], "n_wall_s": small["wall_s"],
                      "2n_points": 2 * n, "2n_maxrss_mib": big["maxrss_mib"], "2n_wall_s": big["wall_s"],
                      "ratio_2n_over_n": big["maxrss_mib"] / small["maxrss_mib"]}}


# --------------------------------------------------------------------------- (d) --jobs speed-up
_REPLICATIONS = textwrap.dedent("""
    import sys, time
    from pcnsim.model import simulate
    from pcnsim.scenario import load_scenario
    s = load_scenario("baseline")
    simulate(s, 0)
    t = time.perf_counter()
    for r in range(1, 1 + int(sys.argv[1])):
        simulate(s, r)
    print(time.perf_counter() - t)
""")


def parallel_ceiling(reps: int) -> dict[str, float]:
    """What two cores give to two independent processes: the ceiling of any --jobs 2 speed-up.

    The same `reps` baseline replications in one process, then in two processes at once; the
    ceiling is 2 x (one alone) / (the slower of the two together). Below 2 on a machine whose
    cores share caches, memory bandwidth or a host with other tenants.
    """
    cmd = [sys.executable, "-c", _REPLICATIONS, str(reps)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    alone = float(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    together = [float(p.communicate()[0]) for p in procs]
    return {"replications": reps, "alone_s": alone, "together_s": together,
            "ceiling": 2 * alone / max(together)}


def bench_jobs(quick: bool, tmp: Path, repeats: int) -> dict[str, Any]:
    """Wall time of `pcnsim run` at --jobs 1 and 2 on a sweep of S cells and of 2S cells.

    The end-to-end speed-up (S cells) includes the serial part of a run (imports, planning,
    combining the cell files); the marginal speed-up, (T1(2S) - T1(S)) / (T2(2S) - T2(S)),
    is that of the parallel part alone: how well the pool scales once started.
    """
    points, reps, weeks = (8, 2, 52) if quick else (16, 4, 104)
    sizes = {"S": sweep_file(tmp, "jobs-s", points, reps, weeks),
             "2S": sweep_file(tmp, "jobs-2s", 2 * points, reps, weeks)}
    tiny = sweep_file(tmp, "tiny", 1, 1, 2)
    walls: dict[str, dict[int, list[float]]] = {k: {1: [], 2: []} for k in sizes}
    loads: list[float] = []
    overhead: dict[int, float] = {}
    for j in (1, 2):
        overhead[j] = run_measured(cli(tiny, tmp / f"tiny-{j}", j))["wall_s"]
    for i in range(repeats):          # alternate, so that a burst of load hits both
        for size, scen in sizes.items():
            for j in (1, 2):
                loads.append(busy_cores())
                walls[size][j].append(run_measured(cli(scen, tmp / f"jobs-{size}-{j}-{i}", j))["wall_s"])
    ceilings = [parallel_ceiling(4 if quick else 8) for _ in range(repeats)]
    best = {size: {j: min(w) for j, w in by.items()} for size, by in walls.items()}
    d1, d2 = best["2S"][1] - best["S"][1], best["2S"][2] - best["S"][2]
    cells = points * reps
    return {"points": points, "replications": reps, "weeks": weeks, "cells": cells, "repeats": repeats,
            "walls": walls, "jobs1_wall_s": walls["S"][1], "jobs2_wall_s": walls["S"][2],
            "speedup_best": best["S"][1] / best["S"][2],
            "speedup_median": statistics.median(walls["S"][1]) / statistics.median(walls["S"][2]),
            "speedup_2s_best": best["2S"][1] / best["2S"][2],
            "speedup_marginal": d1 / d2 if d2 > 0 else math.nan,
            "startup_wall_s": overhead, "busy_cores_before_runs": loads,
            "ceiling": max(c["ceiling"] for c in ceilings), "ceiling_runs": ceilings,
            "pcn_years_per_s_wall_jobs2": 2 * cells * weeks / WEEKS_PER_YEAR / best["2S"][2]}


# --------------------------------------------------------------------------- (e) start-up
#: A sitecustomize put first on PYTHONPATH by `first_cell`: in every process of the run (worker
#: processes inherit the environment) it wraps `run_cell` (a cell starts) and the model's
#: `simulate` (the model, imported, starts simulating) and notes when each is first entered
#: and which heavy modules are loaded by then. It shadows any other sitecustomize, for the
#: benchmark's runs only.
_PROBE = textwrap.dedent("""
    import importlib.abc, importlib.machinery, os, sys, time

    HEAVY = ("pandas", "pyarrow", "scipy", "scipy.stats", "matplotlib", "seaborn", "openpyxl", "simpy", "numba")
    WRAP = {"pcnsim.experiment.cells": "run_cell", "pcnsim.model.simulation": "simulate"}


    def _wrap(fn):
        def wrapper(*args, **kwargs):
            loaded = " ".join(m for m in HEAVY if m in sys.modules) or "-"
            with open(os.environ["PCNSIM_BENCH_PROBE"], "a") as f:
                f.write(f"{fn.__name__} {time.time():.6f} {os.getpid()} {loaded}\\n")
            return fn(*args, **kwargs)
        wrapper.__module__, wrapper.__qualname__, wrapper.__name__ = fn.__module__, fn.__qualname__, fn.__name__
        return wrapper   # still pickles by name


    class _Loader(importlib.abc.Loader):
        def __init__(self, inner, attr):
            self.inner, self.attr = inner, attr

        def create_module(self, spec):
            return self.inner.create_module(spec)

        def exec_module(self, module):
            self.inner.exec_module(module)
            setattr(module, self.attr, _wrap(getattr(module, self.attr)))


    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name not in WRAP:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None:
                spec.loader = _Loader(spec.loader, WRAP[name])
            return spec


    if os.environ.get("PCNSIM_BENCH_PROBE"):
        sys.meta_path.insert(0, _Finder())
""")


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of a command run to its end; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=env or {**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median_times(cmd: list[str], repeats: int) -> dict[str, Any]:
    runs = [_timed(cmd) for _ in range(repeats)]
    return {"wall_s": statistics.median(w for w, _ in runs), "cpu_s": statistics.median(c for _, c in runs),
            "walls": [w for w, _ in runs]}


def first_cell(tmp: Path, jobs: int, replications: int, tag: str) -> dict[str, Any]:
    """One `pcnsim run baseline` (a 13-week horizon, --no-report): seconds from starting the
    command to the first cell starting (`run_cell` entered, in this process or a worker) and
    to the model starting to simulate (`simulate` entered: the model imported), the heavy
    modules loaded by then, and the run's whole wall time."""
    probe_dir = tmp / "probe"
    probe_dir.mkdir(exist_ok=True)
    (probe_dir / "sitecustomize.py").write_text(_PROBE)
    marks = tmp / f"first-cell-{tag}.txt"
    marks.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(probe_dir), str(ROOT)]),
           "PCNSIM_BENCH_PROBE": str(marks)}
    cmd = [sys.executable, "-m", "pcnsim", "run", "baseline", "--replications", str(replications),
           "--jobs", str(jobs), "--set", "run.horizon_weeks=13", "--set", "run.warmup_weeks=4", "--quiet",
           "--no-report", "--out", str(tmp / f"first-cell-{tag}")]
    start = time.time()
    wall, cpu = _timed(cmd, env)
    lines = [line.split(" ", 3) for line in marks.read_text().splitlines()]

    def first(what: str) -> list[str]:
        return min((parts for parts in lines if parts[0] == what), key=lambda parts: float(parts[1]))

    cell, sim = first("run_cell"), first("simulate")
    return {"to_first_cell_s": float(cell[1]) - start, "to_first_simulate_s": float(sim[1]) - start,
            "loaded_at_first_cell": cell[3].replace("-", "").split(),
            "loaded_at_first_simulate": sim[3].replace("-", "").split(), "wall_s": wall, "cpu_s": cpu}


def bench_startup(quick: bool, tmp: Path) -> dict[str, Any]:
    """Median of 5 (3 with --quick) fresh processes each: `pcnsim --help`, `pcnsim run --help`,
    `pcnsim validate baseline`, time to the first cell of `pcnsim run` (--jobs 1: in this
    process; --jobs 2: in a worker), `pcnsim report` of the --jobs 1 run's folder; and (3 runs, 2
    with --quick) a whole baseline run, --jobs 1, start to end."""
    n = 3 if quick else 5
    pcnsim = [sys.executable, "-m", "pcnsim"]
    out: dict[str, Any] = {"repeats": n,
                           "help": _median_times([*pcnsim, "--help"], n),
                           "run_help": _median_times([*pcnsim, "run", "--help"], n),
                           "validate": _median_times([*pcnsim, "validate", "baseline"], n)}
    for jobs, reps, tag in ((1, 1, "jobs1"), (2, 2, "jobs2")):
        runs = [first_cell(tmp, jobs, reps, f"{tag}-{i}") for i in range(n)]
        out[f"first_cell_{tag}"] = {
            "to_first_cell_s": statistics.median(r["to_first_cell_s"] for r in runs),
            "runs_s": [r["to_first_cell_s"] for r in runs],
            "to_first_simulate_s": statistics.median(r["to_first_simulate_s"] for r in runs),
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "loaded_at_first_cell": runs[0]["loaded_at_first_cell"],
            "loaded_at_first_simulate": runs[0]["loaded_at_first_simulate"]}
    folder = tmp / "first-cell-jobs1-0"
    out["report"] = _median_times([*pcnsim, "report", str(folder)], 2 if quick else 3)
    out["report"]["run"] = "baseline, 1 replication of 13 weeks"
    runs = [_timed([*pcnsim, "run", "baseline", "--jobs", "1", "--quiet", "--no-report", "--out",
                    str(tmp / f"whole-baseline-{i}")]) for i in range(2 if quick else 3)]
    wall = statistics.median(w for w, _ in runs)
    out["baseline_run"] = {"wall_s": wall, "cpu_s": statistics.median(c for _, c in runs), "walls": [w for w, _ in runs],
                           "pcn_years": 30.0, "pcn_years_per_s_wall": 30.0 / wall}
    return out


# --------------------------------------------------------------------------- issue 30
def grid_file(folder: Path, name: str, points: int, reps: int, weeks: int = 104, warmup: int = 13) -> Path:
    """A grid of `points` points x `reps` replications of `weeks`-week cells of the baseline PCN."""
    values = [round(3.5 * i / max(1, points - 1), 4) for i in range(points)]
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nextends: baseline\n"
                    f"run: {{replications: {reps}, horizon_weeks: {weeks}, warmup_weeks: {warmup}}}\n"
                    f"sweep:\n  points:\n" + "".join(
                        f"    - {{clinical_director.extra_protected_sessions: {v}}}\n" for v in values))
    return path


def side_by_side(tmp: Path, tag: str, scenario: str | Path, configs: dict[str, list[str]],
                 repeats: int) -> dict[str, Any]:
    """`pcnsim run SCENARIO --no-report` under each of `configs` (extra CLI options), alternated
    (A, B, A, B...) so that a burst of load hits both; wall and CPU seconds (the run and its
    workers) and the load average before each run; the ratio of the medians and of the bests."""
    out: dict[str, Any] = {c: {"wall_s": [], "cpu_s": [], "loadavg": [], "executor": None} for c in configs}
    for i in range(repeats):
        for name, options in configs.items():
            folder = tmp / f"{tag}-{name}-{i}"
            out[name]["loadavg"].append(round(os.getloadavg()[0], 2))
            wall, cpu = _timed([sys.executable, "-m", "pcnsim", "run", str(scenario), *options, "--quiet",
                                "--no-report", "--out", str(folder)])
            out[name]["wall_s"].append(wall)
            out[name]["cpu_s"].append(cpu)
            out[name]["executor"] = json.loads((folder / "manifest.json").read_text())["executor"]
    for name in configs:
        out[name]["wall_median_s"] = statistics.median(out[name]["wall_s"])
        out[name]["wall_best_s"] = min(out[name]["wall_s"])
    return out


def bench_auto(quick: bool, tmp: Path, repeats: int) -> dict[str, Any]:
    """Issue 30's `--jobs` figures, side by side: the default `--jobs` against `--jobs 1` on the
    baseline run (30 PCN-years) and on a 64-cell grid of 2-year cells (128 PCN-years), `--jobs 2`
    against `--jobs 1` on a 640-PCN-year grid (64 points x 5 replications x 2 years) with the
    machine's two-process ceiling measured just before and just after it (`parallel_ceiling`),
    and the baseline's PCN-years a second per core, start-up included (`--jobs 1`)."""
    g128 = grid_file(tmp, "grid128", 16, 4)
    g640 = grid_file(tmp, "grid640", 64, 5)
    default, one, two = [], ["--jobs", "1"], ["--jobs", "2"]
    base = side_by_side(tmp, "base", "baseline", {"default": default, "jobs1": one}, repeats + 1)
    small = side_by_side(tmp, "g128", g128, {"default": default, "jobs1": one}, repeats)
    ceilings = [parallel_ceiling(10 if quick else 30)]
    big = side_by_side(tmp, "g640", g640, {"jobs2": two, "jobs1": one}, 1 if quick else repeats)
    ceilings.append(parallel_ceiling(10 if quick else 30))
    ratio = lambda r, a, b, k="wall_median_s": r[a][k] / r[b][k]  # noqa: E731
    return {"baseline": base, "grid128": small, "grid640": big,
            "baseline_default_over_jobs1": ratio(base, "default", "jobs1"),
            "grid128_default_over_jobs1": ratio(small, "default", "jobs1"),
            "grid640_speedup_jobs2": ratio(big, "jobs1", "jobs2"),
            "grid640_speedup_jobs2_best": ratio(big, "jobs1", "jobs2", "wall_best_s"),
            # what two cores gave two independent processes just before and just after the grid (the
            # VM's cores vary by the second: 1.6 to 2.3 in three runs of 2 s on 2026-12-03)
            "grid640_ceiling": [c["ceiling"] for c in ceilings],
            "baseline_pcn_years_per_s_incl_startup": 30.0 / base["jobs1"]["wall_median_s"]}


def bench_england(tmp: Path, repeats: int) -> dict[str, Any]:
    """`pcnsim run england` (one measured year, its default warm-up, the default --jobs: every
    core), wall and CPU seconds, with the load average before each run."""
    runs = side_by_side(tmp, "england", "england", {"default": []}, repeats)["default"]
    return {"wall_s": runs["wall_s"], "cpu_s": runs["cpu_s"], "loadavg": runs["loadavg"],
            "wall_median_s": runs["wall_median_s"], "wall_best_s": runs["wall_best_s"],
            "executor": runs["executor"], "pcn_years": 1875.0}


_APP = textwrap.dedent("""
    import json, re, subprocess, sys, time, urllib.request
    from pathlib import Path
    from playwright.sync_api import expect, sync_playwright
    chromium, outputs, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = Path(outputs) / "server.log"
    Path(outputs).mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "pcnsim", "app", "--outputs", outputs],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline, address = time.time() + 90, None
        while time.time() < deadline and address is None:
            found = re.search(r"open (http://127\\.0\\.0\\.1:\\d+/)", log.read_text())
            if found:
                try:
                    urllib.request.urlopen(found.group(1), timeout=2)
                    address = found.group(1)
                except OSError:
                    pass
            time.sleep(0.3)
        args = ["--headless", "--no-sandbox", "--disable-gpu"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=args)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(address)
            run = page.get_by_role("button", name="Run", exact=True)
            answer = page.locator(".st-key-answer")
            status = page.get_by_test_id("stStatusWidget")
            t = time.perf_counter()
            run.click(timeout=60_000)
            expect(answer).to_contain_text("appointments a year", timeout=300_000)
            first_run = time.perf_counter() - t
            expect(status).to_have_count(0, timeout=300_000)
            slider = page.get_by_role("slider", name="Extra protected CD sessions a week")
            times = []
            for i in range(repeats):          # each a new value: +0.5, +1.0, ... sessions
                slider.focus()
                page.keyboard.press("ArrowRight")
                expect(page.get_by_text("The controls have changed")).to_be_visible(timeout=30_000)
                expect(status).to_have_count(0, timeout=60_000)
                shown = page.get_by_text(re.compile(r"These results: .*→ " + re.escape(f"{0.5 * (i + 1):.1f}") + ";"))
                t = time.perf_counter()
                run.click()
                expect(shown).to_be_visible(timeout=120_000)     # written just below the new answer
                expect(answer).to_contain_text("In short", timeout=120_000)
                times.append(time.perf_counter() - t)
                expect(status).to_have_count(0, timeout=120_000)    # the figures drawn before the next
            browser.close()
        print(json.dumps({"first_run_s": first_run, "what_if_s": times}))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
""")


def bench_app(tmp: Path, repeats: int) -> dict[str, Any]:
    """The app's what-if at its quick setting, in headless Chromium (Playwright, the system
    chromium): seconds from pressing Run to the new answer shown, the starting scenario already
    run; and the first Run (the starting scenario alone)."""
    import shutil

    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                    None)
    if chromium is None:
        return {"skipped": "no chromium installed"}
    load = round(os.getloadavg()[0], 2)
    out = subprocess.run([sys.executable, "-c", _APP, chromium, str(tmp / "app-outputs"), str(max(3, repeats))],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         timeout=900)
    if out.returncode:
        raise RuntimeError(f"the app benchmark failed:\n{out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got.update(loadavg_before=load, what_if_median_s=statistics.median(got["what_if_s"]),
               what_if_best_s=min(got["what_if_s"]))
    return got


# --------------------------------------------------------------------------- report
def bench_national(tmp: Path) -> dict[str, Any]:
    """Issue 18's ratio: an England-year (`pcnsim run england`, all cores) against a baseline run
    (10 replications x 3 years, `--jobs 1`), both from the command line, in this run (1-3 minutes)."""
    base = run_measured(cli(ROOT / "scenarios" / "baseline.yaml", tmp / "nat-baseline", 1))
    eng = [sys.executable, "-m", "pcnsim", "run", "england", "--quiet", "--no-report", "--out", str(tmp / "nat-england")]
    t = time.perf_counter()
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(eng, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise RuntimeError(f"{' '.join(eng)} exited {out.returncode}:\n{out.stderr}")
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return {"baseline_wall_s": base["wall_s"], "england_wall_s": wall, "england_cpu_s": cpu,
            "england_over_baseline": wall / base["wall_s"], "england_pcn_years_measured": 1250.0,
            "england_maxrss_mib": usage1.ru_maxrss / 1024}


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"  {a:<{width}}  {b}" for a, b in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer replications and smaller sweeps (about a minute)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--repeats", type=int, default=None, help="repeats of each --jobs timing (default 2; quick 1)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--issue30", action="store_true",
                    help=f"only issue 30's figures (--only {','.join(ISSUE30)}): --jobs default / 1, England, the app")
    args = ap.parse_args(argv)
    if args.issue30:
        args.only = ",".join(ISSUE30)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = set(only) - set(SECTIONS)
    if bad:
        ap.error(f"--only: unknown sections {sorted(bad)}; choose from {SECTIONS}")
    repeats = args.repeats or (1 if args.quick else 2)

    res: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    m = res["machine"]
    print(f"pcnsim benchmarks  {m['date']}  commit {m['commit'] or '?'}")
    print(f"  {m['nproc']} cores, {m['cpu']}; Python {m['python']}, numpy {m['numpy']}, simpy {m['simpy']}; "
          f"load average {m['loadavg_start'][0]:.2f}, "
          f"{m['busy_cores_start']:.2f} cores busy with other work")
    if not m["pcnsim_bytecode"]:
        print("  note: PYTHONDONTWRITEBYTECODE is set and pcnsim has no bytecode: every process compiles its "
              "sources (about 0.1 s of CPU a run); `python -m compileall pcnsim` once to measure without that")
    rows: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pcnsim-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if "speed" in only:
            sp = res["speed"] = bench_speed(args.quick)
            b, i = sp["baseline"], sp["ics10"]
            rows += [("(a) baseline PCN-years/s, one core (CPU time)",
                      f"{b['pcn_years_per_s_cpu']:.1f}  (wall {b['pcn_years_per_s_wall']:.1f}; median of "
                      f"{b['replications']}; {b['cpu_s_median']:.3f} s per {b['pcn_years_per_replication']:.0f}-year rep)"),
                     ("    ICS of 10 PCNs, PCN-years/s (CPU time)",
                      f"{i['pcn_years_per_s_cpu']:.1f}  ({i['cpu_s_median']:.2f} s per replication)")]
        if "engine" in only:
            en = res["engine"] = bench_engine(args.quick, res.get("speed"))
            rows += [("(b) model SimPy events/s (CPU time)",
                      f"{en['model_events_per_s_cpu']:,.0f}  ({en['model_us_per_event']:.1f} us per event)"),
                     ("    bare SimPy, 1 process, events/s", f"{en['bare_1_process']['events_per_s_cpu']:,.0f}"),
                     ("    bare SimPy, 10 processes, events/s",
                      f"{en['bare_10_processes']['events_per_s_cpu']:,.0f}  ({en['bare_us_per_event']:.2f} us per event)"),
                     ("    model / bare (10 processes)", f"{en['model_over_bare']:.3f}")]
        if "memory" in only:
            me = res["memory"] = bench_memory(args.quick, tmp)
            sw = me["sweep"]
            rows += [("(c) one baseline replication, tracemalloc peak", f"{me['replication_tracemalloc_peak_mib']:.1f} MiB"),
                     ("    one replication, process max RSS",
                      f"{me['replication_process_maxrss_mib']:.0f} MiB  (imports alone {me['imports_maxrss_mib']:.0f} MiB)"),
                     (f"    sweep {sw['n_points']} points x {sw['reps']} reps x {sw['weeks']} wk, max RSS",
                      f"{sw['n_maxrss_mib']:.0f} MiB  ({sw['n_wall_s']:.1f} s)"),
                     (f"    sweep {sw['2n_points']} points, max RSS", f"{sw['2n_maxrss_mib']:.0f} MiB  ({sw['2n_wall_s']:.1f} s)"),
                     ("    memory 2N / N (flat if about 1)", f"{sw['ratio_2n_over_n']:.2f}")]
        if "jobs" in only:
            jb = res["jobs"] = bench_jobs(args.quick, tmp, repeats)
            rows += [(f"(d) sweep S = {jb['points']} pts x {jb['replications']} reps x {jb['weeks']} wk, --jobs 1",
                      f"{min(jb['jobs1_wall_s']):.1f} s  (runs: {', '.join(f'{w:.1f}' for w in jb['jobs1_wall_s'])})"),
                     ("    --jobs 2", f"{min(jb['jobs2_wall_s']):.1f} s  (runs: {', '.join(f'{w:.1f}' for w in jb['jobs2_wall_s'])})"),
                     ("    speed-up jobs 2 / jobs 1, S (best; median)", f"{jb['speedup_best']:.2f}x; {jb['speedup_median']:.2f}x"),
                     (f"    speed-up, 2S = {2 * jb['points']} points (best)", f"{jb['speedup_2s_best']:.2f}x"),
                     ("    marginal speed-up (2S - S: the pool alone)", f"{jb['speedup_marginal']:.2f}x"),
                     ("    ceiling: two independent model processes at once",
                      f"{jb['ceiling']:.2f}x  (2S speed-up is {jb['speedup_2s_best'] / jb['ceiling']:.0%} of it)"),
                     ("    start-up, 1-cell run, jobs 1 / jobs 2",
                      f"{jb['startup_wall_s'][1]:.1f} s / {jb['startup_wall_s'][2]:.1f} s"),
                     ("    cores busy with other work before the runs", f"{min(jb['busy_cores_before_runs']):.2f} to "
                      f"{max(jb['busy_cores_before_runs']):.2f}" + ("  (busy machine: speed-ups unreliable)"
                      if max(jb['busy_cores_before_runs']) > 0.25 else ""))]
        if "startup" in only:
            st = res["startup"] = bench_startup(args.quick, tmp)
            c1, c2 = st["first_cell_jobs1"], st["first_cell_jobs2"]
            rows += [(f"(e) pcnsim --help (median of {st['repeats']})",
                      f"{st['help']['wall_s']:.2f} s  (CPU {st['help']['cpu_s']:.2f} s)"),
                     ("    pcnsim run --help", f"{st['run_help']['wall_s']:.2f} s  (CPU {st['run_help']['cpu_s']:.2f} s)"),
                     ("    pcnsim validate baseline",
                      f"{st['validate']['wall_s']:.2f} s  (CPU {st['validate']['cpu_s']:.2f} s)"),
                     ("    pcnsim run to its first cell, --jobs 1",
                      f"{c1['to_first_cell_s']:.2f} s  (runs: {', '.join(f'{w:.2f}' for w in c1['runs_s'])}; "
                      f"loaded then: {' '.join(c1['loaded_at_first_cell']) or 'none of the heavy ones'})"),
                     ("      to the model simulating (imported)",
                      f"{c1['to_first_simulate_s']:.2f} s  (loaded then: "
                      f"{' '.join(c1['loaded_at_first_simulate']) or 'none of the heavy ones'})"),
                     ("    pcnsim run to its first cell in a worker, --jobs 2",
                      f"{c2['to_first_cell_s']:.2f} s  (runs: {', '.join(f'{w:.2f}' for w in c2['runs_s'])}; "
                      f"loaded then: {' '.join(c2['loaded_at_first_cell']) or 'none of the heavy ones'})"),
                     ("      to the model simulating in a worker", f"{c2['to_first_simulate_s']:.2f} s"),
                     ("    the 1-cell run, start to end", f"{c1['wall_s']:.2f} s"),
                     ("    pcnsim report of that run",
                      f"{st['report']['wall_s']:.2f} s  (CPU {st['report']['cpu_s']:.2f} s)"),
                     ("    baseline run (10 reps x 3 years, --jobs 1), start to end",
                      f"{st['baseline_run']['wall_s']:.2f} s  (CPU {st['baseline_run']['cpu_s']:.2f} s; "
                      f"{st['baseline_run']['pcn_years_per_s_wall']:.1f} PCN-years/s including start-up)")]
        if "national" in only:
            na = res["national"] = bench_national(tmp)
            rows += [("(f) baseline run, 10 reps x 3 years, --jobs 1", f"{na['baseline_wall_s']:.1f} s wall"),
                     ("    England-year, pcnsim run england (all cores)",
                      f"{na['england_wall_s']:.1f} s wall, {na['england_cpu_s']:.0f} s CPU"),
                     ("    England / baseline (issue 18 target <= 4)", f"{na['england_over_baseline']:.1f}x")]
        if "auto" in only:
            au = res["auto"] = bench_auto(args.quick, tmp, max(2, repeats))
            fmt = lambda r, k: f"{r[k]['wall_median_s']:.2f} s (CPU {statistics.median(r[k]['cpu_s']):.2f} s; load " \
                               f"{', '.join(str(x) for x in r[k]['loadavg'])}; {r[k]['executor']['jobs']} process" \
                               f"{'es' if r[k]['executor']['jobs'] > 1 else ''})"  # noqa: E731
            rows += [("(g) baseline run (30 PCN-years), default --jobs", fmt(au["baseline"], "default")),
                     ("    --jobs 1", fmt(au["baseline"], "jobs1")),
                     ("    default / --jobs 1 (target <= 1.05)", f"{au['baseline_default_over_jobs1']:.3f}"),
                     ("    baseline PCN-years/s incl. start-up (--jobs 1; target >= 25)",
                      f"{au['baseline_pcn_years_per_s_incl_startup']:.1f}"),
                     ("    grid of 64 2-year cells (128 PCN-years), default --jobs", fmt(au["grid128"], "default")),
                     ("    --jobs 1", fmt(au["grid128"], "jobs1")),
                     ("    default / --jobs 1 (target <= 1.05)", f"{au['grid128_default_over_jobs1']:.3f}"),
                     ("    grid of 320 2-year cells (640 PCN-years), --jobs 2", fmt(au["grid640"], "jobs2")),
                     ("    --jobs 1", fmt(au["grid640"], "jobs1")),
                     ("    speed-up --jobs 2 (median; best) (target >= 1.8)",
                      f"{au['grid640_speedup_jobs2']:.2f}x; {au['grid640_speedup_jobs2_best']:.2f}x"),
                     ("    two independent processes on two cores (before; after)",
                      "; ".join(f"{c:.2f}x" for c in au["grid640_ceiling"]) + "  (the ceiling of any --jobs 2)")]
        if "england" in only:
            en = res["england"] = bench_england(tmp, 1 if args.quick else repeats)
            rows += [("(h) pcnsim run england (default --jobs; target < 10 s)",
                      f"{en['wall_median_s']:.1f} s wall (runs {', '.join(f'{w:.1f}' for w in en['wall_s'])}; CPU "
                      f"{', '.join(f'{c:.0f}' for c in en['cpu_s'])} s; load {', '.join(map(str, en['loadavg']))})")]
        if "app" in only:
            ap_ = res["app"] = bench_app(tmp, repeats)
            rows += [("(i) app what-if, Run to answer (quick; target < 2 s)",
                      ap_.get("skipped") or f"{ap_['what_if_median_s']:.2f} s median (runs "
                      f"{', '.join(f'{w:.2f}' for w in ap_['what_if_s'])}; first Run {ap_['first_run_s']:.1f} s; "
                      f"load {ap_['loadavg_before']})")]
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["seconds"] = time.perf_counter() - t0
    print(table(rows))
    print(f"  load average at the end {res['machine']['loadavg_end'][0]:.2f}; benchmarks took {res['seconds']:.0f} s")
    targets = []
    if "speed" in res:
        targets.append(("baseline >= 10 PCN-years/s per core", res["speed"]["baseline"]["pcn_years_per_s_cpu"] >= 10))
    if "jobs" in res:
        targets.append(("--jobs 2 >= 1.7x --jobs 1 (2S sweep)", res["jobs"]["speedup_2s_best"] >= 1.7))
    if "memory" in res:
        targets.append(("memory flat (2N / N <= 1.15)", res["memory"]["sweep"]["ratio_2n_over_n"] <= 1.15))
    if "startup" in res:
        targets.append(("pcnsim --help under 0.5 s", res["startup"]["help"]["wall_s"] < 0.5))
        targets.append(("baseline >= 20 PCN-years/s per core including start-up",
                        res["startup"]["baseline_run"]["pcn_years_per_s_wall"] >= 20))
    if "national" in res:
        targets.append(("England-year <= 4x a baseline run", res["national"]["england_over_baseline"] <= 4))
    if "auto" in res:
        targets.append(("default --jobs within 5% of --jobs 1, baseline", res["auto"]["baseline_default_over_jobs1"] <= 1.05))
        targets.append(("default --jobs within 5% of --jobs 1, 128 PCN-years",
                        res["auto"]["grid128_default_over_jobs1"] <= 1.05))
        targets.append(("--jobs 2 >= 1.8x --jobs 1, 640 PCN-years", res["auto"]["grid640_speedup_jobs2"] >= 1.8))
        targets.append(("baseline >= 25 PCN-years/s including start-up",
                        res["auto"]["baseline_pcn_years_per_s_incl_startup"] >= 25))
    if "england" in res:
        targets.append(("pcnsim run england under 10 s", res["england"]["wall_median_s"] < 10))
    if "app" in res and "skipped" not in res["app"]:
        targets.append(("app what-if under 2 s", res["app"]["what_if_median_s"] < 2))
    for name, ok in targets:
        print(f"  target {name}: {'met' if ok else 'NOT met'}")
    res["targets"] = {name: ok for name, ok in targets}
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=float) + "\n")
        print(f"  wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
