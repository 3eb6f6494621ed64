"""Experiments: every point of a scenario's sweep times every replication, run in parallel.

A run is a set of *cells*, one per (sweep point, replication). Each cell calls the model's
`simulate(point_scenario, replication)`; the model derives all its random streams from
`SeedSequence(entropy=run.seed, spawn_key=(replication, *hash of the stream's name))`
(`pcnsim.model.stream`), so a cell's result depends only
on its point and its replication: the same files come out whatever the executor (in
process, local worker processes, a dask.distributed cluster) and however many workers, and
replication r sees the same random numbers at every point (common random numbers).

Every finished cell is written at once to `cells/pPPPPP-rRRRR.parquet` in the run folder
(a temporary name, then `os.replace`), so an interrupted run loses only the cells that were
running; `resume=True` finishes it, redoing nothing that finished. When every cell is done
the cells are combined, streaming, into the run folder's files (INTERFACE.md):
`results.parquet`/`.csv`, `summary.csv`, `weekly.parquet`, `sensitivity.csv` (Sobol sweeps)
and `manifest.json`; each is written under a temporary name and renamed into place.

A cell that raises is recorded (type, message, traceback) in the manifest and the others go
on; the run then ends with `RunResult.failed` non-empty (exit status 1 on the command line).

Layering: this module uses `pcnsim.analysis` (pure statistics with no pcnsim imports, loaded
lazily) for the summary, the half-width rule, MSER-5 and Sobol indices; pandas, pyarrow and
scipy load lazily too, so that worker processes import little beyond the model.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import datetime as _dt
import importlib.metadata
import itertools
import json
import math
import multiprocessing
import os
import pickle
import platform
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from pcnsim import __version__
from pcnsim.config import Scenario
from pcnsim.errors import PcnsimError, RunFolderError, ScenarioError

if TYPE_CHECKING:  # pandas, pyarrow and scipy load lazily: worker processes need only the model
    import pandas as pd

__all__ = [
    "KEY_METRICS", "WARMUP_SERIES", "CellOutcome", "RunResult", "cell_name", "design_points",
    "load_run", "plan_points", "run", "run_cell",
]

#: Metrics the command line prints at the end of a run (those the model reports).
KEY_METRICS = (
    ("appointments_per_year", "Appointments delivered a year", "{:,.0f}"),
    ("demand_met_share", "Share of demand met", "{:.1%}"),
    ("wait_days_mean", "Mean wait, working days", "{:.2f}"),
    ("cd_overtime_hours_per_week", "CD unpaid overtime, hours a week", "{:.2f}"),
    ("cd_resignations_per_year", "CD resignations a year", "{:.2f}"),
)
#: Weekly series whose MSER-5 truncation points make the suggested warm-up (when present):
#: the model's state variables, which carry the initial transient.
WARMUP_SERIES = ("backlog", "wait_days_mean", "arrs_in_post", "cd_strain", "leadership_backlog_hours")
MAX_REPLICATIONS_DEFAULT = 200
MANIFEST_VERSION = 1
_METRIC_WEEK = -1              # week value of the whole-run metric rows in a cell file
_WEEKLY_ROWS_PER_GROUP = 1_000_000
_PACKAGES = ("simpy", "numpy", "pandas", "pyarrow", "scipy", "SALib", "pydantic", "click", "tqdm",
             "PyYAML", "dask", "distributed")


def _schemas() -> tuple[Any, Any]:
    """The pyarrow schemas of a cell file and of weekly.parquet."""
    import pyarrow as pa

    cell = pa.schema([("week", pa.int32()), ("metric", pa.string()), ("value", pa.float64())])
    weekly = pa.schema([("point", pa.int64()), ("replication", pa.int64()), ("week", pa.int32()),
                        ("metric", pa.string()), ("value", pa.float64())])
    return cell, weekly


# --------------------------------------------------------------------------- sweep designs
def design_points(scenario: Scenario) -> list[dict[str, Any]]:
    """The sweep's points in a stable order, each {dotted key: value}; [{}] with no sweep.

    grid: every combination, the last key varying fastest; points: as written; lhs: a Latin
    hypercube (`scipy.stats.qmc.LatinHypercube`) of n points seeded with `run.seed`, scaled
    to the ranges; sobol: the Saltelli design of `SALib.sample.sobol.sample` without second
    order, n base samples giving n x (D + 2) points, scrambled with `run.seed`. Values of
    whole-number parameters are rounded in lhs and sobol designs.
    """
    sweep = scenario.sweep
    if sweep is None:
        return [{}]
    kind = sweep.kind
    if kind == "grid":
        grid = sweep.grid or {}
        return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    if kind == "points":
        return [dict(p) for p in sweep.points or ()]
    spec = sweep.lhs if kind == "lhs" else sweep.sobol
    keys = list(spec.ranges)
    lows = np.array([float(spec.ranges[k][0]) for k in keys])
    highs = np.array([float(spec.ranges[k][1]) for k in keys])
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(scenario.run.seed)).random(spec.n)
        sample = lows + unit * (highs - lows)
    else:
        import warnings

        from SALib.sample import sobol as salib_sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SALib warns when n is not a power of 2
            from pcnsim.analysis import sobol_problem

            sample = salib_sobol.sample(sobol_problem(spec.ranges), spec.n,
                                        calc_second_order=False, seed=scenario.run.seed)
    whole = [_is_whole_number(scenario, k) for k in keys]
    return [{k: (int(round(v)) if w else float(v)) for k, v, w in zip(keys, row, whole)} for row in sample]


def _is_whole_number(scenario: Scenario, key: str) -> bool:
    value: Any = scenario
    for part in key.split("."):
        value = getattr(value, part, None)
    return isinstance(value, int) and not isinstance(value, bool)


def plan_points(scenario: Scenario) -> tuple[tuple[str, ...], list[dict[str, Any]], list[Scenario]]:
    """(swept keys, design points, one validated scenario per point without its sweep).

    Every point is validated before anything runs; a bad one raises `ScenarioError`
    naming it. The swept value recorded for a point is the value its scenario holds.
    """
    from pcnsim.scenario import apply_values

    keys = scenario.sweep.keys() if scenario.sweep is not None else ()
    base = scenario.model_copy(update={"sweep": None})
    points, scenarios = [], []
    for i, values in enumerate(design_points(scenario)):
        point = apply_values(base, values, where=f"sweep point {i} of '{scenario.name}'") if values else base
        scenarios.append(point)
        points.append({k: _dotted(point, k) for k in keys})
    return tuple(keys), points, scenarios


def _dotted(scenario: Scenario, key: str) -> Any:
    value: Any = scenario
    for part in key.split("."):
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------- cells
def cell_name(point: int, replication: int) -> str:
    """File stem of a cell in `cells/`: `p00003-r0007`."""
    return f"p{point:05d}-r{replication:04d}"


@dataclass
class CellOutcome:
    """What a worker sends back for one cell (an error instead of data if it raised)."""

    point: int
    replication: int
    metrics: dict[str, float] = field(default_factory=dict)
    weekly: dict[str, np.ndarray] = field(default_factory=dict)
    events: int = 0
    pcns: int = 0
    seconds: float = 0.0
    error: dict[str, str] | None = None


def _default_simulate(scenario: Scenario, replication: int) -> Any:
    from pcnsim.model import simulate

    return simulate(scenario, replication)


def run_cell(payload: tuple[int, int, Scenario, Callable | None]) -> CellOutcome:
    """Run one cell in a worker: ``(point, replication, point scenario, simulate or None)``.

    Exceptions become `CellOutcome.error`; KeyboardInterrupt and SystemExit pass through.
    """
    point, replication, scenario, simulate = payload
    fn = simulate or _default_simulate
    start = time.perf_counter()
    try:
        rep = fn(scenario, replication)
        metrics = {str(k): float(v) for k, v in rep.metrics.items()}
        weekly = {str(k): np.asarray(v, dtype=float).ravel()
                  for k, v in (getattr(rep, "weekly", None) or {}).items()}
        return CellOutcome(point, replication, metrics, weekly, int(getattr(rep, "events", 0) or 0),
                           int(getattr(rep, "pcns", scenario.ics.pcns) or 0), time.perf_counter() - start)
    except Exception as err:  # noqa: BLE001 - a failed cell is a record, not a crash
        return CellOutcome(point, replication, seconds=time.perf_counter() - start,
                           error={"type": type(err).__name__, "message": str(err),
                                  "traceback": traceback.format_exc()})


def _write_cell(cells_dir: Path, out: CellOutcome) -> None:
    """One cell's metrics (week -1) and weekly series as a small parquet file, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    weeks, names, values = [], [], []
    for k, v in out.metrics.items():
        weeks.append(np.array([_METRIC_WEEK], dtype=np.int32))
        names.append([k])
        values.append(np.array([v], dtype=float))
    for k, series in out.weekly.items():
        weeks.append(np.arange(series.size, dtype=np.int32))
        names.append([k] * series.size)
        values.append(series)
    table = pa.table({"week": pa.array(np.concatenate(weeks) if weeks else np.array([], np.int32), pa.int32()),
                      "metric": pa.array(list(itertools.chain.from_iterable(names)), pa.string()),
                      "value": pa.array(np.concatenate(values) if values else np.array([]), pa.float64())},
                     schema=_schemas()[0])
    info = {"point": out.point, "replication": out.replication, "events": out.events, "pcns": out.pcns,
            "seconds": round(out.seconds, 6)}
    table = table.replace_schema_metadata({b"pcnsim.cell": json.dumps(info).encode()})
    with _written(cells_dir / f"{cell_name(out.point, out.replication)}.parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _read_cell(path: Path) -> tuple[pa.Table, dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    info = json.loads((table.schema.metadata or {}).get(b"pcnsim.cell", b"{}"))
    return table, info


# --------------------------------------------------------------------------- executors
def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops the run cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _LocalPool:
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


class _DaskPool:
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


# --------------------------------------------------------------------------- the run folder
def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


class _WriteFailed(Exception):
    """The system refused to write `path` (disk full, read-only file system...); `run` explains it.

    Deliberately not a `PcnsimError`: the handlers inside `run` let it pass to the one place
    that knows what was kept and words the user's message."""

    def __init__(self, path: Path, err: OSError, action: str = "write") -> None:
        super().__init__(f"cannot {action} {path}: {err}")
        self.path, self.err, self.action = path, err, action

    @property
    def reason(self) -> str:
        """The system's reason in words ("No space left on device"), without pyarrow's decoration."""
        return os.strerror(self.err.errno) if self.err.errno else str(self.err)


@contextlib.contextmanager
def _written(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside `path`, renamed onto it (`os.replace`) when the block succeeds.

    Readers therefore see a whole file or none: a SIGKILL leaves at worst `.NAME.tmp-PID`, which
    the loaders ignore and the next session removes. On any error the temporary file is removed,
    and an OSError becomes `_WriteFailed` naming `path`.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _WriteFailed(path, err) from err
        raise


def _mkdir(path: Path, parents: bool = False) -> None:
    """`Path.mkdir` (an existing folder is fine), with a refusal becoming `_WriteFailed`."""
    try:
        path.mkdir(parents=parents, exist_ok=True)
    except OSError as err:
        raise _WriteFailed(path, err, "create") from err


def _atomic_write_text(path: Path, text: str) -> None:
    with _written(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _atomic_write_frame(path: Path, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _written(path) as tmp:
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        else:
            frame.to_csv(tmp, index=False, lineterminator="\n")


def _new_folder(name: str, outputs_dir: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = outputs_dir / f"{name}-{stamp}"
    _mkdir(outputs_dir, parents=True)
    for i in itertools.count(1):
        folder = base if i == 1 else base.with_name(f"{base.name}-{i}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
        except OSError as err:
            raise _WriteFailed(folder, err, "create") from err
    raise AssertionError("unreachable")


def _check_out(out: Path, resume: bool) -> None:
    """Refuse a folder we must not write to, before anything is written."""
    if resume:
        if not (out / "manifest.json").is_file():
            raise RunFolderError(f"--resume: '{out}' is not a pcnsim run folder (no manifest.json); give the "
                                 "--out folder of the run to finish")
        return
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out '{out}' is a file, not a folder; choose a new folder")
    if out.exists() and any(out.iterdir()):
        raise RunFolderError(f"--out '{out}' exists and is not empty; choose a new folder, or add --resume to "
                             "finish the run in it")


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): data}


def _check_same_scenario(folder: Path, stored: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    if stored == given:
        return
    a, b = _flatten(stored), _flatten(given)
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k, "(absent)") != b.get(k, "(absent)")]
    shown = "; ".join(f"{k}: folder has {json.dumps(a.get(k, '(absent)'))}, given "
                      f"{json.dumps(b.get(k, '(absent)'))}" for k in diff[:6])
    more = f" (and {len(diff) - 6} more)" if len(diff) > 6 else ""
    raise ScenarioError(f"--resume: the scenario differs from the one the run in '{folder}' started with "
                        f"({shown}{more}). Resume with the same file and options (or without FILE, to use "
                        "the folder's own scenario), or start a new run.")


def _git_commit() -> dict[str, Any]:
    """{"git_commit": hash or None, "git_dirty": bool or None} of the source tree, read only."""
    none = {"git_commit": None, "git_dirty": None}
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return none
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5)
        if head.returncode != 0:
            return none
        dirty = subprocess.run(["git", "-C", str(root), "diff-index", "--quiet", "HEAD", "--"],
                               capture_output=True, timeout=5).returncode != 0
        return {"git_commit": head.stdout.strip(), "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return none


def model_fingerprint() -> str:
    """sha256 of the sources that decide a cell's numbers (model, schema, loader).

    A resume compares it with the manifest's, so that one run never mixes cells computed by
    two versions of the model (after a `git pull`, say)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in (*sorted((here / "model").glob("*.py")), here / "config.py", here / "scenario.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _check_same_code(folder: Path, manifest: Mapping[str, Any], design: str | None) -> None:
    """Refuse to resume a run started by other model code (or, for lhs/sobol, another scipy/SALib)."""
    stored = manifest.get("model_fingerprint")
    if stored is not None and stored != model_fingerprint():
        raise RunFolderError(
            f"--resume: the run in '{folder}' was started by a different version of pcnsim's model "
            f"(pcnsim {manifest.get('pcnsim_version', '?')}, commit {manifest.get('git_commit') or '?'}; "
            f"model fingerprint {stored[:12]}, this one {model_fingerprint()[:12]}). Its finished cells "
            "would be mixed with cells computed differently: finish it with the version that started it, "
            "or start a new run.")
    if design in ("lhs", "sobol"):
        now = _versions()
        for package in ("scipy", "SALib"):
            was = (manifest.get("packages") or {}).get(package)
            if was is not None and was != now.get(package):
                raise RunFolderError(
                    f"--resume: the run in '{folder}' drew its {design} design with {package} {was}, and "
                    f"{package} {now.get(package)} is installed here: the design's points could differ. "
                    f"Finish it with {package} {was}, or start a new run.")


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


# --------------------------------------------------------------------------- the result
@dataclass
class RunResult:
    """A finished (or partly failed) run: its folder and its data frames.

    `results` (long form: point, swept keys, replication, metric, value), `summary` (95%
    t-intervals), `sensitivity` (Sobol sweeps, else None), `failed` (cells that raised:
    point, replication, type, message, traceback) and the `manifest`. Weekly series stay on
    disk: `weekly()` reads them, filtered.
    """

    folder: Path
    results: pd.DataFrame
    summary: pd.DataFrame
    sensitivity: pd.DataFrame | None
    failed: list[dict[str, Any]]
    manifest: dict[str, Any]
    swept: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 when every cell finished, 1 when a cell failed (the command line's exit status)."""
        return 1 if self.failed else 0

    @property
    def warmup(self) -> dict[str, Any] | None:
        """The MSER-5 warm-up suggestion recorded in the manifest."""
        return self.manifest.get("warmup_suggestion")

    def weekly(self, metrics: Iterable[str] | str | None = None, point: int | Iterable[int] | None = None,
               replication: int | Iterable[int] | None = None) -> pd.DataFrame:
        """Weekly series (point, replication, week, metric, value), read from disk, filtered."""
        import pandas as pd

        filters = []
        for column, want in (("metric", metrics), ("point", point), ("replication", replication)):
            if want is not None:
                values = [want] if isinstance(want, (str, int)) else list(want)
                filters.append((column, "in", values))
        return pd.read_parquet(self.folder / "weekly.parquet", filters=filters or None)


def load_run(folder: str | Path) -> RunResult:
    """Open a finished run folder: its frames and manifest (weekly series stay on disk)."""
    import pandas as pd

    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        results = pd.read_parquet(folder / "results.parquet")
        summary = pd.read_csv(folder / "summary.csv")
    except (OSError, ValueError) as err:
        raise RunFolderError(f"'{folder}' is not a finished pcnsim run folder ({err})") from None
    sens_path = folder / "sensitivity.csv"
    sensitivity = pd.read_csv(sens_path) if sens_path.is_file() else None
    return RunResult(folder, results, summary, sensitivity, manifest.get("failed_cells", []), manifest,
                     tuple(manifest.get("swept_keys", ())))


# --------------------------------------------------------------------------- running
def _resolve_scenario(scenario: Scenario, replications: int | None, seed: int | None) -> Scenario:
    from pcnsim.scenario import apply_values

    values: dict[str, Any] = {}
    if replications is not None:
        values["run.replications"] = replications
    if seed is not None:
        values["run.seed"] = seed
    if not values:
        return scenario
    sweep = scenario.sweep
    resolved = apply_values(scenario.model_copy(update={"sweep": None}), values, where="option")
    return resolved.model_copy(update={"sweep": sweep})


def _check_targets(targets: Mapping[str, float] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric, rel in (targets or {}).items():
        if isinstance(rel, bool) or not isinstance(rel, (int, float)) or not (0 < float(rel) < math.inf):
            raise ScenarioError(f"--target-halfwidth {metric}={rel}: expected a positive relative half-width "
                                "such as 0.01 (the 95% CI within +/-1% of the mean)")
        out[str(metric)] = float(rel)
    return out


def _make_executor(jobs: int | None, scheduler: str | None, cells: int) -> _LocalPool | _DaskPool | None:
    if scheduler:
        return _DaskPool(scheduler)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ScenarioError(f"--jobs {jobs}: expected a whole number of worker processes, at least 1")
    jobs = min(jobs, max(1, cells))
    return None if jobs == 1 else _LocalPool(jobs)


class _Run:
    """The bookkeeping of one run folder: which cells are done, which failed."""

    def __init__(self, folder: Path, scenarios: list[Scenario], simulate: Callable | None, quiet: bool) -> None:
        self.folder = folder
        self.cells_dir = folder / "cells"
        _mkdir(self.cells_dir)
        for stale in itertools.chain(folder.glob(".*.tmp-*"), self.cells_dir.glob(".*.tmp-*")):
            with contextlib.suppress(OSError):  # leftovers of a killed session; harmless if they stay
                stale.unlink(missing_ok=True)
        self.scenarios = scenarios
        self.simulate = simulate
        self.quiet = quiet
        self.done = {p.stem for p in self.cells_dir.glob("p*-r*.parquet")}
        self.failed: dict[tuple[int, int], dict[str, Any]] = {}
        self.bar: Any = None

    def is_done(self, point: int, rep: int) -> bool:
        return cell_name(point, rep) in self.done

    def record(self, out: CellOutcome) -> None:
        if out.error is None:
            _write_cell(self.cells_dir, out)
            self.done.add(cell_name(out.point, out.replication))
            self.failed.pop((out.point, out.replication), None)
        else:
            self.failed[(out.point, out.replication)] = {"point": out.point, "replication": out.replication,
                                                         **out.error}
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=len(self.failed), refresh=False)

    def execute(self, todo: list[tuple[int, int]], executor: _LocalPool | _DaskPool | None) -> None:
        if executor is None:
            for point, rep in todo:
                self.record(run_cell((point, rep, self.scenarios[point], self.simulate)))
            return
        queue = iter(todo)
        inflight: dict[Any, tuple[int, int]] = {}

        def fill() -> None:
            while len(inflight) < executor.slots:
                cell = next(queue, None)
                if cell is None:
                    return
                inflight[executor.submit((cell[0], cell[1], self.scenarios[cell[0]], self.simulate))] = cell

        try:
            fill()
            while inflight:
                for future in executor.wait_first(list(inflight)):
                    point, rep = inflight.pop(future)
                    self.record(executor.outcome(future, point, rep))
                fill()
        except KeyboardInterrupt:
            if not self.quiet:
                print("\nStopping: waiting for the running cells to finish (Ctrl-C again to abandon them)...",
                      file=sys.stderr)
            try:
                for future in executor.stop(list(inflight)):
                    out = future.result()
                    if out.error is None:
                        self.record(out)
            except KeyboardInterrupt:
                pass
            raise

    def results_so_far(self, points: list[dict[str, Any]], keys: Sequence[str], reps: int) -> pd.DataFrame:
        """Metric rows of the finished cells with replication < reps (for the half-width rule)."""
        import pandas as pd
        import pyarrow.parquet as pq

        frames = []
        for point in range(len(points)):
            for rep in range(reps):
                if self.is_done(point, rep):
                    table = pq.read_table(self.cells_dir / f"{cell_name(point, rep)}.parquet",
                                          filters=[("week", "=", _METRIC_WEEK)])
                    frames.append(pd.DataFrame({"point": point, "replication": rep,
                                                "metric": table.column("metric").to_pylist(),
                                                "value": table.column("value").to_numpy()}))
        if not frames:
            return pd.DataFrame(columns=["point", "replication", "metric", "value"])
        return pd.concat(frames, ignore_index=True)


def run(scenario: Scenario | str | Path, *, replications: int | None = None, seed: int | None = None,
        jobs: int | None = None, scheduler: str | None = None, out: str | Path | None = None,
        resume: bool = False, quiet: bool = False, command_line: str | Sequence[str] | None = None,
        simulate: Callable[[Scenario, int], Any] | None = None, source_path: str | Path | None = None,
        target_halfwidth: Mapping[str, float] | None = None, max_replications: int | None = None,
        outputs_dir: str | Path = "outputs") -> RunResult:
    """Run every point of a scenario's sweep (or the scenario itself) times its replications.

    - ``scenario``: a `Scenario`, or a path / bundled name for `load_scenario`.
    - ``replications``, ``seed``: override ``run.replications`` and ``run.seed``.
    - ``jobs``: local worker processes (default: every core; 1 runs in this process);
      ``scheduler``: a dask.distributed scheduler address (``tcp://host:8786``) instead.
    - ``out``: the run folder (refused if it exists and is not empty, unless ``resume``);
      default ``<outputs_dir>/<name>-<YYYYmmdd-HHMMSS>/``.
    - ``resume``: finish the interrupted run in ``out``; refused if the resolved scenario
      differs from the one the run started with.
    - ``target_halfwidth``: {metric: relative half-width}: after the scenario's
      replications, add replications (the same number at every point, so common random
      numbers still pair them) until every point's 95% CI of each named metric is within
      that fraction of its mean, or ``max_replications`` (default 200) is reached.
    - ``simulate``: the model function (default `pcnsim.model.simulate`); with worker
      processes or dask it must be a module-level (picklable) function.
    - ``quiet``: no progress bar; ``command_line`` and ``source_path`` go into the manifest.

    Returns a `RunResult`. Ctrl-C stops cleanly (finished cells are kept, a message says how
    to resume) and re-raises KeyboardInterrupt. Bad input raises `ScenarioError` or
    `RunFolderError` before anything is written. A folder the system will not write (disk
    full, read-only) raises `RunFolderError` naming it and the reason; finished cells are
    kept, no half-written file is left, and the manifest never says complete.
    """
    started = time.time()
    if not isinstance(scenario, Scenario):
        from pcnsim.scenario import load_scenario_with_source

        scenario, path = load_scenario_with_source(scenario)
        source_path = source_path or path
    scenario = _resolve_scenario(scenario, replications, seed)
    keys, points, scenarios = plan_points(scenario)
    targets = _check_targets(target_halfwidth)
    first_reps = scenario.run.replications
    max_reps = max(first_reps, MAX_REPLICATIONS_DEFAULT if max_replications is None else int(max_replications))
    if simulate is not None and (jobs is None or jobs != 1 or scheduler):
        try:
            pickle.dumps(simulate)
        except Exception:  # noqa: BLE001
            raise ScenarioError("simulate must be a module-level function to run in worker processes "
                                "(or use jobs=1)") from None
    given = scenario.model_dump(mode="json")

    out_path = Path(out) if out is not None else None
    if resume and out_path is None:
        raise RunFolderError("--resume needs --out DIR: the folder of the run to finish")
    if out_path is not None:
        _check_out(out_path, resume)
    manifest: dict[str, Any] = {}
    if resume:
        try:
            manifest = json.loads((out_path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RunFolderError(f"--resume: cannot read '{out_path / 'manifest.json'}' ({err})") from None
        _check_same_scenario(out_path, manifest.get("scenario", {}), given)
        _check_same_code(out_path, manifest, scenario.sweep.kind if scenario.sweep is not None else None)

    executor = _make_executor(jobs, scheduler, len(points) * first_reps)
    folder: Path | None = None
    state: _Run | None = None
    created = False     # this session made the folder (removed again if it keeps nothing)
    recorded = resume   # the folder holds a manifest that a resume can use
    try:
        try:
            if out_path is None:
                folder = _new_folder(scenario.name, Path(outputs_dir))
                created = True
            else:
                created = not out_path.exists()
                _mkdir(out_path, parents=True)
                folder = out_path
            state = _Run(folder, scenarios, simulate, quiet)
            if isinstance(command_line, (list, tuple)):
                command_line = " ".join(command_line)
            session = {"started": _now(), "command": command_line or "pcnsim.run (Python API)",
                       "executor": executor.describe() if executor else {"kind": "in process", "jobs": 1},
                       "cells_done_before": len(state.done)}
            if not resume:
                from pcnsim.scenario import dump_yaml

                manifest = _base_manifest(scenario, source_path, keys, len(points), targets, max_reps)
                _atomic_write_text(folder / "scenario.yaml", dump_yaml(scenario))
            manifest.setdefault("sessions", []).append(session)
            manifest.update(status="running", finished=None, command=session["command"],
                            executor=session["executor"])
            if not resume:
                manifest["started"] = session["started"]
            _atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
            recorded = True

            reps = int(manifest.get("replications") or first_reps) if resume else first_reps
            reps = max(reps, first_reps)
            try:
                reps = _execute_all(state, executor, points, keys, reps, targets, max_reps, scenario.name)
            except KeyboardInterrupt:
                session["finished"] = _now()
                session["wall_seconds"] = round(time.time() - started, 3)
                manifest.update(status="interrupted", replications=reps,
                                failed_cells=list(state.failed.values()))
                _atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
                total = len(points) * reps
                print(f"Interrupted: {len(state.done)} of {total} cells finished and are kept in {folder}.\n"
                      f"Resume with:  pcnsim run --out {folder} --resume", file=sys.stderr)
                raise
            except PcnsimError as err:  # e.g. a worker process died: keep the record straight
                session["finished"] = _now()
                manifest.update(status="stopped", replications=reps, error=str(err),
                                failed_cells=list(state.failed.values()))
                _atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
                raise
        finally:
            if executor is not None:
                executor.close()

        session["finished"] = _now()
        session["wall_seconds"] = round(time.time() - started, 3)
        return _finish(state, scenario, manifest, points, keys, reps)
    except _WriteFailed as failed:
        raise _write_failure(failed, folder, state, manifest, created, recorded) from None


def _write_failure(failed: _WriteFailed, folder: Path | None, state: _Run | None, manifest: dict[str, Any],
                   created: bool, recorded: bool) -> RunFolderError:
    """The message for a run folder the system will not write to; keep what is whole, tidy the rest.

    Finished cells stay (nothing lost) and the manifest is marked stopped if the disk still
    allows it, so it never claims completion. A new run stopped before its first manifest
    removes what it made, so the same command can simply be run again.
    """
    reason = failed.reason
    if folder is None or failed.path == folder:
        return RunFolderError(f"cannot create the folder '{failed.path}': {reason}. Choose a run folder that "
                              "can be written to (--out DIR), or make room on the disk and try again.")
    what = failed.path.relative_to(folder) if failed.path.is_relative_to(folder) else failed.path
    head = f"cannot write to the run folder '{folder}' (writing {what}): {reason}."
    if not recorded:
        made = [folder / "scenario.yaml", folder / "cells", *([folder] if created else [])]
        for path in made:  # each on its own: one refusal must not skip the rest
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
        return RunFolderError(f"{head} Nothing was kept. Make room on the disk or choose a folder that can be "
                              "written to (--out), then run the command again.")
    manifest.update(status="stopped", error=head, finished=_now())
    with contextlib.suppress(_WriteFailed):  # a full or read-only disk may refuse this too: 'running' stays
        _atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    done = len(state.done) if state is not None else 0
    return RunFolderError(f"{head} The cells that finished ({done}) are kept in {folder / 'cells'}. Make room "
                          f"on the disk (or make the folder writable), then finish the run with: "
                          f"pcnsim run --out {folder} --resume")


def _base_manifest(scenario: Scenario, source_path: Any, keys: Sequence[str], n_points: int,
                   targets: Mapping[str, float], max_reps: int) -> dict[str, Any]:
    from pcnsim import model

    seed = scenario.run.seed
    return {
        "manifest_version": MANIFEST_VERSION,
        "pcnsim_version": __version__,
        **_git_commit(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": _versions(),
        "model_fingerprint": model_fingerprint(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "name": scenario.name,
        "source_path": str(source_path) if source_path is not None else None,
        "scenario": scenario.model_dump(mode="json"),
        "sweep_kind": scenario.sweep.kind if scenario.sweep is not None else None,
        "swept_keys": list(keys),
        "points": n_points,
        "seed": seed,
        "seeds": {
            "scheme": model.STREAM_SCHEME,
            "entropy": seed,
            "spawn_key": model.STREAM_SPAWN_KEY,
            "stream_names": model.STREAM_NAME_PATTERN,
            "processes": list(model.STREAM_PROCESSES),
            "design_seed": seed if scenario.sweep is not None and scenario.sweep.kind in ("lhs", "sobol") else None,
        },
        "warmup_weeks": scenario.run.warmup_weeks,
        "horizon_weeks": scenario.run.horizon_weeks,
        "replications": scenario.run.replications,
        "replications_requested": scenario.run.replications,
        "target_halfwidth": dict(targets) or None,
        "max_replications": max_reps if targets else None,
    }


def _execute_all(state: _Run, executor: Any, points: list[dict[str, Any]], keys: Sequence[str], reps: int,
                 targets: Mapping[str, float], max_reps: int, name: str) -> int:
    from tqdm.auto import tqdm

    n_points = len(points)

    def todo_for(r: int) -> list[tuple[int, int]]:
        return [(p, i) for p in range(n_points) for i in range(r) if not state.is_done(p, i)]

    todo = todo_for(reps)
    state.bar = tqdm(total=n_points * reps, initial=n_points * reps - len(todo), desc=name, unit="cell",
                     file=sys.stderr, disable=state.quiet, dynamic_ncols=True, mininterval=0.5)
    try:
        while True:
            state.execute(todo, executor)
            if not targets or state.failed:
                return reps
            from pcnsim import analysis   # after the first cells are out: workers start meanwhile

            summary = analysis.summarise(state.results_so_far(points, keys, reps), by=["point"])
            need = analysis.replications_needed(summary, targets)
            if need <= reps:
                return reps
            if reps >= max_reps:
                if not state.quiet:
                    print(f"\nThe target half-width needs about {need} replications; stopped at the maximum, "
                          f"{max_reps}.", file=sys.stderr)
                return reps
            reps = min(max_reps, max(need, reps + 1))
            todo = todo_for(reps)
            state.bar.total = n_points * reps
            state.bar.refresh()
    finally:
        state.bar.close()
        state.bar = None


def _finish(state: _Run, scenario: Scenario, manifest: dict[str, Any], points: list[dict[str, Any]],
            keys: Sequence[str], reps: int) -> RunResult:
    """Combine the cell files, in (point, replication) order, into the run folder's files."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pcnsim import analysis

    folder = state.folder
    metric_cols: dict[str, list[np.ndarray]] = {"point": [], "replication": [], "metric": [], "value": []}
    per_cell_events: list[list[int]] = []
    pcns_total = 0
    cell_seconds = 0.0
    sums: dict[tuple[int, str], np.ndarray] = {}   # one point's series at a time (memory stays flat)
    counts: dict[tuple[int, str], int] = {}
    truncation: dict[str, int] = {}                  # MSER-5 weeks per series, largest over points
    pending: list[pa.Table] = []
    pending_rows = 0
    weekly_schema = _schemas()[1]
    with _written(folder / "weekly.parquet") as weekly_tmp, \
            pq.ParquetWriter(weekly_tmp, weekly_schema, compression="zstd") as writer:
        for point in range(len(points)):
            for rep in range(reps):
                if not state.is_done(point, rep):
                    continue
                table, info = _read_cell(state.cells_dir / f"{cell_name(point, rep)}.parquet")
                per_cell_events.append([point, rep, int(info.get("events", 0))])
                pcns_total += int(info.get("pcns", 0))
                cell_seconds += float(info.get("seconds", 0.0))
                week = table.column("week").to_numpy()
                metric = table.column("metric").to_numpy(zero_copy_only=False)
                value = table.column("value").to_numpy()
                is_metric = week == _METRIC_WEEK
                n_metrics = int(is_metric.sum())
                metric_cols["point"].append(np.full(n_metrics, point, np.int64))
                metric_cols["replication"].append(np.full(n_metrics, rep, np.int64))
                metric_cols["metric"].append(metric[is_metric])
                metric_cols["value"].append(value[is_metric])
                weekly = table.filter(pa.array(~is_metric))
                if weekly.num_rows:
                    n = weekly.num_rows
                    pending.append(pa.table({"point": pa.array(np.full(n, point, np.int64)),
                                             "replication": pa.array(np.full(n, rep, np.int64)),
                                             "week": weekly.column("week"), "metric": weekly.column("metric"),
                                             "value": weekly.column("value")}, schema=weekly_schema))
                    pending_rows += n
                    if pending_rows >= _WEEKLY_ROWS_PER_GROUP:
                        writer.write_table(pa.concat_tables(pending), row_group_size=_WEEKLY_ROWS_PER_GROUP)
                        pending, pending_rows = [], 0
                    _accumulate(sums, counts, point, week[~is_metric], metric[~is_metric], value[~is_metric])
            _truncate_point(sums, counts, truncation)
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=_WEEKLY_ROWS_PER_GROUP)

    results = _results_frame(metric_cols, points, keys)
    summary = analysis.summarise(results, by=["point", *keys])
    sensitivity = None
    if scenario.sweep is not None and scenario.sweep.kind == "sobol":
        problem = analysis.sobol_problem(scenario.sweep.sobol.ranges)
        sensitivity = analysis.sensitivity(results, problem, len(points), seed=scenario.run.seed)
    _atomic_write_frame(folder / "results.parquet", results)
    _atomic_write_frame(folder / "results.csv", results)
    _atomic_write_frame(folder / "summary.csv", summary)
    if sensitivity is not None:
        _atomic_write_frame(folder / "sensitivity.csv", sensitivity)

    failed = sorted(state.failed.values(), key=lambda f: (f["point"], f["replication"]))
    session = manifest["sessions"][-1]
    manifest["seeds"]["per_replication"] = [{"replication": r, "entropy": scenario.run.seed, "spawn_key_prefix": [r]}
                                            for r in range(reps)]
    manifest.update({
        "status": "failed" if failed else "complete",
        "finished": session.get("finished"),
        "wall_seconds": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 3),
        "replications": reps,
        "cells": {"total": len(points) * reps, "finished": len(per_cell_events), "failed": len(failed),
                  "cpu_seconds": round(cell_seconds, 3)},
        "simpy_events": {"total": int(sum(e[2] for e in per_cell_events)),
                         "per_cell": per_cell_events, "columns": ["point", "replication", "events"]},
        "pcns_simulated": pcns_total,
        "failed_cells": failed,
        "warmup_suggestion": _warmup_suggestion(truncation, scenario.run.warmup_weeks),
    })
    _atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    return RunResult(folder, results, summary, sensitivity, failed, manifest, tuple(keys))


def _accumulate(sums: dict, counts: dict, point: int, week: np.ndarray, metric: np.ndarray,
                value: np.ndarray) -> None:
    """Add one cell's weekly series to the per-point sums (for the MSER-5 suggestion).

    A cell file holds each series contiguously, weeks ascending (see `_write_cell`)."""
    if metric.size == 0:
        return
    change = np.flatnonzero(metric[1:] != metric[:-1]) + 1
    for lo, hi in zip([0, *change], [*change, metric.size]):
        key = (point, str(metric[lo]))
        weeks = week[lo:hi]
        series = np.zeros(int(weeks.max()) + 1)
        series[weeks] = value[lo:hi]
        if key not in sums:
            sums[key], counts[key] = series, 1
        elif sums[key].size == series.size:
            sums[key] += series
            counts[key] += 1


def _truncate_point(sums: dict, counts: dict, truncation: dict[str, int]) -> None:
    """MSER-5 on the replication means of one point's weekly series; then forget them."""
    from pcnsim import analysis

    for (point, metric), total in sums.items():
        weeks = analysis.mser5(total / counts[(point, metric)])
        truncation[metric] = max(truncation.get(metric, 0), weeks)
    sums.clear()
    counts.clear()


def _warmup_suggestion(by_metric: dict[str, int], warmup_weeks: int) -> dict[str, Any] | None:
    if not by_metric:
        return None
    key = [m for m in WARMUP_SERIES if m in by_metric] or sorted(by_metric)
    return {
        "method": "MSER-5 on the mean over replications of each weekly series (every week from 0), "
                  "the largest truncation over sweep points; batches of 5 weeks, searched over the "
                  "first half of the series",
        "current_warmup_weeks": warmup_weeks,
        "key_series": key,
        "suggested_weeks": max(by_metric[m] for m in key),
        "by_series": dict(sorted(by_metric.items())),
    }


def _results_frame(cols: dict[str, list[np.ndarray]], points: list[dict[str, Any]],
                   keys: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    columns = ["point", *keys, "replication", "metric", "value"]
    if not cols["point"]:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "object") for c in columns})
    results = pd.DataFrame({
        "point": np.concatenate(cols["point"]), "replication": np.concatenate(cols["replication"]),
        "metric": pd.array(np.concatenate(cols["metric"]), dtype="str"),
        "value": np.concatenate(cols["value"]).astype("float64")})
    index = results["point"].to_numpy()
    for i, key in enumerate(keys):
        results.insert(1 + i, key, pd.Series([points[p][key] for p in range(len(points))]).iloc[index].to_numpy())
    return results[columns]
