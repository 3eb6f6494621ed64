"""`pcnsim report` and `pcnsim compare`: a run folder's figures and page (re)drawn, and what
changes from one run to another."""
from __future__ import annotations

from pathlib import Path

import click

from pcnsim.cli.terminal import friendly_errors


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@friendly_errors
def report_cmd(run_dir: str) -> None:
    """(Re)draw the figures and report.html of a finished run folder RUN_DIR.

    The page is self-contained (figures embedded, no network needed): open it in any
    browser, e-mail it, or print it. Prints the page's path.
    """
    from pcnsim.report import write_report

    try:
        path = write_report(run_dir)
    except OSError as err:   # a full disk, a read-only folder: one paragraph (each file is whole or absent)
        raise _write_failed(err, run_dir, f"pcnsim report {run_dir}",
                            "its results are untouched, and every file written is whole") from None
    click.echo(f"Report: {path}")
    click.echo(f"Figures: {path.parent / 'figures'}")


def _write_failed(err: OSError, folder, again: str, kept: str):
    """The one-paragraph error for a write the system refused (disk full, read-only folder)."""
    import os

    from pcnsim.errors import RunFolderError

    path = getattr(err, "path", None) or err.filename or folder
    reason = getattr(err, "reason", None) or (os.strerror(err.errno) if err.errno else str(err))
    return RunFolderError(f"cannot write to '{folder}' (writing {path}): {reason}. Nothing was left half-written: "
                          f"{kept}. Make room on the disk (or make the folder writable), then run: {again}")


def _is_dir(text: str) -> bool:
    """`Path.is_dir`, False for a path the system refuses (a name too long)."""
    try:
        return Path(text).is_dir()
    except OSError:
        return False


def _run_and_point(text: str, option: str | None, which: str):
    """RUN[:POINT] (or RUN with --point-a/--point-b) as (RunData, point or None)."""
    from pathlib import Path

    from pcnsim.errors import ScenarioError
    from pcnsim.report import load_run

    folder, point = text, None
    if len(text) > 4096:
        raise ScenarioError(f"run {which}: a name of {len(text):,} characters is no run folder.")
    if not _is_dir(text) and ":" in text:
        head, _, tail = text.rpartition(":")
        if _is_dir(head) and tail:
            folder, point = head, tail
    if option is not None:
        if point is not None and point != option:
            raise ScenarioError(f"run {which}: the point is named twice ('{text}' and {option!r}); "
                                "name it once, as RUN:POINT or with the option.")
        point = option
    return load_run(folder), point


def _remove_comparison(target, existed: bool) -> None:
    """Remove what a refused comparison wrote: the folder it made, or its files in the (empty) one given."""
    import contextlib
    import shutil

    if not existed:
        shutil.rmtree(target, ignore_errors=True)
        return
    for name in ("compare.csv", "compare.png", "compare.html"):
        with contextlib.suppress(OSError):
            (target / name).unlink(missing_ok=True)


@click.command("compare")
@click.argument("run_a", metavar="RUN_A[:POINT]")
@click.argument("run_b", metavar="RUN_B[:POINT]")
@click.option("--point-a", metavar="POINT", help="The point of RUN_A to compare (its number or a swept value).")
@click.option("--point-b", metavar="POINT", help="The point of RUN_B to compare (its number or a swept value).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for compare.csv, compare.png and compare.html "
                   "[default: outputs/compare-<A>-vs-<B>-<time>/]; refused if it exists and is not empty.")
@click.option("--all", "show_all", is_flag=True,
              help="Print every metric's difference and how it was estimated, not only the answer's metrics "
                   "(compare.csv and compare.html always hold every metric).")
@friendly_errors
def compare_cmd(run_a: str, run_b: str, point_a: str | None, point_b: str | None, out: str | None,
                show_all: bool = False) -> None:
    """What changes from run A to run B: the answer first, then every metric with its 95% CI.

    Name a point of a sweep as RUN:POINT (`outputs/ics-forum-...:forum` or `...:1`) or with
    --point-a/--point-b; two sweeps of the same keys are compared point by point. Runs with
    the same seed and replications are compared replication by replication (common random
    numbers: a paired t-interval); otherwise as independent samples (Welch). Writes
    compare.csv, compare.png (each difference in its own unit) and compare.html, a page
    that opens offline.
    """
    from pcnsim.report.answers import compare_headline
    from pcnsim.report.compare import (comparison_table, compare_runs, comparison_names, default_out_dir,
                                       describe_comparison, focus_rows, run_exposure, write_comparison)

    a, pa = _run_and_point(run_a, point_a, "A")
    b, pb = _run_and_point(run_b, point_b, "B")
    df = compare_runs(a, b, pa, pb)
    question, focus, name_a, name_b, label_a, label_b = comparison_names(a, b, df)
    exposure = (run_exposure(a), run_exposure(b))
    target = Path(out) if out else default_out_dir(a, b)
    existed = target.exists()
    try:
        folder = write_comparison(df, target, name_a, name_b, question=question,
                                  focus=focus, label_a=label_a, label_b=label_b, exposure=exposure)
    except OSError as err:   # a full disk: nothing of the comparison is left, not a compare.csv alone
        _remove_comparison(target, existed)
        again = " ".join(["pcnsim compare", run_a, run_b, *(["--point-a", point_a] if point_a else []),
                          *(["--point-b", point_b] if point_b else []), *(["--out", out] if out else [])])
        raise _write_failed(err, target, again, "no comparison file was kept") from None
    for line in compare_headline(df, focus, question, "A", "B", exposure):
        click.echo(line)
    click.echo("")
    click.echo(f"A: {label_a}")
    click.echo(f"B: {label_b}")
    click.echo("")
    if show_all:
        click.echo(comparison_table(df))
        click.echo("")
        for line in describe_comparison(df, "A", "B"):
            click.echo(line)
    else:
        click.echo(comparison_table(focus_rows(df, focus)))
        click.echo(describe_comparison(df, "A", "B")[0])   # how the difference was estimated
        click.echo(f"The answer's metrics; every metric ({df['metric'].nunique()}) is in compare.csv and "
                   "compare.html, or printed with --all.")
    click.echo("")
    click.echo(f"Comparison page: {folder / 'compare.html'}")
    click.echo(f"Comparison folder: {folder}")
