"""`pcnsim verify`: the model checked against known answers, one row per check."""
from __future__ import annotations

import sys

import click


def _verify_number(value: float) -> str:
    if value != value:  # NaN: the check could not run
        return "-"
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.6g}"


@click.command()
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
