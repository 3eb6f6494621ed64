"""`pcnsim run`: a scenario (or a folder of them) run, its headline metrics, levers and national
figures printed, its report drawn."""
from __future__ import annotations

import sys

import click

from pcnsim.cli.terminal import Terminal, Terminated, friendly_errors, sigterm_as_interrupt


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


def _whole_number(option: str, text: str | None) -> int | None:
    """A count option (`--replications 20`, `1e4` too) as an int, within 1 to 100,000, or a
    one-paragraph `ScenarioError`: checked before the number is used (`1e9` plans nothing)."""
    from pcnsim.errors import ScenarioError
    from pcnsim.experiment.runner import MAX_REPLICATIONS

    if text is None:
        return None
    try:
        value = float(text) if len(text) < 40 else float("nan")
    except ValueError:
        value = float("nan")
    if not value.is_integer() or not 1 <= value <= MAX_REPLICATIONS:
        raise ScenarioError(f"{option} {text[:40]!r}: expected a whole number from 1 to {MAX_REPLICATIONS:,}.")
    return int(value)


def _seed(text: str | None) -> int | None:
    """`--seed` as a whole number from 0, its digits bounded (as in files) before it is read."""
    from pcnsim.errors import ScenarioError
    from pcnsim.scenario.yamlio import MAX_INT_DIGITS

    if text is None:
        return None
    digits = text.strip()
    if not digits.isdigit() or len(digits) > MAX_INT_DIGITS or not digits.isascii():
        shown = digits if len(digits) <= 40 else f"{digits[:20]}... ({len(digits):,} characters)"
        raise ScenarioError(f"--seed {shown!s}: expected a whole number from 0, of at most {MAX_INT_DIGITS} digits.")
    return int(digits)


def _changes(source, set_) -> list[str]:
    """The run's `--set`s in words against the scenario file they change (recorded in the manifest
    and stated by every output: `pcnsim.scenario.changes.describe_changes`)."""
    if not set_:
        return []
    from pcnsim.scenario import load_scenario
    from pcnsim.scenario.changes import describe_changes

    return describe_changes(load_scenario(source), list(set_))


def _warn_few_replications(result) -> None:
    """With 3 replications or fewer, say that the intervals are too wide to read much into."""
    reps = result.replications
    if reps is not None and reps <= 3:
        click.echo(f"Warning: only {reps} replication{'s' if reps != 1 else ''} per point: the 95% intervals are "
                   "wide (a share can span 0% to 100%) and cannot tell most changes from noise. Use "
                   "--replications 10 or more for an answer.", err=True)


def _day_compiled() -> bool:
    """Whether numba's cache holds the compiled day (`daybook.serve`'s index file), looked for where numba
    keeps it (NUMBA_CACHE_DIR, next to the source, or the user's cache) without importing numba, which
    the main process of a run with worker processes never needs. An index for an edited source counts:
    numba then compiles the day again without this notice."""
    import hashlib
    import os
    from pathlib import Path

    folder = str(Path(__file__).resolve().parents[1] / "model")      # pcnsim/model, without the façade
    numba_subfolder = f"model_{hashlib.sha1(folder.encode()).hexdigest()}"
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        places = [Path(root) / numba_subfolder]
    else:
        user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        places = [Path(folder) / "__pycache__", user / "numba" / numba_subfolder,
                  Path.home() / "Library" / "Caches" / "numba" / numba_subfolder]
    index = f"daybook.serve-*.py{sys.version_info.major}{sys.version_info.minor}.nbi"
    return any(next(place.glob(index), None) is not None for place in places if place.is_dir())


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


def _maybe_national(result) -> bool:
    """Whether a run could be one of ICSs: `pcnsim.report.national_of`'s first conditions (a
    `points:` sweep of two points or more, or a `points` run without its sweep recorded)."""
    sweep = result.sweep
    spec = sweep.get("points") if sweep is not None else None
    return (isinstance(spec, list) and len(spec) >= 2) or (sweep is None and result.sweep_kind == "points")


def _national(folder, write_csv: bool, result=None):
    """For a run whose points are ICSs (scenarios/england.yaml): print the national figures, and
    beside them the published figures the scenario names (`report.published`).

    `write_csv` writes national.csv when the report (which writes it too) is skipped. Returns
    the run folder as read and its national figures, for the report to reuse (None, None when
    they could not be had). Without the report, a run that cannot be one of ICSs (`result`, the
    run as `run` returned it: `_maybe_national`) returns (None, None) at once: the folder is not
    read back and the report's modules are not loaded for nothing."""
    if write_csv and result is not None and not _maybe_national(result):
        return None, None
    try:
        from pcnsim.report import load_run, national_of, national_sentences
        from pcnsim.report.national import comparison_lines, national_comparison, published_figures, save_national
    except ImportError:   # the presentation layer needs matplotlib; the run itself does not
        return None, None
    try:
        run = load_run(folder)
        nat = national_of(run)
        if nat is None or nat.table is None:
            return run, nat
        click.echo(f"National figures ({int(nat.total_pcns):,} PCNs in {len(nat.points)} ICSs; "
                   "every figure is in national.csv):")
        for sentence in national_sentences(run, nat):
            click.echo("  " + sentence)
        published = published_figures(run)
        if published:
            click.echo("Beside published figures (the scenario's report.published; gap = model / published - 1):")
            for line in comparison_lines(national_comparison(nat, published)):
                click.echo("  " + line)
        if write_csv:
            save_national(run, nat)
        return run, nat
    except Exception as err:  # noqa: BLE001 - the run's data are safe; the figures can be recomputed
        click.echo(f"Warning: the national figures could not be computed ({err}); the results are "
                   f"complete. Retry with: pcnsim report {folder}", err=True)
        return None, None


@click.command("run")
@click.argument("file", required=False)
@click.option("--replications", metavar="N", help="Replications per point (overrides run.replications).")
@click.option("--seed", metavar="SEED", help="Root seed, a whole number from 0 (overrides run.seed).")
@click.option("--jobs", type=click.IntRange(min=1), help="Local worker processes; 1 runs in this process [default: one process for a small run, "
                   "every core once the work (about 220 PCN-years on 2 cores) repays starting workers; "
                   "docs/performance.md].")
@click.option("--scheduler", metavar="ADDRESS", help="A dask.distributed scheduler, e.g. tcp://host:8786, instead of local processes.")
@click.option("--out", type=click.Path(file_okay=False), help="The run folder; refused if it exists and is not empty, unless --resume.")
@click.option("--resume", is_flag=True, help="Finish the interrupted run in --out DIR, redoing nothing that finished (FILE may be omitted; with a folder of scenarios, DIR is its pack folder).")
@click.option("--allow-unverified-model", is_flag=True,
              help="With --resume: accept a run folder from an older pcnsim that recorded no model fingerprint.")
@click.option("--cluster-timeout", type=click.FloatRange(min=0, min_open=True, max=86_400), metavar="SECONDS",
              help="With --scheduler: stop the run after this long without a scheduler connection or without "
                   "workers; a worker silent this long counts as gone [default: 30].")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help="Override a parameter: dotted key = value (read as YAML). Repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--target-halfwidth", multiple=True, metavar="METRIC=REL",
              help="Add replications until the 95% CI of METRIC is within REL of its mean at every point "
                   "(e.g. appointments_per_year=0.01). Repeatable.")
@click.option("--max-replications", metavar="N", help="Cap for --target-halfwidth [default: 200; at most 100,000].")
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
    # Ctrl-C and SIGTERM alike, in every phase: while the scenarios are read and the cells
    # planned (nothing written yet), while cells run or are combined (the library keeps the
    # finished cells, marks the manifest `interrupted` and logs the resume command), and while
    # the report is drawn (the run is complete; the report can be drawn again).
    terminated = Terminated()
    phase = _Phase()
    with sigterm_as_interrupt(terminated):
        try:
            _run_cmd(file, replications, seed, jobs, scheduler, out, resume, allow_unverified_model,
                     cluster_timeout, set_, quiet, target_halfwidth, max_replications, suggest_warmup, no_report,
                     phase)
        except KeyboardInterrupt:
            if phase.message:
                click.echo(phase.message, err=True)
            sys.exit(143 if terminated else 130)


class _Phase:
    """What to tell the user if a signal stops the command now (set as the command goes on)."""

    def __init__(self) -> None:
        self.message = "Interrupted before the run started: nothing was written."


def _run_cmd(file, replications, seed, jobs, scheduler, out, resume, allow_unverified_model, cluster_timeout,
             set_, quiet, target_halfwidth, max_replications, suggest_warmup, no_report, phase: _Phase) -> None:
    """`pcnsim run`'s work; `run_cmd` handles the signals."""
    replications = _whole_number("--replications", replications)
    seed = _seed(seed)
    max_replications = _whole_number("--max-replications", max_replications)
    import json
    import os
    import shlex
    from pathlib import Path

    from pcnsim.errors import RunFolderError, ScenarioError
    from pcnsim.experiment import run as run_experiment

    from pcnsim.model.engine import engine

    # PCNSIM_ENGINE, if set, names an engine: checked before anything runs
    if engine() != "python" and scheduler is None and not _day_compiled():   # a cluster's workers compile their own
        if not quiet:
            click.echo("First run on this machine: numba compiles the model's day before the first cell (once, "
                       "about 20 s of CPU; later runs load it from numba's cache; docs/performance.md).", err=True)
        # compiled here, once, into numba's cache: worker processes started after it load it from there
        # rather than each compiling it (its explicit signature compiles it on import)
        import pcnsim.model.daybook  # noqa: F401
    targets = _parse_targets(target_halfwidth)
    source = None
    if file is not None:
        from pcnsim.scenario import scenario_pack

        pack = scenario_pack(file)
        if pack is not None:
            _run_pack(file, pack, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler,
                      out=out, set_=set_, quiet=quiet, no_report=no_report, targets=targets,
                      max_replications=max_replications, resume=resume, phase=phase)
            return
    if file is None:
        if not resume or out is None:
            raise ScenarioError("pcnsim run needs a scenario FILE (a path or a bundled name such as "
                                "'baseline'); only `--resume --out DIR` may omit it.")
        from pcnsim.config import Scenario

        manifest_path = Path(out) / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RunFolderError(f"--resume: '{out}' is not a pcnsim run folder: its manifest.json cannot be read "
                                 f"({type(err).__name__}: {getattr(err, 'strerror', None) or err}).") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("scenario"), dict):
            raise RunFolderError(f"--resume: '{manifest_path}' does not hold a pcnsim manifest (a JSON object with "
                                 "the run's `scenario`), so the run cannot be resumed from it; give the --out "
                                 "folder of the run to finish, or resume with the scenario FILE of the first run.")
        try:
            scenario = Scenario.model_validate_json(json.dumps(manifest["scenario"]))
        except ValueError:
            raise RunFolderError(f"--resume: the scenario recorded in '{manifest_path}' is not a valid pcnsim "
                                 "scenario (edited by hand, or from another version); resume with the scenario "
                                 "FILE of the first run.") from None
        if set_ or replications is not None or seed is not None:
            raise ScenarioError("--resume without FILE uses the folder's own scenario: drop --set, "
                                "--replications and --seed (or give the FILE and options of the first run).")
        targets = targets or manifest.get("target_halfwidth") or {}
        max_replications = max_replications or manifest.get("max_replications")
        source = manifest.get("source_path")
    else:
        from pcnsim.scenario import load_scenario_with_source

        scenario, source = load_scenario_with_source(file, list(set_))
    changes = _changes(source, set_) if file is not None else None
    command = " ".join(shlex.quote(a) for a in ["pcnsim", *sys.argv[1:]])
    phase.message = ""   # from here the library says what was kept and how to resume, in every phase
    try:
        with Terminal().attached(quiet) as terminal:
            result = run_experiment(scenario, replications=replications, seed=seed, jobs=jobs,
                                    scheduler=scheduler, out=out, resume=resume, quiet=quiet,
                                    command_line=command, source_path=source,
                                    target_halfwidth=targets or None, max_replications=max_replications,
                                    progress=terminal.progress, cluster_timeout=cluster_timeout,
                                    allow_unverified_model=allow_unverified_model,
                                    changes=changes, based_on=scenario.name)
    except OSError as err:  # the system refused something run() does not expect: one paragraph, no traceback
        reason = os.strerror(err.errno) if err.errno else str(err)
        where = f" ({err.filename})" if err.filename else ""
        resume = f"pcnsim run --out {out} --resume" if out else "pcnsim run --out RUN_FOLDER --resume"
        raise RunFolderError(f"the run stopped on a system error: {reason}{where}. Cells that finished are "
                             f"kept; once the cause is fixed, finish the run with: {resume}") from None

    phase.message = (f"Interrupted after the run: its results are complete in {result.folder}. Draw its "
                     f"report with: pcnsim report {result.folder}")
    _print_key_metrics(result)
    _warn_few_replications(result)
    _print_levers(result)
    if suggest_warmup:
        w = result.warmup
        if w is None:
            click.echo("Warm-up: no weekly series to analyse.")
        else:
            click.echo(f"Warm-up (MSER-5 on the replication means of the weekly series): suggest "
                       f"{w['suggested_weeks']} weeks (now {w['current_warmup_weeks']}); by series: "
                       + ", ".join(f"{k} {w['by_series'][k]}" for k in w["key_series"]) + ".")
    loaded, nat = _national(result.folder, write_csv=no_report, result=result)
    if not no_report:
        try:
            from pcnsim.report import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            try:   # the folder as read for the national figures: read once, not twice
                if loaded is None:
                    write_report(result.folder)
                else:
                    write_report(result.folder, run=loaded, national=nat)
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
              max_replications, resume=False, phase: _Phase | None = None) -> None:
    """`pcnsim run FOLDER`: every scenario of the folder, each in its own run folder inside one
    pack folder, then index.html linking each report under its question and room.html (one
    screen per question). The first scenario (in file order) is the pack's baseline: each
    later one is compared with it (`pcnsim.report.pack.compare_with_baseline`, paired when
    they share seeds) before its report is drawn, so its report opens with the difference. With `--resume --out PACK`:
    each scenario's run folder that was started is finished (redoing nothing that finished), the
    others are run, and the reports and the index are drawn again."""
    import shlex
    from pathlib import Path

    from pcnsim.experiment import run as run_experiment
    from pcnsim.experiment.folder import check_out, load_run, make_dir, new_folder
    from pcnsim.scenario import load_scenario_with_source

    loaded = [load_scenario_with_source(path, list(set_)) for path in files]   # all checked first
    names = [s.name for s, _ in loaded]
    if len(set(names)) != len(names):
        from pcnsim.errors import ScenarioError

        twice = sorted({n for n in names if names.count(n) > 1})
        raise ScenarioError(f"the scenarios of '{file}' must have different names (each gets its own run "
                            f"folder): {', '.join(twice)} appear more than once.")
    title = Path(str(file).rstrip("/")).name or "scenarios"
    if resume:
        from pcnsim.errors import RunFolderError

        if not out or not Path(out).is_dir():
            raise RunFolderError(f"--resume with the scenario folder '{file}' needs --out PACK, the pack folder of "
                                 f"the interrupted run (it holds one run folder per scenario); "
                                 f"{'no --out was given' if not out else repr(str(out)) + ' is not a folder'}.")
        pack = Path(out)
    elif out:
        check_out(Path(out), False)
        make_dir(Path(out), parents=True)
        pack = Path(out)
    else:
        pack = new_folder(title, Path("outputs"))
    finish = f"pcnsim run {file} --out {pack} --resume"
    if phase is not None:
        phase.message = f"Interrupted: the finished cells are kept. Finish the pack with: {finish}"
    click.echo(f"{'Finishing' if resume else 'Running'} the {len(files)} scenarios of '{file}' into {pack}")
    command = " ".join(shlex.quote(a) for a in ["pcnsim", *sys.argv[1:]])
    entries, failed, slides, baseline = [], 0, [], None
    try:
        from pcnsim.report.answers import story
        from pcnsim.report.index import PackEntry, write_index
        from pcnsim.report import write_report
        from pcnsim.report.pack import compare_with_baseline, room_slides, write_room
    except ImportError:
        story = write_report = None
    for (scenario, source), path in zip(loaded, files):
        click.echo(f"\n== {scenario.name} ({path.name})")
        with Terminal().attached(quiet) as terminal:
            started = resume and (pack / scenario.name).is_dir() and any((pack / scenario.name).iterdir())
            result = run_experiment(scenario, replications=replications, seed=seed, jobs=jobs,
                                    scheduler=scheduler, out=pack / scenario.name, resume=started, quiet=quiet,
                                    command_line=command, source_path=source,
                                    target_halfwidth=targets or None, max_replications=max_replications,
                                    progress=terminal.progress, changes=_changes(source, set_),
                                    based_on=scenario.name)
        _print_key_metrics(result)
        note = ""
        if result.failed:
            failed += 1
            note = f"{len(result.failed)} cell(s) failed; see its manifest.json."
        answer, against = [], []
        if write_report is not None and not no_report:
            try:
                if baseline is None:     # the pack's first scenario is its baseline
                    baseline = result.folder if not result.failed else False
                elif baseline and not result.failed:
                    against = compare_with_baseline(baseline, result.folder)
                    for a in against[:1]:
                        click.echo(f"Against the baseline: {a.short}")
                write_report(result.folder)
                shown = room_slides(load_run(result.folder), f"{result.folder.name}/report.html")
                slides += shown
                answer = shown[0].answer if shown and not against else []
            except Exception as err:  # noqa: BLE001 - the run's data are safe; the report can be redrawn
                note += f" The report could not be drawn ({err}); retry with: pcnsim report {result.folder}"
        if story is not None:
            question, _ = story(scenario.model_dump(mode="json"))
            from pcnsim.scenario.changes import changes_sentence

            described = changes_sentence(result.changes, scenario.name) or scenario.description.strip()
            entries.append(PackEntry(path.name, scenario.name, question, described,
                                     result.folder, note.strip(), answer=answer, against=against))
    if story is not None and not no_report:
        index = write_index(pack, title, entries)
        room = write_room(pack, title, slides)
        click.echo(f"\nIndex of the reports: {index}")
        click.echo(f"Room view (one screen per question): {room}")
    click.echo(f"Pack folder: {pack}")
    if failed:
        sys.exit(1)
