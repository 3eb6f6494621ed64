"""The `pcnsim` command line: thin wrappers over the library, one function per verb.

Every `PcnsimError` becomes a one-paragraph message on stderr and its exit status
(2 for bad input); no traceback reaches the user.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import sys

import click

from pcnsim import __version__
from pcnsim.errors import PcnsimError


def friendly_errors(func):
    """Turn pcnsim's own errors into a message and an exit status."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PcnsimError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(err.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pcnsim")
def main() -> None:
    """pcnsim: capacity and leadership time in NHS England primary care networks.

    Run `pcnsim run baseline` to simulate the England-baseline PCN; `pcnsim scenarios`
    lists the bundled scenarios and `pcnsim params` every parameter with its source.
    """


# ---- verbs are added below, one block each -------------------------------------------------


# ---- scenarios: validate, params, scenarios ------------------------------------------------
_SET_HELP = "Override a parameter: dotted key = value (read as YAML). Repeatable."


def _value_text(value) -> str:
    """A parameter value as it would be written in a scenario file."""
    import yaml

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return str(value)


def _param_rows(scenario) -> list[dict]:
    """`parameter_rows`, with a list of series (the meeting calendar) one row per entry."""
    from pcnsim.config import parameter_rows

    rows = []
    for row in parameter_rows(scenario):
        value = row["value"]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows.extend({**row, "key": f"{row['key']}[{i}]", "value": v} for i, v in enumerate(value))
        else:
            rows.append(row)
    return rows


@main.command()
@click.argument("file")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)
@friendly_errors
def validate(file: str, set_: tuple[str, ...]) -> None:
    """Check a scenario FILE (a path or a bundled name) and print it resolved; runs nothing.

    The resolved scenario (every parameter, `extends` and `--set` applied) goes to
    stdout, so `pcnsim validate my.yaml > resolved.yaml` gives a runnable file.
    """
    from pcnsim.scenario import dump_yaml, load_scenario_with_source

    scenario, path = load_scenario_with_source(file, list(set_))
    click.echo(dump_yaml(scenario), nl=False)
    sweep = ""
    if scenario.sweep is not None:
        sweep = f", with a {scenario.sweep.kind} sweep over {', '.join(scenario.sweep.keys())}"
    click.echo(f"OK: {path} is a valid scenario ('{scenario.name}'{sweep}).", err=True)


@main.command()
@click.argument("file", required=False)
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True, help="An aligned table, or CSV for a spreadsheet.")
@friendly_errors
def params(file: str | None, set_: tuple[str, ...], fmt: str) -> None:
    """Every parameter: dotted key, value, unit and source.

    Without FILE, the defaults (the England-baseline PCN); with FILE (a path or a bundled
    name), that scenario's values. A source saying "assumed" has no public figure behind
    it: replace it with your own number.
    """
    from pcnsim.config import Scenario
    from pcnsim.scenario import apply_values, load_scenario, parse_set

    if file is None:
        scenario = apply_values(Scenario(), parse_set(list(set_)), "--set") if set_ else Scenario()
    else:
        scenario = load_scenario(file, list(set_))
    rows = _param_rows(scenario)
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["key", "value", "unit", "source", "description"])
        for row in rows:
            writer.writerow([row["key"], _value_text(row["value"]), row["unit"], row["source"],
                             row["description"]])
        click.echo(buffer.getvalue(), nl=False)
        return
    table = [(r["key"], _value_text(r["value"]), r["unit"] or "-", r["source"] or "-")
             for r in rows if r["key"] not in ("name", "description")]
    header = ("key", "value", "unit", "source")
    # column widths fit most cells; a longer cell pushes the rest of its line right
    widths = [max(len(header[i]), *(len(t[i]) for t in table if len(t[i]) <= cap))
              for i, cap in ((0, 60), (1, 32), (2, 30))]
    lines = [f"# scenario '{scenario.name}': {len(table)} parameters",
             "  ".join(h.ljust(w) for h, w in zip(header[:3], widths)) + "  " + header[3],
             "  ".join("-" * w for w in widths) + "  " + "-" * 6]
    for key, value, unit, source in table:
        lines.append(f"{key.ljust(widths[0])}  {value.ljust(widths[1])}  {unit.ljust(widths[2])}  {source}")
    if scenario.sweep is not None:
        lines.append("")
        lines.append(f"sweep: {scenario.sweep.kind} over {', '.join(scenario.sweep.keys())}")
    click.echo("\n".join(lines))


@main.command()
@friendly_errors
def scenarios() -> None:
    """The bundled scenarios, one line each: the name to give `run` and what it is for."""
    import re

    from pcnsim.scenario import bundled_scenarios

    found = bundled_scenarios()
    if not found:
        click.echo("No bundled scenarios were found.")
        return
    width = max(len(b.name) for b in found)
    for b in found:
        first = re.split(r"(?<=[.!?])\s+", b.description.strip(), maxsplit=1)[0] if b.description else ""
        click.echo(f"{b.name.ljust(width)}  {first or '(no description)'}")


# ---- run: experiments ----------------------------------------------------------------------
def _parse_targets(items: tuple[str, ...]) -> dict[str, float]:
    from pcnsim.errors import ScenarioError

    out: dict[str, float] = {}
    for item in items:
        metric, sep, text = item.partition("=")
        try:
            if not sep or not metric.strip():
                raise ValueError
            out[metric.strip()] = float(text)
        except ValueError:
            raise ScenarioError(f"--target-halfwidth {item!r}: expected METRIC=REL, such as "
                                "appointments_per_year=0.01 (95% CI within +/-1% of the mean)") from None
    return out


def _print_key_metrics(result) -> None:
    """The headline metrics (`pcnsim.metrics.HEADLINE`) with their 95% CIs (a table for a sweep)."""
    import math

    from pcnsim import metrics
    from pcnsim.report import format_estimate
    from pcnsim.report.formatting import estimate_cells, format_param

    summary = result.summary
    if summary.empty:
        return
    present = [m for m in metrics.HEADLINE if m in set(summary["metric"])]
    points = list(dict.fromkeys(summary["point"]))
    if not present:
        return
    if len(points) == 1:
        rows = summary.set_index("metric")
        width = max(len(metrics.axis_label(m)) for m in present)
        for metric in present:
            r = rows.loc[metric]
            text = format_estimate(r["mean"], r["ci_low"], r["ci_high"], metrics.kind(metric), metric)
            if r["n"] > 1 and math.isfinite(r["ci_low"]):
                text += f", n = {int(r['n'])}"
            else:
                text += f"  (n = {int(r['n'])}: no confidence interval)"
            click.echo(f"{metrics.axis_label(metric).ljust(width)}  {text}")
        return
    if len(points) > 40:
        click.echo(f"{len(points)} sweep points: every point's metrics and 95% CIs are in summary.csv.")
        return
    click.echo("Mean (95% CI) at each sweep point; every metric is in summary.csv.")
    for metric in present:
        click.echo(f"  {metric}: {metrics.axis_label(metric)}")
    table = summary[summary["metric"].isin(present)]
    header = ["point", *result.swept, *present]
    lines = []
    for point in points:
        rows = table[table["point"] == point].set_index("metric")
        first = rows.iloc[0]
        cells = [str(point), *(format_param(first[k]) for k in result.swept)]
        for metric in present:
            r = rows.loc[metric]
            value, ci = estimate_cells(r["mean"], r["ci_low"], r["ci_high"], metrics.kind(metric), metric)
            cells.append(f"{value} ({ci})" if ci else value)
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    click.echo("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for cells in lines:
        click.echo("  ".join(c.rjust(w) for c, w in zip(cells, widths)))


def _print_levers(result) -> None:
    """After a Sobol sweep: the top levers of each headline metric (indices within [0, 1])."""
    sens = getattr(result, "sensitivity", None)
    if sens is None or sens.empty:
        return
    from pcnsim import metrics
    from pcnsim.report.answers import sobol_sentences

    present = set(sens["metric"])
    lines = sobol_sentences(sens, [m for m in metrics.HEADLINE if m in present])
    if lines:
        click.echo("What drives each key metric (total Sobol index ST, 0 to 1, with its 95% interval; "
                   "every index is in sensitivity.csv):")
        for line in lines:
            click.echo("  " + line)


class _Terminal(logging.Handler):
    """The run's progress bar (tqdm on stderr) and its messages (`logging`), on the terminal.

    `progress` receives the library's `Progress` events; as a logging handler on the `pcnsim`
    logger it shows messages above the bar (INFO and up, or WARNING and up with --quiet)."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = None

    def progress(self, event) -> None:
        if event.closed:
            self.close_bar()
            return
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=event.total, initial=event.done, desc=event.name, unit="cell",
                            file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
            return
        if self.bar.total != event.total:
            self.bar.total = event.total
            self.bar.refresh()
        if event.done > self.bar.n:
            if event.failed:
                self.bar.set_postfix(failed=event.failed, refresh=False)
            self.bar.update(event.done - self.bar.n)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            click.echo(text, err=True)

    @contextlib.contextmanager
    def attached(self, quiet: bool):
        """Show the `pcnsim` logger's messages while the block runs."""
        logger = logging.getLogger("pcnsim")
        self.setLevel(logging.WARNING if quiet else logging.INFO)
        logger.addHandler(self)
        level = logger.level
        logger.setLevel(min(level or logging.INFO, self.level))
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)
            self.close_bar()


def _national(folder, write_csv: bool) -> None:
    """For a run whose points are ICSs (scenarios/england.yaml): print the national figures.

    `write_csv` writes national.csv when the report (which writes it too) is skipped."""
    try:
        from pcnsim.report import load_run, national_of, national_sentences, write_national
    except ImportError:   # the presentation layer needs seaborn; the run itself does not
        return
    try:
        run = load_run(folder)
        nat = national_of(run)
        if nat is None or nat.table is None:
            return
        click.echo(f"National figures ({int(nat.total_pcns):,} PCNs in {len(nat.points)} ICSs; "
                   "every figure is in national.csv):")
        for sentence in national_sentences(run, nat):
            click.echo("  " + sentence)
        if write_csv:
            write_national(folder)
    except Exception as err:  # noqa: BLE001 - the run's data are safe; the figures can be recomputed
        click.echo(f"Warning: the national figures could not be computed ({err}); the results are "
                   f"complete. Retry with: pcnsim report {folder}", err=True)


class _Terminated(list):
    """Whether SIGTERM arrived (truthy once it has)."""


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: _Terminated):
    """SIGTERM (a scheduler ending a job, `kill PID`) stops the run as Ctrl-C does: running cells
    finish, the manifest says `interrupted`, the worker processes end (exit status 143)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def handler(signum, frame):
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


@main.command("run")
@click.argument("file", required=False)
@click.option("--replications", type=click.IntRange(min=1), help="Replications per point (overrides run.replications).")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (overrides run.seed).")
@click.option("--jobs", type=click.IntRange(min=1), help="Local worker processes [default: all cores; 1 runs in this process].")
@click.option("--scheduler", metavar="ADDRESS", help="A dask.distributed scheduler, e.g. tcp://host:8786, instead of local processes.")
@click.option("--out", type=click.Path(file_okay=False), help="The run folder; refused if it exists and is not empty, unless --resume.")
@click.option("--resume", is_flag=True, help="Finish the interrupted run in --out DIR, redoing nothing that finished (FILE may be omitted).")
@click.option("--allow-unverified-model", is_flag=True,
              help="With --resume: accept a run folder from an older pcnsim that recorded no model fingerprint.")
@click.option("--cluster-timeout", type=click.FloatRange(min=0, min_open=True, max=86_400), metavar="SECONDS",
              help="With --scheduler: stop the run after this long without a scheduler connection or without "
                   "workers [default: 30].")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help="Override a parameter: dotted key = value (read as YAML). Repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--target-halfwidth", multiple=True, metavar="METRIC=REL",
              help="Add replications until the 95% CI of METRIC is within REL of its mean at every point "
                   "(e.g. appointments_per_year=0.01). Repeatable.")
@click.option("--max-replications", type=click.IntRange(min=1), help="Cap for --target-halfwidth [default: 200].")
@click.option("--suggest-warmup", is_flag=True, help="Print the MSER-5 warm-up suggestion from the weekly series.")
@click.option("--no-report", is_flag=True, help="Do not draw figures and report.html.")
@friendly_errors
def run_cmd(file, replications, seed, jobs, scheduler, out, resume, allow_unverified_model, cluster_timeout,
            set_, quiet, target_halfwidth, max_replications, suggest_warmup, no_report) -> None:
    """Run a scenario FILE (a path or a bundled name), every point of its sweep, every replication.

    FILE may be a folder of scenarios (`scenarios/workshop/`, or the bundled `workshop`): each
    runs in turn into one pack folder, with an index.html linking each report under its question.

    Results go to a new run folder (default outputs/<name>-<YYYYmmdd-HHMMSS>/) whose path is
    printed at the end. Exit status: 0 done, 1 a cell failed or the cluster (or a worker
    process) was lost, 2 bad input or a run folder that cannot be written (a full disk, a
    read-only folder: finished cells are kept for --resume), 130 Ctrl-C, 143 SIGTERM.
    """
    import json
    import os
    import shlex
    from pathlib import Path

    from pcnsim.errors import RunFolderError, ScenarioError
    from pcnsim.experiment import run as run_experiment

    targets = _parse_targets(target_halfwidth)
    source = None
    if file is not None and not resume:
        from pcnsim.scenario import scenario_pack

        pack = scenario_pack(file)
        if pack is not None:
            _run_pack(file, pack, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler,
                      out=out, set_=set_, quiet=quiet, no_report=no_report, targets=targets,
                      max_replications=max_replications)
            return
    if file is None:
        if not resume or out is None:
            raise ScenarioError("pcnsim run needs a scenario FILE (a path or a bundled name such as "
                                "'baseline'); only `--resume --out DIR` may omit it.")
        from pcnsim.config import Scenario

        try:
            manifest = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
            scenario = Scenario.model_validate_json(json.dumps(manifest["scenario"]))
        except (OSError, ValueError, KeyError) as err:
            raise RunFolderError(f"--resume: '{out}' is not a pcnsim run folder ({err})") from None
        if set_ or replications is not None or seed is not None:
            raise ScenarioError("--resume without FILE uses the folder's own scenario: drop --set, "
                                "--replications and --seed (or give the FILE and options of the first run).")
        targets = targets or manifest.get("target_halfwidth") or {}
        max_replications = max_replications or manifest.get("max_replications")
        source = manifest.get("source_path")
    else:
        from pcnsim.scenario import load_scenario_with_source

        scenario, source = load_scenario_with_source(file, list(set_))
    command = " ".join(shlex.quote(a) for a in ["pcnsim", *sys.argv[1:]])
    terminated = _Terminated()
    try:
        with _Terminal().attached(quiet) as terminal, _sigterm_as_interrupt(terminated):
            result = run_experiment(scenario, replications=replications, seed=seed, jobs=jobs,
                                    scheduler=scheduler, out=out, resume=resume, quiet=quiet,
                                    command_line=command, source_path=source,
                                    target_halfwidth=targets or None, max_replications=max_replications,
                                    progress=terminal.progress, cluster_timeout=cluster_timeout,
                                    allow_unverified_model=allow_unverified_model)
    except KeyboardInterrupt:
        sys.exit(143 if terminated else 130)
    except OSError as err:  # the system refused something run() does not expect: one paragraph, no traceback
        reason = os.strerror(err.errno) if err.errno else str(err)
        where = f" ({err.filename})" if err.filename else ""
        resume = f"pcnsim run --out {out} --resume" if out else "pcnsim run --out RUN_FOLDER --resume"
        raise RunFolderError(f"the run stopped on a system error: {reason}{where}. Cells that finished are "
                             f"kept; once the cause is fixed, finish the run with: {resume}") from None

    _print_key_metrics(result)
    _print_levers(result)
    if suggest_warmup:
        w = result.warmup
        if w is None:
            click.echo("Warm-up: no weekly series to analyse.")
        else:
            click.echo(f"Warm-up (MSER-5 on the replication means of the weekly series): suggest "
                       f"{w['suggested_weeks']} weeks (now {w['current_warmup_weeks']}); by series: "
                       + ", ".join(f"{k} {w['by_series'][k]}" for k in w["key_series"]) + ".")
    _national(result.folder, write_csv=no_report)
    if not no_report:
        try:
            from pcnsim.report import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            try:
                write_report(result.folder)
            except Exception as err:  # noqa: BLE001 - the run's data are safe; the report can be redrawn
                click.echo(f"Warning: the report could not be drawn ({err}); the results are complete. "
                           f"Retry with: pcnsim report {result.folder}", err=True)
    if result.failed:
        first = result.failed[0]
        click.echo(f"{len(result.failed)} cell(s) failed (the first: point {first['point']}, replication "
                   f"{first['replication']}: {first['type']}: {first['message']}); see manifest.json. "
                   f"Retry them with: pcnsim run --out {result.folder} --resume", err=True)
    click.echo(f"Run folder: {result.folder}")
    if result.failed:
        sys.exit(1)


def _run_pack(file, files, *, replications, seed, jobs, scheduler, out, set_, quiet, no_report, targets,
              max_replications) -> None:
    """`pcnsim run FOLDER`: every scenario of the folder, each in its own run folder inside one
    pack folder, then index.html linking each report under its question."""
    import shlex
    from pathlib import Path

    from pcnsim.experiment import run as run_experiment
    from pcnsim.experiment.folder import check_out, make_dir, new_folder
    from pcnsim.scenario import load_scenario_with_source

    loaded = [load_scenario_with_source(path, list(set_)) for path in files]   # all checked first
    names = [s.name for s, _ in loaded]
    if len(set(names)) != len(names):
        from pcnsim.errors import ScenarioError

        twice = sorted({n for n in names if names.count(n) > 1})
        raise ScenarioError(f"the scenarios of '{file}' must have different names (each gets its own run "
                            f"folder): {', '.join(twice)} appear more than once.")
    title = Path(str(file).rstrip("/")).name or "scenarios"
    if out:
        check_out(Path(out), False)
        make_dir(Path(out), parents=True)
        pack = Path(out)
    else:
        pack = new_folder(title, Path("outputs"))
    click.echo(f"Running the {len(files)} scenarios of '{file}' into {pack}")
    command = " ".join(shlex.quote(a) for a in ["pcnsim", *sys.argv[1:]])
    entries, failed = [], 0
    try:
        from pcnsim.report.answers import story
        from pcnsim.report.index import PackEntry, write_index
        from pcnsim.report import write_report
    except ImportError:
        story = write_report = None
    for (scenario, source), path in zip(loaded, files):
        click.echo(f"\n== {scenario.name} ({path.name})")
        try:
            with _Terminal().attached(quiet) as terminal:
                result = run_experiment(scenario, replications=replications, seed=seed, jobs=jobs,
                                        scheduler=scheduler, out=pack / scenario.name, quiet=quiet,
                                        command_line=command, source_path=source,
                                        target_halfwidth=targets or None, max_replications=max_replications,
                                        progress=terminal.progress)
        except KeyboardInterrupt:
            sys.exit(130)
        _print_key_metrics(result)
        note = ""
        if result.failed:
            failed += 1
            note = f"{len(result.failed)} cell(s) failed; see its manifest.json."
        if write_report is not None and not no_report:
            try:
                write_report(result.folder)
            except Exception as err:  # noqa: BLE001 - the run's data are safe; the report can be redrawn
                note += f" The report could not be drawn ({err}); retry with: pcnsim report {result.folder}"
        if story is not None:
            question, _ = story(scenario.model_dump(mode="json"))
            entries.append(PackEntry(path.name, scenario.name, question, scenario.description.strip(),
                                     result.folder, note.strip()))
    if story is not None and not no_report:
        index = write_index(pack, title, entries)
        click.echo(f"\nIndex of the reports: {index}")
    click.echo(f"Pack folder: {pack}")
    if failed:
        sys.exit(1)


# ---- report and compare: figures, report.html, differences between runs ---------------------
@main.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@friendly_errors
def report_cmd(run_dir: str) -> None:
    """(Re)draw the figures and report.html of a finished run folder RUN_DIR.

    The page is self-contained (figures embedded, no network needed): open it in any
    browser, e-mail it, or print it. Prints the page's path.
    """
    from pcnsim.report import write_report

    path = write_report(run_dir)
    click.echo(f"Report: {path}")
    click.echo(f"Figures: {path.parent / 'figures'}")


def _run_and_point(text: str, option: str | None, which: str):
    """RUN[:POINT] (or RUN with --point-a/--point-b) as (RunData, point or None)."""
    from pathlib import Path

    from pcnsim.errors import ScenarioError
    from pcnsim.report import load_run

    folder, point = text, None
    if not Path(text).is_dir() and ":" in text:
        head, _, tail = text.rpartition(":")
        if Path(head).is_dir() and tail:
            folder, point = head, tail
    if option is not None:
        if point is not None and point != option:
            raise ScenarioError(f"run {which}: the point is named twice ('{text}' and {option!r}); "
                                "name it once, as RUN:POINT or with the option.")
        point = option
    return load_run(folder), point


@main.command("compare")
@click.argument("run_a", metavar="RUN_A[:POINT]")
@click.argument("run_b", metavar="RUN_B[:POINT]")
@click.option("--point-a", metavar="POINT", help="The point of RUN_A to compare (its number or a swept value).")
@click.option("--point-b", metavar="POINT", help="The point of RUN_B to compare (its number or a swept value).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for compare.csv, compare.png and compare.html "
                   "[default: outputs/compare-<A>-vs-<B>-<time>/]; refused if it exists and is not empty.")
@friendly_errors
def compare_cmd(run_a: str, run_b: str, point_a: str | None, point_b: str | None, out: str | None) -> None:
    """What changes from run A to run B: the answer first, then every metric with its 95% CI.

    Name a point of a sweep as RUN:POINT (`outputs/ics-forum-...:forum` or `...:1`) or with
    --point-a/--point-b; two sweeps of the same keys are compared point by point. Runs with
    the same seed and replications are compared replication by replication (common random
    numbers: a paired t-interval); otherwise as independent samples (Welch). Writes
    compare.csv, compare.png (each difference in its own unit) and compare.html, a page
    that opens offline.
    """
    from pcnsim.report.answers import compare_headline, story
    from pcnsim.report.compare import (comparison_table, compare_runs, default_out_dir,
                                       describe_comparison, write_comparison)
    from pcnsim.report.formatting import point_text

    a, pa = _run_and_point(run_a, point_a, "A")
    b, pb = _run_and_point(run_b, point_b, "B")
    df = compare_runs(a, b, pa, pb)
    question, focus = story(b.scenario)
    if not question:
        question, focus = story(a.scenario)
    name_a, name_b = a.folder.resolve().name, b.folder.resolve().name

    def label(run, point_col: str) -> str:
        text = f"{run.folder}  ({run.name}"
        if run.swept_keys and not df.empty and df[point_col].nunique() == 1:
            p = int(df[point_col].iloc[0])
            text += f", point {p}: {point_text(run.point_values(p))}"
        return text + ")"

    label_a, label_b = label(a, "point_a"), label(b, "point_b")
    folder = write_comparison(df, out or default_out_dir(a, b), name_a, name_b, question=question,
                              focus=focus, label_a=label_a, label_b=label_b)
    for line in compare_headline(df, focus, question, "A", "B"):
        click.echo(line)
    click.echo("")
    click.echo(f"A: {label_a}")
    click.echo(f"B: {label_b}")
    click.echo("")
    click.echo(comparison_table(df))
    click.echo("")
    for line in describe_comparison(df, "A", "B"):
        click.echo(line)
    click.echo("")
    click.echo(f"Comparison page: {folder / 'compare.html'}")
    click.echo(f"Comparison folder: {folder}")


# ---- verify: analytic limit cases and invariants ---------------------------------------------
def _verify_number(value: float) -> str:
    if value != value:  # NaN: the check could not run
        return "-"
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.6g}"


@main.command()
@click.option("--quick", is_flag=True, help="Shorter runs (a few seconds); the full set takes under a minute.")
def verify(quick: bool) -> None:
    """Check the model against known answers: conservation, limit cases, queueing theory.

    Prints one row per check (expected, got, tolerance, PASS/FAIL); exits with status 1 if
    any check fails. The checks and their formulas: docs/verification.md.
    """
    from pcnsim.verify import run_checks

    checks = run_checks(quick=quick)
    rows = [(c.name, ("" if c.relation == "==" else c.relation + " ") + _verify_number(c.expected),
             _verify_number(c.got), _verify_number(c.tolerance), "PASS" if c.passed else "FAIL") for c in checks]
    head = ("check", "expected", "got", "tolerance", "result")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    click.echo("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    failed = [c for c in checks if not c.passed]
    for c in failed:
        click.echo(f"FAIL {c.name}: {c.note}", err=True)
    click.echo(f"{len(checks) - len(failed)} of {len(checks)} checks passed.")
    if failed:
        sys.exit(1)


# ---- app: the live workshop page -------------------------------------------------------------
@main.command("app")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: a free one].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 shares the page with a room (no password: only on a "
                   "network you trust).")
@click.option("--outputs", type=click.Path(file_okay=False), default="outputs", show_default=True,
              help="Where the page's runs go (as `pcnsim run`'s, and found again there).")
@click.option("--horizon-weeks", type=click.IntRange(min=2), help="The quick run's horizon [default: 65].")
@click.option("--warmup-weeks", type=click.IntRange(min=0), help="The quick run's warm-up [default: 13].")
@click.option("--replications", type=click.IntRange(min=2), help="The quick run's replications [default: 5].")
@friendly_errors
def app_cmd(port, host, outputs, horizon_weeks, warmup_weeks, replications) -> None:
    """Start the live workshop page (Streamlit) and print its address; Ctrl-C stops it.

    Pick a bundled scenario or workshop step, move the levers, press Run: the model reruns in
    seconds and the page gives the answer against the starting scenario in the report's words,
    with the CD's week, delivery and retention figures. Needs `pip install "pcnsim[app]"`.
    """
    import importlib.util
    import os
    import socket
    from pathlib import Path

    from pcnsim.errors import ScenarioError

    if importlib.util.find_spec("streamlit") is None:
        raise ScenarioError("pcnsim app needs Streamlit, an optional dependency: install it with "
                            "pip install \"pcnsim[app]\" (or pip install -e \".[app]\" in the repository).")
    horizon = horizon_weeks or 65
    warmup = warmup_weeks if warmup_weeks is not None else min(13, horizon // 4)
    if warmup >= horizon:
        raise ScenarioError(f"--warmup-weeks {warmup} must be less than the quick run's horizon "
                            f"({horizon} weeks, --horizon-weeks).")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, port or 0))
            port = probe.getsockname()[1]
    except OSError as err:
        what = f"port {port}" if port else "a free port"
        raise ScenarioError(f"--host {host}: cannot listen on {what} ({err.strerror or err}); leave out --port "
                            "for a free one, or give an address of this machine (127.0.0.1, or 0.0.0.0 for "
                            "every network).") from None
    env = dict(os.environ, PCNSIM_APP_OUTPUTS=str(Path(outputs).resolve()),
               PCNSIM_APP_HORIZON_WEEKS=str(horizon), PCNSIM_APP_WARMUP_WEEKS=str(warmup))
    if replications:
        env["PCNSIM_APP_REPLICATIONS"] = str(replications)
    from pcnsim.app import PAGE

    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    click.echo(f"pcnsim app: open http://{shown}:{port}/ in a browser (runs go to {Path(outputs)}; "
               "Ctrl-C stops the page).")
    sys.stdout.flush()
    sys.stderr.flush()
    args = [sys.executable, "-m", "streamlit", "run", str(PAGE), f"--server.port={port}",
            f"--server.address={host}", "--server.headless=true", "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none", "--server.runOnSave=false", "--global.developmentMode=false",
            "--client.toolbarMode=viewer", "--theme.base=light"]
    os.execve(sys.executable, args, env)   # the page's server replaces this process: one process to stop
