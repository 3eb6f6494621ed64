"""`pcnsim build`: a scenario file from NHS Digital's published CSVs (pcnsim.data; docs/data.md)."""
from __future__ import annotations

from pathlib import Path

import click

from pcnsim.cli.terminal import friendly_errors


def _check(text: str, out: Path) -> str:
    """Validate the built text (its `calibration:` section too) as a scenario file would be loaded;
    "" or why not."""
    import tempfile

    import yaml

    from pcnsim.scenario import load_scenario

    data = yaml.safe_load(text)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / out.name
        probe.write_text(yaml.safe_dump(data, sort_keys=False))
        load_scenario(probe)
    return ""


@click.command("build")
@click.argument("pcn_code", metavar="PCN_CODE|england")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding the CSVs downloaded from NHS Digital (docs/data.md): the GP workforce "
                   "practice-level file, one or more GPAD practice-level months; optionally patients "
                   "registered and the PCN workforce file.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The scenario file to write (YAML).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@friendly_errors
def build_cmd(pcn_code: str, data_dir: Path, out: Path, force: bool) -> None:
    """Write a scenario for one PCN (its U-code, e.g. U12345) or for `england` from published data.

    A PCN: its practices, lists, GP, nurse and DPC WTE per practice, ARRS mix (when the PCN
    workforce file is there) and `calibration:` targets from GPAD for the same practices.
    England: one sweep point per ICB with its PCNs, staff per 10,000 patients and demand.
    The file is commented with each value's source file and month; `pcnsim run FILE` runs it.
    """
    from pcnsim.data import build_england, build_pcn, find_files
    from pcnsim.errors import ScenarioError

    if out.exists() and not force:
        raise ScenarioError(f"{out} exists: `pcnsim build` does not overwrite files; choose another --out "
                            "or add --force.")
    files = find_files(data_dir)
    built = build_england(files) if pcn_code.strip().lower() == "england" else build_pcn(pcn_code, files)
    try:
        _check(built.text, out)
    except ScenarioError as err:   # a bug, or data outside the model's ranges: say which, write nothing
        raise ScenarioError(f"the scenario built from {data_dir} does not validate, so nothing was written: "
                            f"{err}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(built.text)
    for note in built.notes:
        click.echo(note, err=True)
    if pcn_code.strip().lower() == "england":
        click.echo(f"Wrote {out}. Next: pcnsim run {out}.", err=True)
    else:
        click.echo(f"Wrote {out}. Next: pcnsim calibrate {out}, then pcnsim run {out}.", err=True)
