"""The workshop page's logic, without Streamlit: controls -> a scenario -> a run (or a cached one) -> words.

Everything the page decides is here, as plain functions that tests call directly:

- `LEVERS`: the controls (dotted scenario keys of docs/interface.md, labels, ranges); `query_value` checks one
  given in the page's address as the CLI checks `--set`;
- `starting_points`: the bundled scenarios (and the points of their sweeps) a page can start from;
- `what_if`: the starting scenario with the controls' values, validated exactly as `--set` is
  (a bad combination raises the CLI's `ScenarioError`, and nothing runs);
- `Precision` / `precisions`: how long and how many replications a run takes (a quick run for
  the room, a "more precise" one), shown on the page;
- `find_run` / `run_scenario`: the cache. A run folder in the outputs directory whose manifest
  holds the same resolved scenario and model fingerprint and says "complete" *is* the answer
  (same scenario and seed give the same numbers), so runs survive a page reload and a
  restart; an interrupted one (a run cancelled by changing a control) is resumed;
- `answer`: the plain-language answer, in the report's and compare's own sentences;
- `warm_pool`: worker processes started with the app session, the model loaded, that every
  run of the session uses (no start-up per what-if); `loaded` keeps the runs read, so the
  starting scenario's run is read once, not at every what-if; `ensure_report` draws a run's
  figures and report.html when the page first shows them (after the answer).

The page (`pcnsim/app/page.py`) only draws widgets and calls these.
"""
from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from pcnsim import metrics as catalogue
from pcnsim.config import Scenario
from pcnsim.errors import PcnsimError
from pcnsim.experiment import Progress, RunData, load_run, model_fingerprint, plan_points, run
from pcnsim.report import format_estimate, key_sentences, write_report
from pcnsim.report.compare import compare_runs, describe_comparison, format_difference
from pcnsim.report.formatting import point_text

__all__ = ["Lever", "LEVERS", "Precision", "precisions", "Start", "starting_points", "lever_values",
           "what_if", "changes", "sized", "find_run", "run_scenario", "answer", "focus_metrics",
           "focus_rows", "zip_folder", "query_value", "Cancelled", "WHERE", "COMMAND", "short_answer", "RELATIVE",
           "warm_pool", "loaded", "ensure_report"]

#: How the page names itself in error messages ("the controls: ics.forum_representatives = 3: ...").
WHERE = "the controls"
#: The command recorded in the manifest of a run started from the page.
COMMAND = "pcnsim app"
#: Scenarios a page cannot start from: random designs (points drawn at random) and big sweeps.
MAX_POINTS = 12
#: PCN-years a run of one point may simulate (ICSs of several PCNs get fewer replications).
PCN_YEARS_BUDGET = {"quick": 30.0, "precise": 60.0}
#: The run length of the bundled scenarios' reports (scenarios/baseline.yaml, workshop/01-baseline.yaml):
#: the page's quick run simulates the same weeks, so its numbers match the reports'.
REPORT_HORIZON_WEEKS, REPORT_WARMUP_WEEKS = 156, 52


#: A lever whose key starts with this is a relative change (in %) of the key after it.
RELATIVE = "relative:"


@dataclass(frozen=True)
class Lever:
    """One control of the page: a dotted scenario key, its label and its range."""
    key: str
    label: str
    kind: str                  # "float", "int", "bool" or "choice"
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    choices: tuple[str, ...] = ()
    help: str = ""

    def bounds(self, value: Any) -> tuple[float, float]:
        """The slider's range, widened to hold the scenario's own value."""
        if self.kind not in ("float", "int") or value is None:
            return self.low, self.high
        return min(self.low, value), max(self.high, value)


LEVERS: tuple[Lever, ...] = (
    Lever("funding.arrs_per_patient", "ARRS budget (£ per patient a year)", "float", 0.0, 40.0, 0.5,
          help="The 2024/25 cap is £22.89."),
    Lever("funding.cd_wte_per_50k", "Funded clinical director time (WTE per 50,000 patients)", "float",
          0.0, 1.5, 0.05, help="The contract funds 0.25 WTE per 50,000 patients; time beyond it "
               "releases the CD from clinics, by default run by a paid locum "
               "(clinical_director.extra_protected_from)."),
    Lever("clinical_director.extra_protected_sessions", "Extra protected CD sessions a week", "float",
          0.0, 4.0, 0.5, help="Protected sessions beyond the funded CD time; by default each replaces one of the CD's "
               "clinics, run by a paid locum (clinical_director.extra_protected_from)."),
    Lever("ics.meeting_load", "System meeting load (times today's calendar)", "float", 0.0, 3.0, 0.25,
          help="0 removes the ICS's meetings, 2 doubles them."),
    Lever("ics.pcns", "PCNs in the ICS (simulated together)", "int", 1, 10, 1,
          help="More PCNs take longer: the page runs fewer replications."),
    Lever("ics.representation", "Who goes to system meetings", "choice", choices=("all", "forum"),
          help="'all': every CD is invited; 'forum': the CDs send representatives."),
    Lever("ics.forum_representatives", "Forum representatives (CDs)", "int", 1, 10, 1,
          help="With a forum: the CDs who attend for the rest (at most the PCNs in the ICS)."),
    Lever("funding.backfill_meetings", "A locum backfills the CD's system meetings", "bool"),
    Lever("funding.manager_wte", "PCN manager (WTE)", "float", 0.0, 3.0, 0.25),
    Lever("demand.appointments_per_patient_year", "Demand (appointment requests per patient a year)",
          "float", 2.0, 10.0, 0.1),
    Lever("pcn.list_size", "PCN list size (patients, split evenly between the practices)", "int",
          5000, 150000, 1000, help="The whole registered list; the England mean is about 48,000."),
    Lever("pcn.practices", "Practices in the PCN", "int", 1, 15, 1),
    Lever(f"{RELATIVE}funding.arrs_per_patient", "ARRS budget change (% of the value above)", "int", -50, 50, 5,
          help="A relative change on top of the ARRS budget set above: -10 is a 10% cut."),
    Lever(f"{RELATIVE}demand.appointments_per_patient_year", "Demand change (% of the value above)", "int",
          -30, 30, 5, help="A relative change on top of the demand set above."),
)


def query_value(lever: Lever, text: Any, start_value: Any) -> Any:
    """A control's value given in the page's address (`?pcn.practices=6`), checked as the CLI
    checks `--set` before it reaches a widget: read as YAML by `parse_set` (its length, digits,
    nesting and aliases bounded), of the control's kind, and within the control's range
    (`Lever.bounds` of the starting scenario's value). Raises `ScenarioError` in one sentence
    naming the key, the value and what was expected; a widget is never given a value it would
    refuse with a traceback."""
    from pcnsim.errors import ScenarioError
    from pcnsim.scenario import parse_set
    from pcnsim.scenario.yamlio import _show

    text = str(text)
    where = f"the page's address: {lever.key}={_show(text, 40)}"
    value = parse_set([f"{lever.key}={text}"])[lever.key] if not text.lstrip().startswith("*") else text
    if lever.kind == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true or false.")
        return value
    if lever.kind == "choice":
        if value not in lever.choices:
            raise ScenarioError(f"{where}: expected one of {', '.join(lever.choices)}.")
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if lever.kind == "int" and number and float(value).is_integer():
        value = int(value)
    elif lever.kind == "int" or not number:
        raise ScenarioError(f"{where}: expected a {'whole ' if lever.kind == 'int' else ''}number.")
    low, high = lever.bounds(start_value)
    if not low <= value <= high:
        raise ScenarioError(f"{where}: expected a number from {low:g} to {high:g} (the control's range).")
    return float(value) if lever.kind == "float" else value


class Cancelled(Exception):
    """A run stopped before it finished (a control changed); its finished cells are kept."""


# --------------------------------------------------------------------------- precision
@dataclass(frozen=True)
class Precision:
    """How long and how many replications a page run takes."""
    name: str
    horizon_weeks: int
    warmup_weeks: int
    replications: int
    jobs: Optional[int]        # None: every core; 1: in this process (no start-up cost)

    def describe(self, scenario: Scenario) -> str:
        reps = self.replications_for(scenario)
        years = (self.horizon_weeks - self.warmup_weeks) / 52
        same = ((self.horizon_weeks, self.warmup_weeks) == (REPORT_HORIZON_WEEKS, REPORT_WARMUP_WEEKS))
        return (f"{reps} replications of {self.horizon_weeks} weeks ({self.warmup_weeks} weeks of "
                f"warm-up, {years:.3g} year{'s' if years != 1 else ''} measured)"
                + ("; the same run length as the reports of `pcnsim run workshop` and `pcnsim run baseline`"
                   if same else "; shorter than the reports' 156 weeks, so its numbers differ from theirs"))

    def replications_for(self, scenario: Scenario) -> int:
        """Fewer replications for an ICS of several PCNs, so a run stays within the time budget."""
        budget = PCN_YEARS_BUDGET.get(self.name)
        if budget is None:
            return self.replications
        pcn_years = scenario.ics.pcns * self.horizon_weeks / 52
        return max(2, min(self.replications, math.floor(budget / pcn_years)))


def precisions(env: Mapping[str, str] | None = None) -> dict[str, Precision]:
    """The quick run (a few seconds on a 2-core laptop) and the "more precise" run.

    `pcnsim app --horizon-weeks --warmup-weeks --replications` set the quick run (through the
    environment variables PCNSIM_APP_HORIZON_WEEKS, _WARMUP_WEEKS, _REPLICATIONS)."""
    env = os.environ if env is None else env

    def number(name: str, default: int) -> int:
        text = env.get(f"PCNSIM_APP_{name}")
        return int(text) if text else default

    # quick: the run length of the bundled scenarios' reports (`pcnsim run workshop`: 156 weeks, the first 52 a
    # warm-up), so the page's numbers are the reports' numbers (a 78-week run read 1,500 fewer appointments
    # a year: docs/model.md 4.1, a shorter warm-up reads waits and unmet demand low); fewer replications
    horizon = number("HORIZON_WEEKS", REPORT_HORIZON_WEEKS)
    # ten CDs in a quick run, twenty in a precise one: CDs differ widely in the leadership work they take on
    # (`clinical_director.commitment_cv`), and with five a what-if's overtime and late tasks were lost in the noise
    quick = Precision("quick", horizon, number("WARMUP_WEEKS", min(REPORT_WARMUP_WEEKS, horizon // 3)),
                      number("REPLICATIONS", 10), jobs=1)
    precise = Precision("precise", max(156, horizon), max(52, quick.warmup_weeks), max(20, quick.replications),
                        jobs=None)
    return {"quick": quick, "precise": precise}


def sized(scenario: Scenario, precision: Precision, replications: int | None = None) -> Scenario:
    """The scenario with the page's horizon, warm-up and replications (its seed kept; give the
    what-if and its starting scenario the same `replications`, so they pair replication by
    replication)."""
    from pcnsim.scenario import apply_values

    values = {"run.horizon_weeks": precision.horizon_weeks, "run.warmup_weeks": precision.warmup_weeks,
              "run.replications": replications or precision.replications_for(scenario)}
    return apply_values(scenario, values, WHERE)


# --------------------------------------------------------------------------- starting points
@dataclass(frozen=True)
class Start:
    """A scenario the page can start from: a bundled scenario, or one point of its sweep."""
    label: str
    scenario: Scenario
    description: str


def starting_points(names: Sequence[str] | None = None) -> list[Start]:
    """Every bundled scenario (or the named ones) without a random design; a sweep gives one
    start per point (up to `MAX_POINTS` points), labelled by its swept values."""
    from pcnsim.scenario import bundled_scenarios, load_scenario

    out: list[Start] = []
    bundled = bundled_scenarios()
    for item in bundled:
        if names is not None and item.name not in names:
            continue
        scenario = load_scenario(item.path)
        description = " ".join(item.description.split())
        if scenario.sweep is None:
            out.append(Start(item.name, scenario, description))
            continue
        if scenario.sweep.kind not in ("grid", "points"):
            continue
        keys, points, scenarios = plan_points(scenario)
        if len(points) > MAX_POINTS:
            continue
        for values, point in zip(points, scenarios):
            out.append(Start(f"{item.name}: {point_text(values)}", point, description))
    return out


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """The value each lever has in a scenario."""
    out = {}
    for lever in LEVERS:
        if lever.key.startswith(RELATIVE):
            out[lever.key] = 0          # a relative change starts at none
            continue
        value: Any = scenario
        for part in lever.key.split("."):
            value = getattr(value, part)
        if lever.key == "pcn.list_size" and value is None:   # not set: the practices' lists add up to it
            value = scenario.pcn.practices * scenario.pcn.list_size_per_practice
        out[lever.key] = value
    return out


def changes(base: Scenario, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{key: (the starting scenario's value, the control's value)} for the controls that differ."""
    now = lever_values(base)
    out = {}
    for key, value in values.items():
        old = now.get(key)
        same = (math.isclose(float(old), float(value), rel_tol=1e-9, abs_tol=1e-12)
                if isinstance(old, (int, float)) and not isinstance(old, bool)
                and isinstance(value, (int, float)) and not isinstance(value, bool) else old == value)
        if not same:
            out[key] = (old, value)
    return out


def what_if(base: Scenario, values: Mapping[str, Any]) -> Scenario:
    """The starting scenario with the controls' values, validated as `--set` is (ScenarioError
    with the CLI's message for a bad combination), named `<base>-what-if` when anything changed."""
    from pcnsim.scenario import apply_values

    diff = changes(base, values)
    if not diff:
        return base
    update = {k: new for k, (_, new) in diff.items() if not k.startswith(RELATIVE)}
    start = lever_values(base)
    for key, (_, pct) in diff.items():
        if key.startswith(RELATIVE):     # a percentage of the absolute value (the control's, else the scenario's)
            target = key.removeprefix(RELATIVE)
            value = float(update.get(target, values.get(target, start.get(target))))
            update[target] = round(value * (1 + float(pct) / 100), 6)
    update["name"] = f"{base.name.replace('/', '-')}-what-if"
    return apply_values(base, update, WHERE)


# --------------------------------------------------------------------------- the cache and the run
def _key(scenario: Scenario) -> str:
    return json.dumps(scenario.model_dump(mode="json"), sort_keys=True)


def find_run(scenario: Scenario, outputs_dir: str | Path, status: str = "complete") -> Optional[Path]:
    """The newest run folder under `outputs_dir` of exactly this resolved scenario and this model
    whose manifest says `status` (with "complete": its report.html too), or None."""
    root = Path(outputs_dir)
    if not root.is_dir():
        return None
    want, fingerprint = _key(scenario), model_fingerprint()
    found = []
    for manifest_path in root.glob("*/manifest.json"):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (manifest.get("status") == status and manifest.get("model_fingerprint") == fingerprint
                and json.dumps(manifest.get("scenario"), sort_keys=True) == want
                and not manifest.get("failed_cells")):
            found.append((manifest.get("started") or "", manifest_path.parent))
    return max(found)[1] if found else None


_POOL: list[Any] = []          # the session's warm pool (`warm_pool`), made once a process
_LOADED: dict[str, tuple[float, RunData]] = {}   # run folder: (its manifest's mtime, the run read)


def warm_pool(jobs: int | None = None) -> Any:
    """The app session's worker processes (`LocalPool`, shared): started once, the model loaded
    in each, used by every run of the session, so a what-if pays no start-up. None on one core
    (runs then go in this process). A pool whose worker died is replaced."""
    from pcnsim.experiment.executors import LocalPool, available_cores

    jobs = jobs or available_cores()
    if jobs < 2:
        return None
    if _POOL and _POOL[0].alive:
        return _POOL[0]
    if not _POOL:        # the first pool of this process: ended at exit (not left to the interpreter's teardown)
        import atexit

        atexit.register(lambda: [pool.shutdown() for pool in _POOL])
    _POOL[:] = [LocalPool(jobs, shared=True)]
    return _POOL[0]


def loaded(folder: str | Path) -> RunData:
    """A run folder read once and kept (read again only if its manifest changed): the page reads
    the starting scenario's run at every what-if."""
    folder = Path(folder)
    key = str(folder.resolve())
    stamp = (folder / "manifest.json").stat().st_mtime
    hit = _LOADED.get(key)
    if hit is None or hit[0] != stamp:
        if len(_LOADED) > 64:
            _LOADED.clear()
        hit = _LOADED[key] = (stamp, load_run(folder))
    return hit[1]


def ensure_report(folder: str | Path) -> None:
    """Draw a run's figures and report.html if it has none yet (the page draws them after the answer)."""
    if not (Path(folder) / "report.html").exists():
        write_report(Path(folder))


def run_scenario(scenario: Scenario, outputs_dir: str | Path, precision: Precision,
                 progress: Callable[[int, int], None] | None = None, pool: Any = None,
                 report: bool = True) -> tuple[RunData, bool]:
    """(the run of `scenario`, whether it came from the cache).

    A finished run of the same scenario in `outputs_dir` is loaded; an interrupted one is
    resumed; otherwise a new run folder is made where `pcnsim run` makes it, with the same
    manifest and report (`report=False`: the report is left to `ensure_report`, so the answer
    comes first). `pool` (`warm_pool`) runs the cells in warm worker processes instead of the
    precision's `jobs`. `progress(done, total)` is called as cells finish; if it raises, the
    run stops (its cells are kept, the manifest says "interrupted") and `Cancelled` is raised
    from the error (a Streamlit rerun is re-raised as it is, so the page starts again)."""
    cached = find_run(scenario, outputs_dir)
    if cached is not None:
        if report:
            ensure_report(cached)
        return loaded(cached), True
    stopped: list[BaseException] = []

    def on_progress(event: Progress) -> None:
        if progress is None or event.closed:
            return
        try:
            progress(event.done, event.total)
        except BaseException as err:  # noqa: BLE001 - any reason to stop, the runner's own way
            stopped.append(err)
            raise KeyboardInterrupt from None

    unfinished = find_run(scenario, outputs_dir, status="interrupted")

    def start(out: Optional[Path]) -> RunData:
        return run(scenario, jobs=precision.jobs, quiet=False, progress=on_progress, command_line=COMMAND,
                   outputs_dir=outputs_dir, out=out, resume=out is not None,
                   executor=pool.view() if pool is not None else None)

    try:
        try:
            result = start(unfinished)
        except PcnsimError:
            if unfinished is None:
                raise
            result = start(None)   # the stopped run cannot be resumed (damaged, moved): a new folder
    except KeyboardInterrupt:
        if stopped and not isinstance(stopped[0], Exception):
            raise stopped[0] from None   # e.g. Streamlit's rerun request: let it through
        raise Cancelled("the run was stopped; its finished replications are kept and the same "
                        "inputs resume it") from (stopped[0] if stopped else None)
    if report:
        write_report(result.folder)
    return loaded(result.folder), False


# --------------------------------------------------------------------------- words and numbers
def answer(base_run: RunData, what_run: Optional[RunData], base_name: str) -> list[str]:
    """The plain-language answer: the report's key sentences for the starting scenario alone;
    with a what-if, compare's sentences (which differences are distinguishable from noise)."""
    if what_run is None:
        return key_sentences(base_run)
    df = compare_runs(base_run, what_run)
    sentences = describe_comparison(df, name_a=base_name, name_b="the what-if")
    return [s[0].upper() + s[1:] if s and not s.startswith(" ") else s for s in sentences]


def short_answer(base_run: RunData, what_run: Optional[RunData], focus: Sequence[str] = (),
                 question: str = "") -> list[str]:
    """The answer first, in the room's words: with a what-if, compare's "In short" sentence (what
    rose, what fell, the bound on the rest, paired replication by replication); without one,
    the report's key sentences."""
    if what_run is None:
        return key_sentences(base_run)
    from pcnsim.report.answers import compare_headline

    head = compare_headline(compare_runs(base_run, what_run), focus, question, "the starting scenario",
                            "the what-if")
    return head[1:2] if question and len(head) > 1 else head[:1]


def focus_metrics(scenario: Scenario) -> list[str]:
    """The scenario's focus metrics (a `report: focus:` key, where the scenario has one), else the
    catalogue's headline metrics."""
    focus = getattr(getattr(scenario, "report", None), "focus", None)
    names = [m for m in (focus or []) if catalogue.lookup(m) is not None] if focus else []
    return names or list(catalogue.HEADLINE)


def focus_rows(base_run: RunData, what_run: Optional[RunData], metrics: Sequence[str]) -> list[dict[str, str]]:
    """One row per focus metric: its label and unit, the starting scenario's estimate, the
    what-if's, and the difference with its 95% CI (paired when the seeds match)."""
    base = base_run.point_summary()
    what = what_run.point_summary() if what_run is not None else None
    diff = compare_runs(base_run, what_run).set_index("metric") if what_run is not None else None
    rows = []
    for m in metrics:
        if m not in base.index:
            continue
        kind = catalogue.kind(m)
        b = base.loc[m]
        row = {"metric": catalogue.label(m), "unit": catalogue.unit(m),
               "starting scenario": format_estimate(b["mean"], b["ci_low"], b["ci_high"], kind, m)}
        if what is not None and m in what.index:
            w = what.loc[m]
            row["what-if"] = format_estimate(w["mean"], w["ci_low"], w["ci_high"], kind, m)
            if diff is not None and m in diff.index:
                d = diff.loc[m]
                if isinstance(d, type(diff)):  # several points: the first
                    d = d.iloc[0]
                row["difference (95% CI)"] = format_difference(d["difference"], d["ci_low"], d["ci_high"], kind)
        rows.append(row)
    return rows


def zip_folder(folder: str | Path) -> bytes:
    """A run folder as a zip archive (in memory), paths relative to the folder's parent."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent))
    return buffer.getvalue()
