"""`pcnsim validate`, `pcnsim params` and `pcnsim scenarios`: output, and bad input as exit 2."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pcnsim.cli import main
from pcnsim.config import Scenario
from pcnsim.scenario import dump_yaml, load_scenario

pytestmark = pytest.mark.unit

from tests.test_scenario import INTERFACE_KEYS  # noqa: E402  (the keys docs/interface.md lists)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run the CLI from an empty folder; return (invoke, folder)."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke, tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- validate
def test_validate_prints_the_resolved_scenario(cli):
    invoke, _ = cli
    result = invoke("validate", "baseline")
    assert result.exit_code == 0, result.output
    assert result.stdout == dump_yaml(load_scenario("baseline"))
    assert yaml.safe_load(result.stdout)["pcn"]["practices"] == Scenario().pcn.practices
    assert "OK" in result.stderr and "baseline" in result.stderr


def test_validate_applies_set_and_extends(cli):
    invoke, folder = cli
    (folder / "mine.yaml").write_text("extends: baseline\npcn: {practices: 7}\n", encoding="utf-8")
    result = invoke("validate", "mine.yaml", "--set", "funding.backfill_meetings=true",
                    "--set", "run.replications=3")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["name"] == "mine" and data["pcn"]["practices"] == 7
    assert data["funding"]["backfill_meetings"] is True and data["run"]["replications"] == 3
    assert "extends" not in data


BAD_FILES = [
    # (case, file text or None for no file, extra args, substrings of the message)
    ("malformed", "pcn: {practices: 4\n", [], ["not valid YAML"]),
    ("empty", "", [], ["is empty"]),
    ("not-mapping", "- a\n", [], ["top level"]),
    ("section-scalar", "run: 5\n", [], ["run = 5"]),
    ("unknown-key", "pcn:\n  practises: 4\n", [], ["pcn.practises", "did you mean 'pcn.practices'"]),
    ("wrong-type", "pcn:\n  practices: five\n", [], ["pcn.practices", '"five"']),
    ("negative", "pcn:\n  list_size_per_practice: -10\n", [], ["pcn.list_size_per_practice", "-10"]),
    ("nan", "ics:\n  meeting_load: .nan\n", [], ["ics.meeting_load", ".nan"]),
    ("inf", "ics:\n  meeting_load: .inf\n", [], ["ics.meeting_load", ".inf"]),
    ("horizon", "run:\n  horizon_weeks: 100000\n", [], ["run.horizon_weeks", "100000"]),
    ("zero-practices", "pcn:\n  practices: 0\n", [], ["pcn.practices", "0"]),
    ("enum", "ics:\n  representation: some\n", [], ["ics.representation", '"some"']),
    ("missing-base", "extends: nowhere.yaml\n", [], ["nowhere.yaml", "does not exist"]),
    ("warmup", "run:\n  warmup_weeks: 156\n", [], ["run.warmup_weeks", "156"]),
    ("forum", "ics:\n  representation: forum\n  forum_representatives: 3\n", [],
     ["ics.forum_representatives", "3"]),
    ("sweep-unknown", "sweep:\n  grid:\n    pcn.practises: [3]\n", [], ["pcn.practises"]),
    ("sweep-empty", "sweep:\n  grid:\n    pcn.practices: []\n", [], ["pcn.practices", "no values"]),
    ("set-no-equals", "name: ok\n", ["--set", "pcn.practices"], ["KEY=VALUE"]),
    ("set-unknown", "name: ok\n", ["--set", "pcn.practises=4"], ["pcn.practises", "did you mean"]),
    ("set-type", "name: ok\n", ["--set", "pcn.practices=five"], ["pcn.practices", '"five"']),
]


@pytest.mark.parametrize("command", ["validate", "params"])
@pytest.mark.parametrize("case, text, extra, needles", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_input_exits_2_with_one_clear_message(cli, command, case, text, extra, needles):
    invoke, folder = cli
    path = folder / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    before = snapshot(folder)
    result = invoke(command, path.name, *extra)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    message = result.stderr
    assert message.startswith("Error: ") and len(message.strip().splitlines()) == 1
    if not case.startswith("set-no-equals"):
        assert path.name in message or "--set" in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert snapshot(folder) == before  # nothing written, no outputs/ folder


def test_bad_paths_exit_2(cli):
    invoke, folder = cli
    (folder / "folder").mkdir()
    (folder / "binary.yaml").write_bytes(b"\x00\x01\x02")
    (folder / "latin.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (folder / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (folder / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    before = snapshot(folder)
    for target, needle in [("nope.yaml", "does not exist"), ("folder", "is a folder"),
                           ("binary.yaml", "binary"), ("latin.yaml", "not UTF-8"),
                           ("a.yaml", "cycle"), ("basline", "did you mean 'baseline'")]:
        result = invoke("validate", target)
        assert result.exit_code == 2, (target, result.output)
        assert needle in result.stderr and target in result.stderr
        assert "Traceback" not in result.output
    assert snapshot(folder) == before


# --------------------------------------------------------------------------- params
def test_params_lists_every_interface_key_with_unit_and_source(cli):
    invoke, _ = cli
    result = invoke("params")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[3:] if line.strip()}
    for key in INTERFACE_KEYS:
        assert key in lines, key
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(invoke("params", "--format", "csv").stdout))}
    for key in INTERFACE_KEYS:
        assert rows[key]["unit"] and rows[key]["source"], key
    assert rows["funding.arrs_per_patient"]["value"] == str(Scenario().funding.arrs_per_patient)
    assert rows["funding.backfill_meetings"]["value"] == "false"
    assert rows["arrs.roles.paramedic.annual_cost"]["unit"].startswith("£")
    assert "Pulse 2024" in rows["funding.arrs_per_patient"]["source"]
    assert "ics.meetings[0]" in rows


def test_params_of_a_file_with_set(cli):
    invoke, folder = cli
    (folder / "s.yaml").write_text("pcn: {practices: 7}\nsweep:\n  grid:\n    ics.meeting_load: [0, 1]\n",
                                   encoding="utf-8")
    result = invoke("params", "s.yaml", "--set", "funding.manager_wte=0")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("pcn.practices "))
    assert line.split()[1] == "7"
    line = next(x for x in result.stdout.splitlines() if x.startswith("funding.manager_wte "))
    assert line.split()[1] == "0.0"
    assert "sweep: grid over ics.meeting_load" in result.stdout
    defaults = invoke("params", "--set", "pcn.practices=3")
    assert next(x for x in defaults.stdout.splitlines() if x.startswith("pcn.practices ")).split()[1] == "3"


# --------------------------------------------------------------------------- scenarios
def test_scenarios_lists_bundled_one_line_each(cli):
    invoke, _ = cli
    result = invoke("scenarios")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("baseline "))
    first = load_scenario("baseline").description.split(". ")[0]
    assert first in line and line.rstrip().endswith(".")
