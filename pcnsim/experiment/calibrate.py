"""`pcnsim calibrate`: a scenario's unknowns fitted to its `calibration:` targets by history matching.

The algorithm is `pcnsim.experiment.history` (model-free); this module gives it the model. Each
design point is a scenario (`apply_values`, validated) run `replications` times as cells
(`cells.run_cell`) on the run's executors (`executors.make_executor`: in process or local
worker processes), so the numbers do not depend on `jobs`, and replication r sees the same
random numbers at every point (common random numbers: differences between points are the
parameters', not the noise's). The calibration runs are short (`horizon_weeks`, `warmup_weeks`,
two years by default); the file written keeps the scenario's own run settings.

It writes `FILE-calibrated.yaml` (the scenario with the chosen values, a comment header saying
what was fitted, when, and how well) and `FILE-calibrated.csv` (every design point, tidy); the
fit page (`FILE-calibrated.html`) is the report layer's (`pcnsim.report.calibration`).
`round_trip` simulates a scenario with known values, takes its outputs as targets and fits
them back: the test that the method recovers what it should.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from pcnsim._version import __version__
from pcnsim.config import CalibrationConfig, Scenario
from pcnsim.config.calibration import (DEFAULT_CONFIRM, DEFAULT_HORIZON_WEEKS, DEFAULT_POINTS,  # noqa: F401
                                       DEFAULT_REPLICATIONS, DEFAULT_WARMUP_WEEKS, DEFAULT_WAVES, check_unknowns,
                                       resolve_unknowns)
from pcnsim.errors import PcnsimError, RunFolderError, ScenarioError
from pcnsim.experiment.executors import Executor, make_executor
from pcnsim.experiment.folder import atomic, local_path, write_text_atomic
from pcnsim.experiment.history import CUTOFF, Fit, Target, history_match, point_measure
from pcnsim.experiment.runner import Progress

log = logging.getLogger("pcnsim.experiment")

#: The suffix of the files written beside the scenario.
SUFFIX = "-calibrated"


class CalibrationRunError(PcnsimError):
    """A model run of the calibration failed (exit status 1): its point and the error."""

    exit_code = 1


@dataclass
class Calibration:
    """A finished calibration: the fit, the scenario as given and as calibrated, and its record."""

    fit: Fit
    scenario: Scenario               # as loaded (its own run settings)
    calibrated: Scenario             # with the chosen values
    section: CalibrationConfig
    source: Optional[Path]
    settings: dict[str, Any]
    started: str
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutputPaths:
    yaml: Path
    html: Path
    csv: Path

    def all(self) -> tuple[Path, Path, Path]:
        return (self.yaml, self.html, self.csv)


def output_paths(source: Optional[Path], name: str, out: str | os.PathLike | None = None) -> OutputPaths:
    """`FILE-calibrated.yaml/.html/.csv` beside FILE (or in the working folder for a bundled
    scenario), or `--out PATH` (a .yaml path; the page and table beside it, same stem)."""
    if out is not None:
        yaml_path = local_path(out)
        if yaml_path.suffix.lower() not in (".yaml", ".yml"):
            raise ScenarioError(f"--out {out}: expected the path of the calibrated scenario file, ending .yaml "
                                "(the fit page and the table of design points are written beside it)")
    elif source is not None and not _is_bundled(source):
        yaml_path = source.with_name(f"{source.stem}{SUFFIX}.yaml")
    else:
        yaml_path = Path.cwd() / f"{name}{SUFFIX}.yaml"
    stem = yaml_path.with_suffix("")
    return OutputPaths(yaml_path, stem.with_suffix(".html"), stem.with_suffix(".csv"))


def _is_bundled(path: Path) -> bool:
    from pcnsim.scenario.files import BUNDLED_SEARCH_PATH

    return any(path.resolve().is_relative_to(root.resolve()) for root in BUNDLED_SEARCH_PATH if root.exists())


def check_outputs(paths: OutputPaths, force: bool) -> None:
    """Refuse, before anything runs, to overwrite an existing output (unless `force`) or to write
    into a folder that does not exist."""
    folder = paths.yaml.parent
    if not folder.is_dir():
        raise RunFolderError(f"cannot write the calibrated scenario '{paths.yaml}': the folder '{folder}' does not "
                             "exist. Create it, or give another --out.")
    existing = [str(p) for p in paths.all() if p.exists()]
    if existing and not force:
        raise RunFolderError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: a "
                             "calibration does not overwrite an earlier one. Move it away, give another --out, "
                             "or add --force to replace it.")


# --------------------------------------------------------------------------- checks
def _check_settings(waves: int, points: int, replications: int, confirm: int, horizon: int, warmup: int) -> None:
    for value, low, high, option in ((waves, 1, 10, "--waves"), (points, 4, 1000, "--points"),
                                     (replications, 2, 100, "--replications"), (confirm, 2, 1000, "--confirm"),
                                     (horizon, 2, 1040, "--horizon-weeks"), (warmup, 0, 1039, "--warmup-weeks")):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ScenarioError(f"{option} {value}: expected a whole number from {low} to {high}"
                                + (" (the replications' spread enters the implausibility, so at least 2)"
                                   if option in ("--replications", "--confirm") else "") + ".")
    if warmup >= horizon:
        raise ScenarioError(f"--warmup-weeks {warmup}: the calibration runs' warm-up must be shorter than their "
                            f"horizon (--horizon-weeks {horizon}), or nothing is measured.")


def _runs_base(scenario: Scenario, horizon: int, warmup: int, seed: Optional[int]) -> Scenario:
    """The scenario the calibration runs: no sweep, the calibration's run length and seed."""
    from pcnsim.scenario import apply_values

    values: dict[str, Any] = {"run.horizon_weeks": horizon, "run.warmup_weeks": warmup}
    if seed is not None:
        values["run.seed"] = seed
    base = scenario.model_copy(update={"sweep": None})
    return apply_values(base, values, where="the calibration's runs (--horizon-weeks, --warmup-weeks, --seed)")


def _check_ranges(base: Scenario, ranges: Mapping[str, tuple[float, float]], where: str) -> list[bool]:
    """Each unknown's two ends validate in the scenario; whether each is a whole number."""
    from pcnsim.experiment.designs import _is_whole_number
    from pcnsim.scenario import apply_values

    whole = []
    for key, (low, high) in ranges.items():
        is_whole = _is_whole_number(base, key)
        for end in (low, high):
            apply_values(base, {key: int(round(end)) if is_whole else float(end)},
                         where=f"{where}: calibration.unknowns['{key}'] end {end:g}")
        whole.append(is_whole)
    return whole


def targets_of(section: CalibrationConfig) -> list[Target]:
    from pcnsim.config.calibration import is_share_target

    return [Target(name, float(value), section.sd(name), is_share_target(name))
            for name, value in section.targets.items()]


# --------------------------------------------------------------------------- the runs
class _Cells:
    """Points x replications run as cells on one executor, kept open across the waves."""

    def __init__(self, executor: Executor, names: Sequence[str], progress: Optional[Callable[[Progress], None]],
                 extra: Sequence[str] = ()):
        self.executor = executor
        self.names = list(names)
        self.extra = list(extra)     # reported when the model has them (NaN if not): the diagnosis's
        self.progress = progress
        self.extra_means: list[np.ndarray] = []   # per call, (points, extra)

    def run(self, scenarios: Sequence[Scenario], reps: int, label: str,
            describe: Callable[[int], str]) -> tuple[np.ndarray, np.ndarray]:
        """(means, sds), each (points, targets), over replications 0 .. reps - 1 of each scenario."""
        todo = iter([(i, r) for i in range(len(scenarios)) for r in range(reps)])
        values = np.full((len(scenarios), reps, len(self.names)), np.nan)
        extras = np.full((len(scenarios), reps, len(self.extra)), np.nan)
        total, done = len(scenarios) * reps, 0
        report = self.progress or (lambda event: None)
        report(Progress(label, 0, total))

        def fill() -> None:
            while self.executor.in_flight < self.executor.slots:
                cell = next(todo, None)
                if cell is None:
                    return
                self.executor.submit((cell[0], cell[1], scenarios[cell[0]], None))

        try:
            fill()
            while self.executor.in_flight:
                for out in self.executor.finished():
                    if out.error is not None:
                        raise CalibrationRunError(
                            f"a model run of the calibration failed at {describe(out.point)} (replication "
                            f"{out.replication}): {out.error.get('type')}: {out.error.get('message')}")
                    missing = [n for n in self.names if n not in out.metrics]
                    if missing:
                        raise ScenarioError(
                            f"calibration.targets: this version of pcnsim's model does not report "
                            f"{', '.join(missing)} (`pcnsim metrics` lists what it reports; the booking-lead "
                            "bins and DNAs come with the delivery v3 model); remove the target(s) or update pcnsim.")
                    values[out.point, out.replication] = [out.metrics[n] for n in self.names]
                    extras[out.point, out.replication] = [out.metrics.get(n, np.nan) for n in self.extra]
                    done += 1
                    report(Progress(label, done, total))
                fill()
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                self.executor.cancel()
            raise
        finally:
            report(Progress(label, done, total, closed=True))
        means = values.mean(axis=1)
        sds = values.std(axis=1, ddof=1) if reps > 1 else np.zeros_like(means)
        self.extra_means.append(extras.mean(axis=1))
        return means, sds


#: Reported beside the targets at every design point, to say why a volume cannot be met.
DIAGNOSTICS = ("utilisation.gp", "utilisation.nurse", "utilisation.dpc")
#: A clinician group this busy (share of its capacity) is full: more demand adds no appointments.
SATURATED = 0.98


def diagnose(fit: Fit, extra: np.ndarray) -> list[str]:
    """Why a count target is out of reach, when the runs say so: every point fell short of it by
    more than `CUTOFF` standard deviations and the clinicians were full (utilisation at least
    `SATURATED`) where the most was delivered. `extra`: (every design point, `DIAGNOSTICS`)."""
    out = []
    means = np.vstack([w.means for w in fit.waves])
    for t, target in enumerate(fit.targets):
        if target.share or target.name not in fit.failing or not np.isfinite(means[:, t]).any():
            continue
        top = int(np.nanargmax(means[:, t]))
        if target.value - means[top, t] <= CUTOFF * target.sd:
            continue
        full = [(name.split(".", 1)[1].upper() if name == "utilisation.gp" else name.split(".", 1)[1], extra[top, j])
                for j, name in enumerate(DIAGNOSTICS) if np.isfinite(extra[top, j]) and extra[top, j] >= SATURATED]
        if not full:
            continue
        gp = extra[:, DIAGNOSTICS.index("utilisation.gp")]
        every = int(np.sum(gp >= SATURATED))
        out.append(f"The staff cannot deliver this volume: the most {target.name} any point gave was "
                   f"{means[top, t]:,.0f} (target {target.value:,.0f}, {1 - means[top, t] / target.value:.0%} short), "
                   f"with " + ", ".join(f"{n} utilisation {u:.0%}" for n, u in full) + f" there (GP utilisation at "
                   f"least {SATURATED:.0%} at {every} of the {len(gp)} points run): more demand adds no "
                   "appointments when the clinicians are full. Check the scenario's staff (GP, nurse, DPC and ARRS "
                   "WTE) against the workforce file and the target's months, or add capacity.")
    return out


def calibrate(scenario: Scenario | str | os.PathLike, *, waves: int = DEFAULT_WAVES, points: int = DEFAULT_POINTS,
              replications: int = DEFAULT_REPLICATIONS, confirm: int = DEFAULT_CONFIRM, jobs: Optional[int] = None,
              seed: Optional[int] = None, horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
              warmup_weeks: int = DEFAULT_WARMUP_WEEKS, progress: Optional[Callable[[Progress], None]] = None,
              source: Optional[Path] = None) -> Calibration:
    """Fit the unknowns of a scenario's `calibration:` section to its targets (history matching).

    `scenario`: a `Scenario` with a `calibration:` section, or a path / bundled name. Each wave runs
    `points` design points x `replications`; the chosen point is run `confirm` times. `jobs`:
    local worker processes (default every core; 1 in this process); the fit is the same for
    any number. `seed` overrides `run.seed` (the runs' and the designs'). Bad input raises
    `ScenarioError` before anything runs; a failed model run `CalibrationRunError`. A fit that
    fails is a result (`Calibration.fit.fits` False, its `verdict` naming the targets), not an error.
    """
    started_at = time.time()
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    if not isinstance(scenario, Scenario):
        from pcnsim.scenario import load_scenario_with_source

        scenario, source = load_scenario_with_source(scenario)
    where = f"scenario file '{source}'" if source is not None else f"scenario '{scenario.name}'"
    section = scenario.calibration
    if section is None:
        raise ScenarioError(f"{where} has no calibration: section, so there is nothing to fit it to. Add one "
                            "(targets: {metric: published value}; docs/calibration.md), or build the scenario "
                            "from NHS Digital's files with `pcnsim build`, which writes it.")
    _check_settings(waves, points, replications, confirm, horizon_weeks, warmup_weeks)
    try:
        check_unknowns(section, Scenario)
    except ValueError as err:
        raise ScenarioError(f"{where}: {err}") from None
    ranges, notes = resolve_unknowns(section, Scenario)
    if not ranges:
        raise ScenarioError(f"{where}: calibration.unknowns names no parameter to fit (and none of the default "
                            "unknowns exists in this version of pcnsim); give unknowns: {dotted key: [low, high]}.")
    if scenario.sweep is not None:
        notes.append(f"the scenario's {scenario.sweep.kind} sweep is not part of the calibration (the calibrated "
                     "file keeps it)")
    base = _runs_base(scenario, horizon_weeks, warmup_weeks, seed)
    whole = _check_ranges(base, ranges, where)
    targets = targets_of(section)
    run_seed = base.run.seed
    keys = list(ranges)
    for note in notes:
        log.info("Note: %s.", note)

    from pcnsim.scenario import apply_values

    def scenarios_at(design: np.ndarray, label: str) -> list[Scenario]:
        return [apply_values(base, _values(keys, row, whole), where=f"{label} point {i}")
                for i, row in enumerate(design)]

    executor = make_executor(jobs, None, max(points, confirm) * replications)
    cells = _Cells(executor, [t.name for t in targets], progress, DIAGNOSTICS)
    try:
        def evaluate(design: np.ndarray, wave: int) -> tuple[np.ndarray, np.ndarray, int]:
            label = f"calibration wave {wave}/{waves}"
            means, sds = cells.run(scenarios_at(design, label), replications, label,
                                   lambda i: _describe_point(keys, design[i], whole))
            return means, sds, replications

        def confirming(point: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
            label = "calibration: the chosen point"
            means, sds = cells.run(scenarios_at(point[None, :], label), confirm, label,
                                   lambda i: _describe_point(keys, point, whole))
            return means[0], sds[0], confirm

        fit = history_match(evaluate, targets, ranges, waves=waves, points=points, seed=run_seed, whole=whole,
                            confirm=confirming)
        if not fit.fits:   # the design points' diagnostics (the confirming runs come after them)
            fit.diagnosis = diagnose(fit, np.vstack(cells.extra_means[:len(fit.waves)]))
    finally:
        executor.close(wait=not executor.abandoned)
    fit.notes[:0] = notes
    calibrated = apply_values(scenario, fit.chosen, where=f"{where}: the calibrated values")
    settings = {"waves": waves, "points": points, "replications": replications, "confirm": confirm,
                "horizon_weeks": horizon_weeks, "warmup_weeks": warmup_weeks, "seed": run_seed,
                "jobs": executor.jobs, "cutoff": CUTOFF, "measure": fit.measure_name}
    return Calibration(fit, scenario, calibrated, section, source, settings, started,
                       round(time.time() - started_at, 2), fit.notes)


def _values(keys: Sequence[str], row: Sequence[float], whole: Sequence[bool]) -> dict[str, Any]:
    return {k: (int(round(v)) if w else float(v)) for k, v, w in zip(keys, row, whole)}


def _describe_point(keys: Sequence[str], row: Sequence[float], whole: Sequence[bool]) -> str:
    return ", ".join(f"{k} = {_num(v, w)}" for k, v, w in zip(keys, row, whole))


def _num(value: float, whole: bool = False) -> str:
    """A value as the calibrated file writes it: whole, or 4 significant figures."""
    if whole:
        return str(int(round(value)))
    return f"{float(f'{value:.4g}'):g}" if value else "0"


def rounded(value: Any) -> Any:
    """A chosen value as written: a whole number stays whole; a float to 4 significant figures."""
    if isinstance(value, bool) or isinstance(value, int):
        return value
    return float(f"{float(value):.4g}")


# --------------------------------------------------------------------------- writing
def write_calibration(cal: Calibration, paths: OutputPaths, *, force: bool = False) -> None:
    """Write the calibrated scenario (YAML) and the table of design points (CSV)."""
    check_outputs(paths, force)
    write_points_csv(cal, paths.csv)
    write_calibrated_yaml(cal, paths)


def points_frame(cal: Calibration) -> Any:
    """Every design point and the chosen point's confirming runs, tidy: one row per point and target."""
    import pandas as pd

    fit = cal.fit
    rows = []
    for wave in fit.waves:
        ok = wave.non_implausible
        for i, point in enumerate(wave.points):
            base = {"stage": "design", "wave": wave.number, "point": i,
                    **{k: point[j] for j, k in enumerate(fit.unknowns)}}
            for t, target in enumerate(fit.targets):
                rows.append({**base, "metric": target.name, "target": target.value, "target_sd": target.sd,
                             "mean": wave.means[i, t], "sd": wave.sds[i, t], "replications": wave.replications,
                             "implausibility": wave.implausibility[i, t], "measure": wave.measure[i],
                             "non_implausible": bool(ok[i])})
    base = {"stage": "chosen", "wave": fit.chosen_wave, "point": fit.chosen_point,
            **{k: fit.chosen[k] for k in fit.unknowns}}
    for t, target in enumerate(fit.targets):
        rows.append({**base, "metric": target.name, "target": target.value, "target_sd": target.sd,
                     "mean": fit.means[t], "sd": fit.sds[t], "replications": fit.replications,
                     "implausibility": fit.implausibility[t], "measure": fit.measure, "non_implausible": fit.fits})
    return pd.DataFrame(rows)


def write_points_csv(cal: Calibration, path: Path) -> None:
    frame = points_frame(cal)
    with atomic(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def header_lines(cal: Calibration, paths: Optional[OutputPaths] = None) -> list[str]:
    """The comment header of the calibrated file: what was fitted, when, to what, and how well."""
    import textwrap

    fit, section = cal.fit, cal.section
    src = " ".join(filter(None, [section.source, f"({section.period})" if section.period else ""]))
    lines = [f"Calibrated by `pcnsim calibrate` (pcnsim {__version__}) on {cal.started}, from "
             f"'{cal.source.name if cal.source else cal.scenario.name}'.",
             f"History matching of {len(fit.unknowns)} unknown(s) to {len(fit.targets)} target(s)"
             + (f" from {src}" if src else "") + ".",
             "Fitted (the range searched in brackets): " + "; ".join(
                 f"{k} = {_num(fit.chosen[k], isinstance(fit.chosen[k], int))} "
                 f"(searched {_num(fit.ranges[k][0])} to {_num(fit.ranges[k][1])})" for k in fit.unknowns) + ".",
             fit.verdict(),
             f"Implausibility at the chosen point ({fit.replications} replications; "
             f"non-implausible when the {fit.measure_name} is at most {CUTOFF:g}): " + ", ".join(
                 f"{t.name} {i:.2f}" for t, i in zip(fit.targets, fit.implausibility)) + "."]
    s = cal.settings
    lines.append(f"Settings: {s['waves']} waves x {s['points']} points x {s['replications']} replications of "
                 f"{s['horizon_weeks']}-week runs ({s['warmup_weeks']} weeks warm-up), seed {s['seed']}; "
                 f"{cal.seconds:.0f} s.")
    out = ["Waves (the points run, the box each sampled; how many of its points were non-implausible; "
           "their ranges):"]
    for wave in fit.waves:
        ni = fit.ni_ranges(wave)
        box = ", ".join(f"{k} {_num(a)}-{_num(b)}" for k, (a, b) in wave.box.items())
        screened = (f" (of {wave.candidates} candidates the emulators screened, {wave.kept_share:.1%} "
                    "non-implausible)" if wave.candidates else "")
        text = f"  wave {wave.number}: {len(wave.points)} points{screened} in {box}; " \
               f"{int(wave.non_implausible.sum())} non-implausible"
        if ni:
            text += ": " + ", ".join(f"{k} {_num(a)}-{_num(b)}" for k, (a, b) in ni.items())
        out.append(text)
    for note in cal.notes:
        out.append(f"Note: {note}.")
    if paths is not None:
        out.append(f"Fit page: {paths.html.name}; every design point: {paths.csv.name}.")
    wrapped = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, 96, subsequent_indent="  ", break_on_hyphens=False) or [""])
    for line in out:
        wrapped.extend(textwrap.wrap(line, 96, subsequent_indent="    ", break_on_hyphens=False) or [""])
    return [f"# {w}".rstrip() for w in wrapped]


def write_calibrated_yaml(cal: Calibration, paths: OutputPaths) -> None:
    """The scenario file as given, with the chosen values set, under a comment header.

    The file's own text is kept (its comments and `extends`) where each value can be set on its
    own line; otherwise (flow-style sections, another folder than the file's with a relative
    `extends`) its own keys are written out again. Either way the file written is loaded back and
    must give the calibrated scenario, or nothing is written."""
    values = {k: rounded(v) for k, v in cal.fit.chosen.items()}
    expected = _dump_without_name(_set_values(cal.scenario, values))
    header = "\n".join(header_lines(cal, paths)) + "\n"
    def edited() -> Optional[str]:
        if cal.source is None or _is_bundled(cal.source):
            return None
        text = cal.source.read_text(encoding="utf-8-sig")
        same_dir = cal.source.resolve().parent == paths.yaml.resolve().parent
        done = _edit_text(text, values) if same_dir or not _relative_extends(text) else None
        return None if done is None else header + "\n" + _strip_leading_header(done)

    for attempt in (edited, lambda: header + "\n" + _dumped_layer(cal, values, paths.yaml.parent)):
        text = attempt()
        if text is None:
            continue
        with atomic(paths.yaml) as tmp:
            tmp.write_text(text, encoding="utf-8")
            if _loads_as(tmp, expected):
                return
    raise PcnsimError(f"the calibrated scenario could not be written so that it loads back as fitted "
                      f"({paths.yaml}); nothing was written. The values fitted: {values}.")


def _set_values(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    from pcnsim.scenario import apply_values

    return apply_values(scenario, values, where="the calibrated values")


def _dump_without_name(scenario: Scenario) -> dict[str, Any]:
    data = scenario.model_dump(mode="json")
    data.pop("name", None)
    return data


def _loads_as(path: Path, expected: Mapping[str, Any]) -> bool:
    from pcnsim.scenario import load_scenario

    try:
        got = load_scenario(path)
    except ScenarioError as err:
        log.debug("calibrated file did not load: %s", err)
        return False
    return _dump_without_name(got) == expected


def _strip_leading_header(text: str) -> str:
    """The file's text without an earlier calibration header (a calibrated file calibrated again)."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("# Calibrated by `pcnsim calibrate`"):
        i = 0
        while i < len(lines) and lines[i].startswith("#"):
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        return "".join(lines[i:])
    return text


def _relative_extends(text: str) -> bool:
    """Whether the file extends another file by a relative path (not only bundled names)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return True
    bases = data.get("extends") if isinstance(data, dict) else None
    bases = [bases] if isinstance(bases, str) else list(bases or [])
    return any(("/" in b or b.endswith((".yaml", ".yml"))) and not Path(b).is_absolute() for b in bases)


def _edit_text(text: str, values: Mapping[str, Any]) -> Optional[str]:
    """The YAML text with each dotted key set on its own block-style line, or None if a key's
    place cannot be found safely (the caller then writes the keys out again)."""
    lines = text.splitlines()
    for key, value in values.items():
        lines = _edit_key(lines, key.split("."), value)
        if lines is None:
            return None
    return "\n".join(lines) + "\n"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith("#")


def _edit_key(lines: list[str], parts: list[str], value: Any) -> Optional[list[str]]:
    start, end, indent = 0, len(lines), -1   # the block searched: lines[start:end], children deeper than indent
    for depth, part in enumerate(parts):
        child_indent = None
        found = None
        for i in range(start, end):
            line = lines[i]
            if not _content(line) or _indent(line) <= indent:
                continue
            if child_indent is None:
                child_indent = _indent(line)
            if _indent(line) != child_indent:
                continue
            m = re.match(rf"^\s*{re.escape(part)}\s*:(.*)$", line)
            if m:
                found = (i, m.group(1))
                break
        last = depth == len(parts) - 1
        if found is None:   # add the rest of the key at the end of this block
            pad = " " * (child_indent if child_indent is not None else indent + 2 if indent >= 0 else 0)
            step = 2
            new = []
            for d, name in enumerate(parts[depth:]):
                tail = f" {_yaml_scalar(value)}  # calibrated" if depth + d == len(parts) - 1 else ""
                new.append(f"{pad}{' ' * (step * d)}{name}:{tail}")
            insert_at = end
            while insert_at > start and not _content(lines[insert_at - 1]):
                insert_at -= 1
            if indent < 0:
                insert_at = len(lines)
            return lines[:insert_at] + new + lines[insert_at:]
        i, rest = found
        if last:
            m = re.match(r"^\s*([^#{}\[\]'\"&*!|>]+?)\s*(#.*)?$", rest)
            if not m or not rest.strip():
                return None
            old = m.group(2).lstrip("#").strip() if m.group(2) else ""
            comment = f"  # calibrated (was {m.group(1).strip()}" + (f"; {old})" if old else ")")
            head = lines[i][: lines[i].index(":") + 1]
            return lines[:i] + [f"{head} {_yaml_scalar(value)}{comment}"] + lines[i + 1:]
        if rest.strip() and not rest.strip().startswith("#"):
            return None   # a flow-style section or a value where a section should be
        block_end = i + 1
        while block_end < end and (not _content(lines[block_end]) or _indent(lines[block_end]) > _indent(lines[i])):
            block_end += 1
        start, end, indent = i + 1, block_end, _indent(lines[i])
    return None


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text if "e" not in text else f"{float(value):.6f}".rstrip("0")


def _dumped_layer(cal: Calibration, values: Mapping[str, Any], out_dir: Path) -> str:
    """The file's own keys (or, for a scenario without a file, the resolved scenario) with the
    values set and a relative `extends` re-pointed from `out_dir`, as YAML."""
    import yaml

    from pcnsim.scenario.files import _read_layer, resolve_scenario_path
    from pcnsim.scenario.yamlio import _plain

    if cal.source is None or _is_bundled(cal.source):
        data = _plain(cal.scenario.model_dump(mode="python", exclude={"sweep"}))
        if cal.scenario.sweep is not None:
            data["sweep"] = _plain(cal.scenario.sweep.model_dump(mode="python", exclude_none=True))
    else:
        data = _read_layer(cal.source, f"scenario file '{cal.source}'")
        bases = data.get("extends")
        if bases is not None:
            listed = [bases] if isinstance(bases, str) else list(bases)
            moved = []
            for base in listed:
                path = resolve_scenario_path(base, base_dir=cal.source.parent)
                moved.append(base if _is_bundled(path) else os.path.relpath(path.resolve(), out_dir.resolve()))
            data["extends"] = moved[0] if isinstance(bases, str) else moved
    for key, value in values.items():
        node = data
        *sections, leaf = key.split(".")
        for part in sections:
            node = node.setdefault(part, {})
        node[leaf] = value
    data = {"extends": data.pop("extends"), **data} if "extends" in data else data
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=88, default_flow_style=False)


# --------------------------------------------------------------------------- the round trip
@dataclass
class RoundTrip:
    """A scenario simulated with known values, its outputs fitted back: what was recovered."""

    known: dict[str, float]
    targets: dict[str, float]
    calibration: Calibration

    @property
    def recovered(self) -> dict[str, float]:
        return {k: float(self.calibration.fit.chosen[k]) for k in self.known}

    def relative_errors(self) -> dict[str, float]:
        return {k: abs(self.recovered[k] - v) / abs(v) if v else abs(self.recovered[k])
                for k, v in self.known.items()}


def round_trip(scenario: Scenario, known: Mapping[str, float], target_names: Sequence[str],
               unknowns: Mapping[str, tuple[float, float]], *, replications: int = 10,
               discrepancy: Optional[Mapping[str, float]] = None, seed_offset: int = 1000,
               **settings: Any) -> RoundTrip:
    """Simulate `scenario` with the `known` values (`replications` runs, seed `run.seed +
    seed_offset`, so the fit does not see its own random numbers), take the means of
    `target_names` as the targets, and calibrate `unknowns` back (`settings` go to `calibrate`:
    waves, points, replications, jobs, horizon_weeks...). `RoundTrip.relative_errors()` says how
    close the fit came to each known value."""
    from pcnsim.scenario import apply_values

    horizon = int(settings.get("horizon_weeks", DEFAULT_HORIZON_WEEKS))
    warmup = int(settings.get("warmup_weeks", DEFAULT_WARMUP_WEEKS))
    truth = apply_values(scenario.model_copy(update={"sweep": None, "calibration": None}),
                         {**known, "run.horizon_weeks": horizon, "run.warmup_weeks": warmup,
                          "run.seed": scenario.run.seed + seed_offset}, where="the round trip's known values")
    executor = make_executor(settings.get("jobs"), None, replications)
    try:
        means, _ = _Cells(executor, list(target_names), settings.get("progress")).run(
            [truth], replications, "round trip: the known scenario", lambda i: "the known values")
    finally:
        executor.close()
    targets = {n: float(m) for n, m in zip(target_names, means[0])}
    section = CalibrationConfig(source="round trip: the model's own outputs", targets=targets,
                                discrepancy=dict(discrepancy or {}),
                                unknowns={k: (float(a), float(b)) for k, (a, b) in unknowns.items()})
    fitted = calibrate(scenario.model_copy(update={"calibration": section}), **settings)
    return RoundTrip(dict(known), targets, fitted)
