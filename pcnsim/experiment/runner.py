"""`run`: every point of a scenario's sweep times every replication, resumable, in parallel.

A run is a set of cells (`pcnsim.experiment.cells`); each finished cell is kept at once, so
an interrupted run loses only the cells that were running and `resume=True` finishes it,
redoing nothing. When every cell is done, `combine` writes the run folder's files.

The library prints nothing: progress goes to the `progress` callback as `Progress` events,
and messages (stopping, interrupted, the half-width cap) to the `logging` logger
`pcnsim.experiment` (the command line shows both on the terminal).
"""
from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import logging
import math
import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from pcnsim.config import Scenario
from pcnsim.errors import ClusterError, ModelMismatchError, PcnsimError, RunFolderError, ScenarioError
from pcnsim.experiment.cells import (FOREIGN_SCENARIO, CellOutcome, cell_name, cell_problem, read_cell_metrics,
                                     write_cell)
from pcnsim.experiment.combine import combine, load_ahead
from pcnsim.experiment.designs import plan_points
from pcnsim.experiment.executors import Executor, InProcess, make_executor
from pcnsim.experiment.folder import (FolderLock, RunData, WriteFailed, check_out, claim_folder, local_path,
                                      lock_folder, make_dir, new_folder, write_text_atomic)
from pcnsim.experiment.manifest import (base_manifest, check_same_code, check_same_scenario, model_fingerprint, now,
                                        scenario_fingerprint)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("pcnsim.experiment")
MAX_REPLICATIONS_DEFAULT = 200
#: The most replications a run may reach (as `run.replications` at most), `--max-replications` included.
MAX_REPLICATIONS = 100_000
#: The most cells (points x replications) a run may plan: its list of cells to do is held in
#: memory, and 10 million cells is years of computing.
MAX_CELLS = 10_000_000


@dataclass(frozen=True)
class Progress:
    """Where a run stands, for `run(progress=...)`: sent when the cells start, after each cell,
    when the target half-width adds replications, and once more when the cells end (`closed`)."""

    name: str
    done: int        # cells finished or failed so far, earlier sessions included
    total: int
    failed: int = 0
    closed: bool = False


class _Run:
    """The bookkeeping of one run folder: which cells are done, which failed; reports progress."""

    def __init__(self, folder: Path, scenarios: list[Scenario], simulate: Callable | None,
                 progress: Callable[[Progress], None] | None, name: str, fingerprint: str,
                 scenario_fp: str = "") -> None:
        self.folder = folder
        self.cells_dir = folder / "cells"
        make_dir(self.cells_dir)
        for stale in itertools.chain(folder.glob(".*.tmp-*"), self.cells_dir.glob(".*.tmp-*")):
            with contextlib.suppress(OSError):  # leftovers of a killed session; harmless if they stay
                stale.unlink(missing_ok=True)
        self.scenarios = scenarios
        self.simulate = simulate
        self.progress = progress
        self.name = name
        self.fingerprint = fingerprint
        self.scenario_fp = scenario_fp   # the run's scenario (`manifest.scenario_fingerprint`)
        self.done = self._whole_cells()
        self.failed: dict[tuple[int, int], dict[str, Any]] = {}
        self.position = 0       # cells counted for the progress report
        self.total = 0
        self.abandoned = False  # a second Ctrl-C: do not wait for the running cells

    def _whole_cells(self) -> set[str]:
        """The finished cells kept in `cells/`; an empty, corrupt or foreign one (a power cut, a
        copy from another run) is removed, with a warning, so that it is run again."""
        done = set()
        bad = []
        foreign = []
        for path in sorted(self.cells_dir.glob("p*-r*.parquet")):
            problem = cell_problem(path, self.fingerprint, self.scenario_fp)
            if problem == FOREIGN_SCENARIO:
                foreign.append(path.name)
                continue
            if problem is None:
                done.add(path.stem)
                continue
            bad.append(f"{path.name} ({problem})")
            with contextlib.suppress(OSError):
                path.unlink()
        if bad:
            log.warning("%d cell file(s) in %s could not be used and will be run again: %s", len(bad),
                        self.cells_dir, ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""))
        if foreign:   # not redone quietly: another run wrote here, and what else it did is unknown
            raise RunFolderError(
                f"--resume: {len(foreign)} cell file(s) in '{self.cells_dir}' ({', '.join(foreign[:3])}"
                f"{' and more' if len(foreign) > 3 else ''}) were computed for another scenario than the run's "
                f"(the manifest's scenario_fingerprint {self.scenario_fp[:12]}): another run wrote into this "
                "folder, so its cells are mixed. Start a new run in a new folder (or delete those cell files, "
                "then resume).")
        return done

    def is_done(self, point: int, rep: int) -> bool:
        return cell_name(point, rep) in self.done

    def report(self, closed: bool = False) -> None:
        if self.progress is not None:
            self.progress(Progress(self.name, self.position, self.total, len(self.failed), closed))

    def record(self, out: CellOutcome) -> None:
        if out.error is None and out.fingerprint != self.fingerprint:
            raise ModelMismatchError(
                f"a worker computed cell {cell_name(out.point, out.replication)} with other model code than "
                f"this run's (model fingerprint {out.fingerprint[:12] or 'none'}, the run's "
                f"{self.fingerprint[:12]}): its cells would be mixed with cells computed differently. "
                "The cell was discarded and the run stopped. Install the same pcnsim on every worker "
                "(`pcnsim --version`, and the same model files), then resume.")
        if out.error is None:
            write_cell(self.cells_dir, out, self.scenario_fp)
            self.done.add(cell_name(out.point, out.replication))
            self.failed.pop((out.point, out.replication), None)
        else:
            self.failed[(out.point, out.replication)] = {"point": out.point, "replication": out.replication,
                                                         **out.error}
        self.position += 1
        self.report()

    def execute(self, todo: list[tuple[int, int]], executor: Executor) -> None:
        """Run the cells `todo`, keeping `executor.slots` in flight and recording each as it ends."""
        queue = iter(todo)

        def fill() -> None:
            while executor.in_flight < executor.slots:
                cell = next(queue, None)
                if cell is None:
                    return
                executor.submit((cell[0], cell[1], self.scenarios[cell[0]], self.simulate))

        try:
            fill()
            while executor.in_flight:
                for out in executor.finished():
                    self.record(out)
                fill()
        except KeyboardInterrupt:
            if executor.in_flight:   # in process, Ctrl-C stopped the running cell itself
                log.info("Stopping: waiting for the running cells to finish (Ctrl-C again to abandon them)...")
            try:
                for out in executor.cancel():
                    if out.error is None:
                        self.record(out)
            except KeyboardInterrupt:
                self.abandoned = True
            raise

    def results_so_far(self, n_points: int, reps: int) -> pd.DataFrame:
        """Metric rows of the finished cells with replication < reps (for the half-width rule)."""
        import pandas as pd

        frames = []
        for point in range(n_points):
            for rep in range(reps):
                if self.is_done(point, rep):
                    names, values = read_cell_metrics(self.cells_dir / f"{cell_name(point, rep)}.parquet")
                    frames.append(pd.DataFrame({"point": point, "replication": rep, "metric": names,
                                                "value": values}))
        if not frames:
            return pd.DataFrame(columns=["point", "replication", "metric", "value"])
        return pd.concat(frames, ignore_index=True)

    def execute_all(self, executor: Executor, n_points: int, reps: int, targets: Mapping[str, float],
                    max_reps: int) -> int:
        """Run every cell not yet done, adding replications for the target half-width; the replications."""
        def todo_for(r: int) -> list[tuple[int, int]]:
            cells = [(p, i) for p in range(n_points) for i in range(r) if not self.is_done(p, i)]
            if executor.jobs > 1:   # the largest cells first, so that the workers finish together
                cost = [_pcn_years(s) for s in self.scenarios]
                cells.sort(key=lambda cell: -cost[cell[0]])   # stable: point and replication order within a size
            return cells

        todo = todo_for(reps)
        self.total = n_points * reps
        self.position = self.total - len(todo)
        self.report()
        try:
            while True:
                self.execute(todo, executor)
                if not targets or self.failed:
                    return reps
                from pcnsim import analysis   # after the first cells are out: workers start meanwhile

                so_far = self.results_so_far(n_points, reps)
                missing = sorted(set(targets) - set(so_far["metric"]))
                if missing and len(so_far):
                    raise ScenarioError(f"--target-halfwidth: the run has no metric {', '.join(missing)}; "
                                        "the metrics are the `metric` column of summary.csv")
                summary = analysis.summarise(so_far, by=["point"])
                need = analysis.replications_needed(summary, targets)
                if need <= reps:
                    return reps
                if reps >= max_reps:
                    log.info("The target half-width needs about %d replications; stopped at the maximum, %d.",
                             need, max_reps)
                    return reps
                reps = min(max_reps, max(need, reps + 1))
                todo = todo_for(reps)
                self.total = n_points * reps
                self.report()
        finally:
            self.report(closed=True)


def run(scenario: Scenario | str | Path, *, replications: int | None = None, seed: int | None = None,
        jobs: int | None = None, scheduler: str | None = None, out: str | Path | None = None,
        resume: bool = False, quiet: bool = False, command_line: str | Sequence[str] | None = None,
        simulate: Callable[[Scenario, int], Any] | None = None, source_path: str | Path | None = None,
        target_halfwidth: Mapping[str, float] | None = None, max_replications: int | None = None,
        outputs_dir: str | Path = "outputs", progress: Callable[[Progress], None] | None = None,
        cluster_timeout: float | None = None, allow_unverified_model: bool = False,
        changes: Sequence[str] | None = None, based_on: str | None = None,
        executor: Executor | None = None) -> RunData:
    """Run every point of a scenario's sweep (or the scenario itself) times its replications.

    - ``scenario``: a `Scenario`, or a path / bundled name for `load_scenario`.
    - ``replications``, ``seed``: override ``run.replications`` and ``run.seed``.
    - ``jobs``: local worker processes (default None: one process when the run is small, every
      core when workers pay, `executors.auto_jobs`; 1 runs in this process; more than the cores
      is capped at the cores); ``scheduler``: a dask.distributed scheduler
      address (``tcp://host:8786``) instead.
    - ``cluster_timeout``: seconds a dask cluster may be without a scheduler connection or
      without workers before the run stops, and a worker without a heartbeat before it counts
      as gone (default `executors.CLUSTER_TIMEOUT`, 30).
    - ``out``: the run folder (refused if it exists and is not empty, unless ``resume``);
      default ``<outputs_dir>/<name>-<YYYYmmdd-HHMMSS>/``.
    - ``resume``: finish the interrupted run in ``out``; refused if the resolved scenario
      differs from the one the run started with, or if the run was started by other model
      code, or by an older pcnsim that recorded no model fingerprint (unless
      ``allow_unverified_model``).
    - ``target_halfwidth``: {metric: relative half-width}: after the scenario's
      replications, add replications (the same number at every point, so common random
      numbers still pair them) until every point's 95% CI of each named metric is within
      that fraction of its mean, or ``max_replications`` (default 200) is reached.
    - ``simulate``: the model function (default `pcnsim.model.simulate`); with worker
      processes or dask it must be a module-level (picklable) function.
    - ``progress``: called with a `Progress` event as cells finish (``quiet`` sends none);
      messages go to the `logging` logger ``pcnsim.experiment``. Nothing is printed.
    - ``command_line`` and ``source_path`` go into the manifest.
    - ``executor``: a pool to run the cells in, kept warm across runs (a `LocalPool` made with
      ``shared=True``: the app's); it replaces ``jobs`` and ``scheduler``, and is not shut down.
    - ``changes``: the run's changes from the scenario it starts from, in words
      (`pcnsim.scenario.changes.describe_changes`), and ``based_on``, that scenario's name: both
      go into the manifest (`changes`, `based_on`), and every page, sheet and figure states them.

    With worker processes (``jobs`` > 1), a script that calls this must do so under
    ``if __name__ == "__main__":`` (the workers are spawned and re-import the script).

    Returns a `RunData` (alias `RunResult`). Ctrl-C stops cleanly (finished cells are kept,
    a warning logged says how to resume) and re-raises KeyboardInterrupt. Bad input raises
    `ScenarioError` or `RunFolderError` before anything is written. A folder the system will
    not write (disk full, read-only) raises `RunFolderError` naming it and the reason;
    finished cells are kept, no half-written file is left, and the manifest never says complete.
    A lost cluster or dead worker process raises `ClusterError` (finished cells kept, the
    manifest `interrupted`, the message gives the resume command); a cell computed by other
    model code raises `ModelMismatchError` (the cell discarded, the manifest `stopped`).
    A run that stops before any cell finished leaves no run folder behind.
    """
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A worker process re-importing a script that starts a run at import time (no
        # `if __name__ == "__main__":`): end this worker quietly; the parent explains.
        raise SystemExit(1)
    started = time.time()
    locks: list[FolderLock] = []   # the run folder's lock: one writer at a time, released however the run ends
    told: list[bool] = []          # a signal's outcome was logged (kept cells, the resume command)
    folder: Path | None = None
    state: _Run | None = None
    created, recorded, manifest = False, resume, {}
    try:
        if not isinstance(scenario, Scenario):
            from pcnsim.scenario import load_scenario_with_source

            scenario, path = load_scenario_with_source(scenario)
            source_path = source_path or path
        scenario = _resolve_scenario(scenario, replications, seed)
        targets = _check_targets(target_halfwidth)
        keys, points, scenarios = plan_points(scenario)
        first_reps = scenario.run.replications
        max_reps = max(first_reps, MAX_REPLICATIONS_DEFAULT if max_replications is None
                       else _check_max_replications(max_replications))
        _check_cells(len(points), first_reps, max_reps if targets else first_reps)
        if simulate is not None and (jobs is None or jobs != 1 or scheduler):
            try:
                pickle.dumps(simulate)
            except Exception:  # noqa: BLE001
                raise ScenarioError("simulate must be a module-level function to run in worker processes "
                                    "(or use jobs=1)") from None
        given = scenario.model_dump(mode="json")

        out_path = local_path(out) if out is not None else None
        if resume and out_path is None:
            raise RunFolderError("--resume needs --out DIR: the folder of the run to finish")
        if out_path is not None:
            check_out(out_path, resume)
        if resume:   # before its manifest is read: a run still writing the folder is refused
            locks.append(claim_folder(out_path, True)[0])
        manifest: dict[str, Any] = {}
        if resume:
            try:
                manifest = json.loads((out_path / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise RunFolderError(f"--resume: cannot read '{out_path / 'manifest.json'}' ({err})") from None
            if not isinstance(manifest, dict):
                raise RunFolderError(f"--resume: '{out_path / 'manifest.json'}' does not hold a JSON object")
            check_same_scenario(out_path, manifest.get("scenario", {}), given)
            check_same_code(out_path, manifest, scenario.sweep.kind if scenario.sweep is not None else None,
                            allow_unverified_model)
            manifest.setdefault("scenario_fingerprint", scenario_fingerprint(given))   # from an older pcnsim
        fingerprint = model_fingerprint()
        scenario_fp = scenario_fingerprint(given)

        if executor is None:
            executor = make_executor(jobs, scheduler, len(points) * first_reps, cluster_timeout,
                                     pcn_years=first_reps * sum(_pcn_years(s) for s in scenarios),
                                     preload=simulate is None)
        if executor.kind != InProcess.kind:   # this process mostly waits for the workers
            load_ahead()
        folder: Path | None = None
        state: _Run | None = None
        created = False     # this session made the folder (removed again if it keeps nothing)
        recorded = resume   # the folder holds a manifest that a resume can use
        try:
            try:
                if out_path is None:
                    folder = new_folder(scenario.name, local_path(outputs_dir))
                    created = True
                    lock = lock_folder(folder)
                    if lock is not None:
                        locks.append(lock)
                elif resume:
                    folder = out_path
                else:   # the atomic claim: of two runs into one --out, one alone gets here
                    lock, created = claim_folder(out_path, False)
                    locks.append(lock)
                    folder = out_path
                state = _Run(folder, scenarios, simulate, None if quiet else progress, scenario.name, fingerprint,
                             scenario_fp)
                if isinstance(command_line, (list, tuple)):
                    command_line = " ".join(command_line)
                session = {"started": now(), "command": command_line or "pcnsim.run (Python API)",
                           "executor": executor.describe(),
                           "cells_done_before": len(state.done)}
                if not resume:
                    from pcnsim.scenario import dump_yaml

                    manifest = base_manifest(scenario, source_path, keys, len(points), targets, max_reps, fingerprint)
                    manifest["scenario_fingerprint"] = scenario_fp
                    manifest["changes"] = [str(c) for c in (changes or ())]
                    manifest["based_on"] = based_on or scenario.name
                    write_text_atomic(folder / "scenario.yaml", dump_yaml(scenario))
                manifest.setdefault("sessions", []).append(session)
                manifest.update(status="running", finished=None, command=session["command"],
                                executor=session["executor"])
                if not resume:
                    manifest["started"] = session["started"]
                write_text_atomic(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
                recorded = True

                reps = int(manifest.get("replications") or first_reps) if resume else first_reps
                reps = max(reps, first_reps)
                try:
                    reps = state.execute_all(executor, len(points), reps, targets, max_reps)
                except (KeyboardInterrupt, ClusterError) as err:
                    if created and not state.done:   # nothing to resume: leave no folder behind
                        _remove_run_folder(folder)
                        if isinstance(err, KeyboardInterrupt):
                            log.warning("Interrupted before any cell finished; nothing was kept.")
                            told.append(True)
                            raise
                        raise ClusterError(f"{str(err).rstrip('.')}. No cell had finished, so no run folder was "
                                           "kept.") from None
                    _stopped(manifest, session, started, "interrupted", reps, state, len(points))
                    resume_with = f"pcnsim run --out {folder} --resume"
                    if isinstance(err, KeyboardInterrupt):
                        log.warning("Interrupted: %d of %d cells finished and are kept in %s.\n"
                                    "Resume with:  %s", len(state.done), len(points) * reps, folder, resume_with)
                        told.append(True)
                        raise
                    raise ClusterError(f"The run stopped: {str(err).rstrip('.')}. The {len(state.done)} of {len(points) * reps} cells "
                                       f"that finished are kept in {folder}; once the cluster (or the machine) is "
                                       f"back, resume with: {resume_with}") from None
                except PcnsimError as err:  # e.g. a cell of other model code: keep the record straight
                    if created and not state.done:
                        _remove_run_folder(folder)
                        raise
                    _stopped(manifest, session, started, "stopped", reps, state, len(points), error=str(err))
                    raise
                except Exception as err:  # noqa: BLE001 - unexpected: still no junk folder, and the reason recorded
                    if isinstance(err, WriteFailed):
                        raise
                    if created and not state.done:
                        _remove_run_folder(folder)
                        raise
                    with contextlib.suppress(Exception):
                        _stopped(manifest, session, started, "stopped", reps, state, len(points),
                                 error=f"{type(err).__name__}: {err}")
                    raise
            finally:
                executor.close(wait=not (executor.abandoned or (state is not None and state.abandoned)))

            session["finished"] = now()
            session["wall_seconds"] = round(time.time() - started, 3)
            try:
                return combine(folder, state.is_done, list(state.failed.values()), scenario, manifest, points,
                               keys, reps)
            except KeyboardInterrupt:   # Ctrl-C or SIGTERM while the cells are combined: resumable
                _stopped(manifest, session, started, "interrupted", reps, state, len(points))
                log.warning("Interrupted while the results were combined: every one of the %d finished cells is "
                            "kept in %s.\nResume with:  pcnsim run --out %s --resume", len(state.done), folder,
                            folder)
                told.append(True)
                raise
        except WriteFailed as failed:
            raise _write_failure(failed, folder, state, manifest, created, recorded) from None
    except KeyboardInterrupt:   # Ctrl-C or SIGTERM outside the cells and the combining: said, and tidy
        if not told:
            _interrupted_outside_cells(folder, created, recorded, manifest, state, started)
        raise
    finally:
        for lock in locks:
            lock.release()


def _pcn_years(scenario: Scenario) -> float:
    """PCN-years one cell of a scenario point simulates (its PCNs times its years, warm-up included):
    the size of its work, for the default `--jobs` and for handing out the largest cells first."""
    return scenario.ics.pcns * scenario.run.horizon_weeks / 52


def _stopped(manifest: dict[str, Any], session: dict[str, Any], started: float, status: str, reps: int,
             state: _Run, n_points: int, error: str | None = None) -> None:
    """Record a run that stopped before the end: its status and the cells it keeps."""
    session["finished"] = now()
    session["wall_seconds"] = round(time.time() - started, 3)
    manifest.update(status=status, replications=reps, failed_cells=list(state.failed.values()),
                    cells={"total": n_points * reps, "finished": len(state.done), "failed": len(state.failed)},
                    finished_cells=sorted(state.done))
    if error is not None:
        manifest["error"] = error
    write_text_atomic(state.folder / "manifest.json", json.dumps(manifest, indent=2, default=str))


def _interrupted_outside_cells(folder: Path | None, created: bool, recorded: bool, manifest: dict[str, Any],
                               state: _Run | None, started: float) -> None:
    """A signal while the run was planned or its folder prepared: say so and leave nothing half-made.

    Before the folder exists nothing was written; a folder this session created holds no cell
    yet and is removed; a resumed run's manifest says `interrupted`, with the resume command."""
    if folder is None:
        log.warning("Interrupted before the run started: nothing was written.")
    elif created and (state is None or not state.done):
        _remove_run_folder(folder)
        log.warning("Interrupted before any cell finished; nothing was kept.")
    else:
        if recorded and state is not None and manifest.get("sessions"):
            with contextlib.suppress(Exception):
                _stopped(manifest, manifest["sessions"][-1], started, "interrupted",
                         int(manifest.get("replications") or 0), state, int(manifest.get("points") or 0))
        log.warning("Interrupted: the cells that finished are kept in %s.\nResume with:  pcnsim run --out %s "
                    "--resume", folder, folder)


def _remove_run_folder(folder: Path) -> None:
    """Remove a run folder this session created and in which no cell finished (nothing to resume)."""
    with contextlib.suppress(OSError):
        shutil.rmtree(folder)


def _write_failure(failed: WriteFailed, folder: Path | None, state: _Run | None, manifest: dict[str, Any],
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
    manifest.update(status="stopped", error=head, finished=now())
    with contextlib.suppress(WriteFailed):  # a full or read-only disk may refuse this too: 'running' stays
        write_text_atomic(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    done = len(state.done) if state is not None else 0
    return RunFolderError(f"{head} The cells that finished ({done}) are kept in {folder / 'cells'}. Make room "
                          f"on the disk (or make the folder writable), then finish the run with: "
                          f"pcnsim run --out {folder} --resume")


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


def _check_max_replications(value: Any) -> int:
    """`max_replications` as a whole number from 1 to `MAX_REPLICATIONS`, or a `ScenarioError`."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) \
        and float(value).is_integer()
    if not ok or not 1 <= value <= MAX_REPLICATIONS:
        shown = f"{value:,}" if ok else repr(value)
        raise ScenarioError(f"--max-replications {shown}: expected a whole number from 1 to {MAX_REPLICATIONS:,} "
                            "(the most replications a run may have, as run.replications).")
    return int(value)


def _check_cells(n_points: int, reps: int, max_reps: int) -> None:
    """Refuse a run that could plan more than `MAX_CELLS` cells, before it plans them."""
    for count, what in ((n_points * reps, f"{reps:,} replications"),
                        (n_points * max_reps, f"up to --max-replications {max_reps:,}")):
        if count > MAX_CELLS:
            raise ScenarioError(f"the run would have {n_points:,} points x {what} = {count:,} cells, more than the "
                                f"maximum of {MAX_CELLS:,}; sweep fewer points or run fewer replications.")


def _check_targets(targets: Mapping[str, float] | None) -> dict[str, float]:
    from pcnsim import metrics

    out: dict[str, float] = {}
    for metric, rel in (targets or {}).items():
        if metrics.lookup(str(metric)) is None:
            near = difflib.get_close_matches(str(metric), list(metrics.CATALOGUE), n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise ScenarioError(f"--target-halfwidth {metric}={rel}: '{metric}' is not a pcnsim metric; {hint}"
                                "the metrics are the `metric` column of summary.csv (e.g. appointments_per_year, "
                                "cd_overtime_hours_per_week); docs/model.md lists them all")
        if isinstance(rel, bool) or not isinstance(rel, (int, float)) or not (0 < float(rel) < math.inf):
            raise ScenarioError(f"--target-halfwidth {metric}={rel}: expected a positive relative half-width "
                                "such as 0.01 (the 95% CI within +/-1% of the mean)")
        out[str(metric)] = float(rel)
    return out
