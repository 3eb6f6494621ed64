"""`pcnsim validate`, `pcnsim params` and `pcnsim scenarios`: scenario files checked, their
parameters listed, the bundled scenarios named; nothing runs."""
from __future__ import annotations

import click

from pcnsim.cli.terminal import friendly_errors

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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command("metrics")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              help="A table to read, or CSV for a program.")
@friendly_errors
def metrics_cmd(fmt: str) -> None:
    """List every metric pcnsim writes: name, label, unit, kind, family and drivers.

    The catalogue (`pcnsim.metrics`) every output reads: results.parquet, summary.csv and
    compare.csv carry the same labels and units (a share is a fraction from 0 to 1 in the files,
    a percentage on the pages). A metric named `base.suffix` (`utilisation.paramedic`) takes
    the entry of `base`. Drivers are the metrics whose change explains this one ("-": a rise
    of the driver lowers it).
    """
    import csv
    import sys

    from pcnsim import metrics as catalogue

    rows = []
    for m in catalogue.CATALOGUE.values():
        unit = "fraction (0 to 1)" if m.kind == "share" else m.unit
        rows.append({"name": m.name, "label": m.label, "unit": unit, "kind": m.kind, "family": m.family,
                     "drivers": " ".join(m.drivers)})
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    cols = ("name", "label", "unit", "kind", "family", "drivers")
    widths = {c: min(48, max(len(c), *(len(r[c]) for r in rows))) for c in cols[:-1]}
    click.echo("  ".join(c.ljust(widths.get(c, 0)) for c in cols).rstrip())
    for r in rows:
        click.echo("  ".join(r[c][:48].ljust(widths[c]) for c in cols[:-1]) + "  " + r["drivers"])
