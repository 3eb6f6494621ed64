"""`pcnsim calibrate`: a scenario's unknowns fitted to its `calibration:` targets; the calibrated
scenario, the fit page and the table of design points written beside it."""
from __future__ import annotations

import sys

import click

from pcnsim.cli.terminal import Terminal, Terminated, friendly_errors, sigterm_as_interrupt
from pcnsim.config.calibration import (DEFAULT_CONFIRM, DEFAULT_HORIZON_WEEKS, DEFAULT_POINTS, DEFAULT_REPLICATIONS,
                                       DEFAULT_WARMUP_WEEKS, DEFAULT_WAVES)


@click.command("calibrate")
@click.argument("file")
@click.option("--waves", type=int, default=DEFAULT_WAVES, show_default=True,
              help="Refocusing waves of history matching.")
@click.option("--points", type=int, default=DEFAULT_POINTS, show_default=True,
              help="Points run a wave (wave 1 a Latin hypercube over the ranges; later waves the "
              "candidates an emulator per target finds non-implausible).")
@click.option("--replications", type=int, default=DEFAULT_REPLICATIONS, show_default=True,
              help="Runs of each design point (common random numbers), at least 2.")
@click.option("--confirm", type=int, default=DEFAULT_CONFIRM, show_default=True,
              help="Runs of each of the 5 best points, to choose among them and for the chosen "
              "point's intervals and implausibility.")
@click.option("--horizon-weeks", type=int, default=DEFAULT_HORIZON_WEEKS, show_default=True,
              help="Length of each calibration run (the file written keeps its own run settings).")
@click.option("--warmup-weeks", type=int, default=DEFAULT_WARMUP_WEEKS, show_default=True,
              help="Warm-up of each calibration run.")
@click.option("--jobs", type=click.IntRange(min=1), help="Local worker processes [default: all cores; 1 runs in "
              "this process]. The fit is the same for any number.")
@click.option("--seed", type=click.IntRange(min=0), help="Override run.seed (the runs' and the designs' seed).")
@click.option("--out", type=click.Path(dir_okay=False), help="The calibrated scenario file [default: "
              "FILE-calibrated.yaml beside FILE]; the fit page (.html) and the design points (.csv) go beside it.")
@click.option("--force", is_flag=True, help="Replace the files of an earlier calibration.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def calibrate_cmd(file, waves, points, replications, confirm, horizon_weeks, warmup_weeks, jobs, seed, out, force,
                  quiet) -> None:
    """Fit the unknowns of FILE's `calibration:` section to its targets by history matching.

    Writes FILE-calibrated.yaml (the scenario with the chosen values and a comment header saying
    what was fitted and how well), FILE-calibrated.html (the fit page: each target beside the
    model with its 95% interval and implausibility, the ranges not ruled out wave by wave) and
    FILE-calibrated.csv (every design point). A fit that fails is a result: the page and the
    terminal say which targets fail, and the exit status is 0. Exit status 2: bad input (the
    file, its calibration section, an option, an existing output without --force); 1: a model
    run failed; 130 Ctrl-C; 143 SIGTERM.
    """
    terminated = Terminated()
    with sigterm_as_interrupt(terminated):
        try:
            _calibrate(file, waves, points, replications, confirm, horizon_weeks, warmup_weeks, jobs, seed, out,
                       force, quiet)
        except KeyboardInterrupt:
            click.echo("Interrupted: the calibration stopped and nothing was written.", err=True)
            sys.exit(143 if terminated else 130)


def _calibrate(file, waves, points, replications, confirm, horizon_weeks, warmup_weeks, jobs, seed, out, force,
               quiet) -> None:
    from pcnsim.experiment.calibrate import calibrate, check_outputs, output_paths, write_calibration
    from pcnsim.report.calibration import write_fit_page
    from pcnsim.scenario import load_scenario_with_source

    scenario, source = load_scenario_with_source(file)
    paths = output_paths(source, scenario.name, out)
    check_outputs(paths, force)   # before anything runs
    with Terminal().attached(quiet) as terminal:
        cal = calibrate(scenario, source=source, waves=waves, points=points, replications=replications,
                        confirm=confirm, jobs=jobs, seed=seed, horizon_weeks=horizon_weeks,
                        warmup_weeks=warmup_weeks, progress=None if quiet else terminal.progress)
    write_calibration(cal, paths, force=force)
    write_fit_page(cal.fit, paths.html, name=cal.scenario.name, source=cal.section.source,
                   period=cal.section.period, settings=cal.settings, notes=cal.notes, seconds=cal.seconds,
                   files={"scenario": str(source), "calibrated scenario": paths.yaml.name,
                          "design points": paths.csv.name})
    fit = cal.fit
    click.echo(("Fits. " if fit.fits else "NO FIT. ") + fit.verdict())
    for key in fit.unknowns:
        lo, hi = fit.ranges[key]
        click.echo(f"  {key} = {fit.chosen[key]:.4g}  (searched {lo:g} to {hi:g})")
    click.echo(f"Calibrated scenario: {paths.yaml}")
    click.echo(f"Fit page: {paths.html}")
    click.echo(f"Design points: {paths.csv}")
