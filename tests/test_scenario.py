"""Scenario files: loading, extends, merging, overrides, sweeps and every bad input."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pcnsim import scenario as sc
from pcnsim.config import Scenario
from pcnsim.errors import ScenarioError
from pcnsim.scenario import (
    apply_values,
    bundled_scenarios,
    dump_yaml,
    load_scenario,
    load_scenario_with_source,
    parse_set,
    validate_sweep,
)

pytestmark = pytest.mark.unit

# the scenario keys docs/interface.md lists as the names users rely on
INTERFACE_KEYS = (
    "run.horizon_weeks", "run.warmup_weeks", "run.replications", "run.seed", "ics.pcns",
    "ics.representation", "ics.forum_representatives", "ics.meeting_load", "pcn.practices",
    "pcn.list_size_per_practice", "demand.appointments_per_patient_year",
    "funding.arrs_per_patient", "funding.cd_wte_per_50k", "funding.manager_wte",
    "funding.backfill_meetings", "clinical_director.extra_protected_sessions",
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def dig(data, dotted: str):
    for part in dotted.split("."):
        data = data[part]
    return data


def refused(source, overrides=None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, overrides)
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message.strip()
    return message


# --------------------------------------------------------------------------- the baseline
def test_baseline_is_the_schema_defaults():
    loaded, path = load_scenario_with_source("baseline")
    assert path.name == "baseline.yaml"
    assert loaded.name == "baseline" and loaded.description.strip()
    assert loaded.model_dump(exclude={"description", "report"}) == Scenario().model_dump(exclude={"description", "report"})


def test_baseline_writes_out_every_interface_key():
    raw = yaml.safe_load(Path(sc.resolve_scenario_path("baseline")).read_text(encoding="utf-8"))
    for key in INTERFACE_KEYS:
        assert dig(raw, key) == dig(Scenario().model_dump(), key), key
    assert "extends" not in raw


def test_bundled_scenarios_lists_baseline():
    found = {b.name: b for b in bundled_scenarios()}
    assert "baseline" in found
    assert found["baseline"].path.is_file() and found["baseline"].description


def test_bundled_names_in_subfolders(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    write(bundle, "baseline.yaml", "name: baseline\ndescription: Base. More.\n")
    write(bundle, "workshop/forum.yaml",
          "extends: baseline\ndescription: Forum model.\nics: {pcns: 5, representation: forum}\n")
    monkeypatch.setattr(sc.files, "BUNDLED_SEARCH_PATH", [tmp_path / "missing", bundle])
    monkeypatch.chdir(tmp_path)
    loaded = load_scenario("workshop/forum")
    assert loaded.ics.representation == "forum" and loaded.name == "forum"
    assert [b.name for b in bundled_scenarios()] == ["baseline", "workshop/forum"]


# --------------------------------------------------------------------------- extends and merging
def test_extends_relative_path_and_chain_depth_first(tmp_path):
    write(tmp_path, "base/grand.yaml", "pcn: {practices: 3, list_size_per_practice: 7000}\n"
                                       "run: {replications: 4}\n")
    write(tmp_path, "base/parent.yaml", "extends: grand.yaml\npcn: {practices: 6}\n")
    child = write(tmp_path, "child.yaml", "extends: base/parent.yaml\nrun: {seed: 7}\n")
    loaded = load_scenario(child)
    assert loaded.pcn.practices == 6                       # parent over grandparent
    assert loaded.pcn.list_size_per_practice == 7000       # grandparent kept
    assert (loaded.run.replications, loaded.run.seed) == (4, 7)
    assert loaded.run.horizon_weeks == Scenario().run.horizon_weeks
    assert loaded.name == "child"                           # a name is not inherited


def test_extends_bundled_name_and_list_of_bases(tmp_path):
    write(tmp_path, "more.yaml", "funding: {backfill_meetings: true}\n")
    child = write(tmp_path, "c.yaml", "name: mine\nextends: [baseline, more.yaml]\n"
                                      "funding: {manager_wte: 0}\n")
    loaded = load_scenario(child)
    assert loaded.name == "mine"
    assert loaded.funding.backfill_meetings is True and loaded.funding.manager_wte == 0
    assert loaded.description == load_scenario("baseline").description


def test_partial_override_keeps_sibling_defaults(tmp_path):
    path = write(tmp_path, "s.yaml", "arrs:\n  roles:\n    paramedic:\n      annual_cost: 70000\n")
    loaded = load_scenario(path)
    default = Scenario().arrs.roles.paramedic
    assert loaded.arrs.roles.paramedic.annual_cost == 70000
    assert loaded.arrs.roles.paramedic.supervision_hours_per_week == default.supervision_hours_per_week
    assert loaded.arrs.roles.paramedic.serves == default.serves


def test_lists_replace_and_mappings_merge(tmp_path):
    write(tmp_path, "b.yaml", "demand: {weekday_profile: [1, 1, 1, 1, 1], patience_days: 5}\n")
    child = write(tmp_path, "c.yaml", "extends: b.yaml\ndemand:\n  weekday_profile: [2, 1, 1, 1, 1]\n"
                                      "ics:\n  meetings:\n    - {name: Board, every_weeks: 4, hours: 2,"
                                      " weekday: 1}\n")
    loaded = load_scenario(child)
    assert loaded.demand.weekday_profile == (2, 1, 1, 1, 1)
    assert loaded.demand.patience_days == 5
    assert [m.name for m in loaded.ics.meetings] == ["Board"]


def test_child_sweep_design_replaces_the_base_design(tmp_path):
    write(tmp_path, "b.yaml", "sweep:\n  grid:\n    pcn.practices: [3, 4]\n")
    child = write(tmp_path, "c.yaml", "extends: b.yaml\nsweep:\n  lhs:\n    n: 4\n    ranges:\n"
                                      "      funding.arrs_per_patient: [10, 30]\n")
    loaded = load_scenario(child)
    assert loaded.sweep.kind == "lhs" and loaded.sweep.grid is None
    grown = write(tmp_path, "g.yaml", "extends: b.yaml\nsweep:\n  grid:\n    ics.meeting_load: [0, 1]\n")
    assert load_scenario(grown).sweep.keys() == ("pcn.practices", "ics.meeting_load")
    dropped = write(tmp_path, "d.yaml", "extends: b.yaml\nsweep: null\n")
    assert load_scenario(dropped).sweep is None


# --------------------------------------------------------------------------- overrides
def test_overrides_apply_after_extends(tmp_path):
    path = write(tmp_path, "s.yaml", "extends: baseline\npcn: {practices: 7}\n")
    assert load_scenario(path, ["pcn.practices=4"]).pcn.practices == 4
    assert load_scenario(path, {"pcn.practices": 3}).pcn.practices == 3
    merged = load_scenario(path, ["arrs.roles.paramedic={annual_cost: 1000}", "name=tweaked",
                                  "demand.weekday_profile=[1, 1, 1, 1, 2]",
                                  "pcn.list_size_per_practice=1e4"])
    assert merged.arrs.roles.paramedic.annual_cost == 1000
    assert merged.arrs.roles.paramedic.appointment_minutes == Scenario().arrs.roles.paramedic.appointment_minutes
    assert merged.name == "tweaked" and merged.demand.weekday_profile == (1, 1, 1, 1, 2)
    assert merged.pcn.list_size_per_practice == 10_000


def test_parse_set_reads_yaml_values():
    got = parse_set(["a.b=3", "c=2.5", "d=true", "e=forum", "f=[1, 2]", "g= x=y", "h=", "i=1e3"])
    assert got == {"a.b": 3, "c": 2.5, "d": True, "e": "forum", "f": [1, 2], "g": "x=y", "h": None,
                   "i": 1000}


@pytest.mark.parametrize("items, needle", [
    (["pcn.practices"], "KEY=VALUE"),
    (["=3"], "dotted key"),
    (["pcn.practices=[1, 2"], "not valid YAML"),
])
def test_parse_set_refuses_malformed_items(items, needle):
    with pytest.raises(ScenarioError, match=needle):
        parse_set(items)


def test_set_unknown_key_suggests_the_sibling():
    message = refused("baseline", ["pcn.practises=4"])
    assert "--set" in message and "pcn.practises" in message and "did you mean 'pcn.practices'" in message
    message = refused("baseline", ["pcm.practices=4"])
    assert "did you mean 'pcn.practices'" in message


def test_a_renamed_key_loads_from_a_file_with_a_warning(tmp_path):
    """A file written before delivery v3 keeps working: the old key's value under the new name, and a warning."""
    path = write(tmp_path, "old.yaml", "extends: baseline\narrs:\n  supervision_protected_share: 0.5\n")
    with pytest.warns(FutureWarning, match="renamed 'arrs.supervision_preblocked_share'"):
        loaded = load_scenario(path)
    assert loaded.arrs.supervision_preblocked_share == 0.5


def test_a_renamed_dotted_key_is_refused_naming_the_new_one():
    """As a dotted key (`--set`, a sweep point) the old name is refused with the new one: a sweep's keys name
    its output columns, so they are written anew rather than mapped."""
    message = refused("baseline", ["arrs.supervision_protected_share=0.5"])
    assert "--set" in message and "renamed 'arrs.supervision_preblocked_share'" in message, message
    with pytest.raises(ScenarioError, match="sweep point 0: 'arrs.supervision_protected_share' was renamed "
                                            "'arrs.supervision_preblocked_share'"):
        apply_values(Scenario(), {"arrs.supervision_protected_share": 0.5}, "sweep point 0")
    assert load_scenario("baseline", ["arrs.supervision_preblocked_share=0.5"]).arrs.supervision_preblocked_share == 0.5


def test_set_value_with_wrong_type_names_the_option():
    message = refused("baseline", ["pcn.practices=five"])
    assert "--set pcn.practices" in message and "whole number" in message


# --------------------------------------------------------------------------- apply_values, dump
def test_apply_values_returns_a_new_validated_scenario():
    base = Scenario()
    point = apply_values(base, {"pcn.practices": 8, "arrs.roles.paramedic.annual_cost": 1.0}, "p")
    assert point.pcn.practices == 8 and point.arrs.roles.paramedic.annual_cost == 1.0
    assert base.pcn.practices == Scenario().pcn.practices
    with pytest.raises(ScenarioError, match=r"^sweep point 3: pcn.practices = 0: expected"):
        apply_values(base, {"pcn.practices": 0}, "sweep point 3")
    with pytest.raises(ScenarioError, match="sweep point 4: unknown key 'pcn.nope'"):
        apply_values(base, {"pcn.nope": 1}, "sweep point 4")


def test_dump_yaml_round_trips(tmp_path):
    loaded = load_scenario("baseline", ["sweep={grid: {pcn.practices: [4, 6]}}"])
    text = dump_yaml(loaded)
    assert "extends" not in text and "!!python" not in text and "tuple" not in text
    assert "weekday_profile: [" in text
    path = write(tmp_path, "resolved.yaml", text)
    assert load_scenario(path) == loaded


# --------------------------------------------------------------------------- bad files
BAD_CONTENT = [
    # (case, file text, substrings the message must contain)
    ("malformed", "run:\n  horizon_weeks: [1, 2\n", ["not valid YAML", "line"]),
    ("tab-indent", "run:\n\thorizon_weeks: 3\n", ["not valid YAML"]),
    ("empty", "", ["is empty"]),
    ("only-comments", "# nothing here\n", ["is empty"]),
    ("not-a-mapping", "- 1\n- 2\n", ["top level", "mapping"]),
    ("scalar-top", "42\n", ["top level"]),
    ("section-scalar", "run: 5\n", ["run = 5", "section"]),
    ("section-null", "pcn:\n", ["pcn = null", "section"]),
    ("unknown-key", "pcn:\n  practises: 4\n", ["pcn.practises", "did you mean 'pcn.practices'"]),
    ("unknown-top", "fundng:\n  manager_wte: 1\n", ["fundng", "did you mean 'funding'"]),
    ("renamed-twice", "arrs:\n  supervision_protected_share: 0.5\n  supervision_preblocked_share: 0.5\n",
     ["arrs.supervision_protected_share", "both given", "give 'arrs.supervision_preblocked_share' only"]),
    ("unknown-deep", "arrs:\n  roles:\n    paramedik: {annual_cost: 1}\n",
     ["arrs.roles.paramedik", "did you mean 'arrs.roles.paramedic'"]),
    ("wrong-type", "pcn:\n  practices: five\n", ["pcn.practices", '"five"', "whole number"]),
    ("float-for-int", "pcn:\n  practices: 4.5\n", ["pcn.practices", "4.5", "whole number"]),
    ("text-for-bool", "funding:\n  backfill_meetings: maybe\n", ["funding.backfill_meetings", "true or false"]),
    ("negative", "funding:\n  arrs_per_patient: -1\n", ["funding.arrs_per_patient", "-1", "at least 0"]),
    ("out-of-range", "ics:\n  attend_if_clinical: 1.5\n", ["ics.attend_if_clinical", "at most 1"]),
    ("nan", "ics:\n  meeting_load: .nan\n", ["ics.meeting_load", ".nan", "finite"]),
    ("inf", "funding:\n  arrs_per_patient: .inf\n", ["funding.arrs_per_patient", ".inf", "finite"]),
    ("absurd-horizon", "run:\n  horizon_weeks: 100000\n", ["run.horizon_weeks", "100000", "at most"]),
    ("zero-practices", "pcn:\n  practices: 0\n", ["pcn.practices", "= 0", "at least 1"]),
    ("unknown-enum", "ics:\n  representation: some\n", ["ics.representation", '"some"', "'forum'"]),
    ("warmup-at-horizon", "run:\n  horizon_weeks: 52\n  warmup_weeks: 52\n",
     ["run.warmup_weeks", "= 52", "shorter than the horizon"]),
    ("warmup-past-horizon", "run:\n  warmup_weeks: 400\n", ["run.warmup_weeks", "400"]),
    ("forum-reps", "ics:\n  pcns: 3\n  representation: forum\n  forum_representatives: 4\n",
     ["ics.forum_representatives", "= 4", "cannot exceed"]),
    ("short-list", "demand:\n  weekday_profile: [1, 1]\n", ["demand.weekday_profile", "5 values"]),
    ("bad-list-item", "clinical_director:\n  overflow: [manager, golf]\n",
     ["clinical_director.overflow[1]", '"golf"']),
    ("duplicate-key", "pcn:\n  practices: 4\n  practices: 5\n", ["practices", "twice"]),
    ("bool-key", "funding:\n  on: 1\n", ["not text", "quotes"]),
    ("bad-name", "name: my scenario\n", ["name", "no spaces"]),
    ("bad-extends-type", "extends: 5\n", ["extends = 5"]),
    ("python-tag", "pcn: !!python/object:os.system {}\n", ["not valid YAML"]),
]


@pytest.mark.parametrize("case, text, needles", BAD_CONTENT, ids=[c[0] for c in BAD_CONTENT])
def test_bad_content_is_refused_with_file_key_and_expectation(tmp_path, case, text, needles):
    path = write(tmp_path, f"{case}.yaml", text)
    message = refused(path)
    assert f"{case}.yaml" in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_error_names_the_base_file_that_set_the_key(tmp_path):
    write(tmp_path, "base.yaml", "pcn:\n  practices: five\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nrun: {seed: 1}\n")
    message = refused(child)
    assert "base.yaml" in message and "child.yaml" in message and "pcn.practices" in message
    bare = write(tmp_path, "bare.yaml", "extends: base.yaml\n")
    assert re.search(r"base\.yaml' \(a base of '[^']*bare\.yaml'\)", refused(bare))


def test_missing_file_folder_and_misspelt_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "does not exist" in refused(tmp_path / "nope.yaml")
    (tmp_path / "folder").mkdir()
    assert "is a folder" in refused(tmp_path / "folder")
    assert "did you mean 'baseline'" in refused("basline")


def test_binary_and_non_utf8_files(tmp_path):
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"name: x\x00y\n")
    assert "binary" in refused(nul) and "nul.yaml" in refused(nul)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("description: café\n".encode("latin-1"))
    assert "not UTF-8" in refused(latin)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffpcn: {practices: 4}\n".encode("utf-8"))
    assert load_scenario(bom).pcn.practices == 4


def test_missing_base_and_cycles(tmp_path):
    orphan = write(tmp_path, "orphan.yaml", "extends: gone.yaml\n")
    message = refused(orphan)
    assert "orphan.yaml" in message and "gone.yaml" in message and "does not exist" in message
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    message = refused(tmp_path / "a.yaml")
    assert "cycle" in message and "a.yaml" in message and "b.yaml" in message
    selfish = write(tmp_path, "self.yaml", "extends: self.yaml\n")
    assert "cycle" in refused(selfish)


# --------------------------------------------------------------------------- sweeps
def sweep_file(tmp_path, body: str) -> Path:
    return write(tmp_path, "sweep.yaml", "sweep:\n" + body)


def test_valid_sweeps_load(tmp_path):
    grid = load_scenario(sweep_file(tmp_path, "  grid:\n    pcn.practices: [3, 5]\n"
                                              "    funding.backfill_meetings: [false, true]\n"))
    assert grid.sweep.grid == {"pcn.practices": (3, 5), "funding.backfill_meetings": (False, True)}
    points = load_scenario(sweep_file(tmp_path, "  points:\n    - {pcn.practices: 3}\n"
                                                "    - {ics.pcns: 4, ics.representation: forum}\n"))
    assert len(points.sweep.points) == 2
    lhs = load_scenario(sweep_file(tmp_path, "  lhs:\n    n: 8\n    ranges:\n"
                                             "      pcn.practices: [3, 8]\n"
                                             "      run.warmup_weeks: [0, 200]\n"
                                             "      run.horizon_weeks: [300, 400]\n"))
    assert lhs.sweep.kind == "lhs"


@pytest.mark.parametrize("body, needles", [
    ("  grid:\n    pcn.practises: [3, 4]\n", ["pcn.practises", "did you mean 'pcn.practices'"]),
    ("  grid:\n    pcn: [3, 4]\n", ["'pcn' is a section"]),
    ("  grid:\n    run.seed: [1, 2]\n", ["run.seed", "cannot be swept"]),
    ("  grid:\n    pcn.practices: []\n", ["pcn.practices", "no values"]),
    ("  grid: {}\n", ["sweep.grid is empty"]),
    ("  points: []\n", ["sweep.points is empty"]),
    ("  points:\n    - {}\n", ["sweep.points[0] is empty"]),
    ("  grid:\n    pcn.practices: [3, five]\n", ["pcn.practices", '"five"', "whole number"]),
    ("  grid:\n    ics.meeting_load: [1, .nan]\n", ["ics.meeting_load", "finite"]),
    ("  grid:\n    ics.pcns: [1, 3]\n    ics.representation: [all, forum]\n",
     ["combination", "ics.forum_representatives"]),
    ("  points:\n    - {pcn.practices: 3}\n    - {run.warmup_weeks: 500}\n",
     ["sweep.points[1]", "run.warmup_weeks = 500"]),
    ("  lhs:\n    n: 4\n    ranges:\n      ics.representation: [0, 1]\n", ["not a numeric parameter"]),
    ("  lhs:\n    n: 4\n    ranges:\n      funding.backfill_meetings: [0, 1]\n", ["not a numeric"]),
    ("  sobol:\n    n: 4\n    ranges:\n      funding.arrs_per_patient: [30, 10]\n", ["low < high"]),
    ("  sobol:\n    n: 4\n    ranges:\n      pcn.practices: [2.5, 6]\n", ["whole endpoints"]),
    ("  lhs:\n    n: 4\n    ranges:\n      pcn.practices: [0, 6]\n", ["pcn.practices = 0", "at least 1"]),
    ("  lhs:\n    n: 4\n    ranges:\n      run.warmup_weeks: [0, 200]\n", ["run.warmup_weeks", "200"]),
    ("  lhs:\n    n: 4\n    ranges: {}\n", ["ranges is empty"]),
    ("  lhs:\n    n: 4\n    ranges:\n      ics.meeting_load: [0, .inf]\n", ["finite"]),
    ("  grid:\n    pcn.practices: [3]\n  lhs:\n    n: 2\n    ranges: {ics.meeting_load: [0, 1]}\n",
     ["exactly one of grid, points, lhs, sobol"]),
])
def test_bad_sweeps_are_refused_at_load_time(tmp_path, body, needles):
    message = refused(sweep_file(tmp_path, body))
    assert "sweep.yaml" in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_validate_sweep_accepts_no_sweep_and_names_where():
    validate_sweep(Scenario())
    bad = Scenario.model_validate({"sweep": {"grid": {"pcn.nope": (1,)}}})
    with pytest.raises(ScenarioError, match="^my file: sweep.grid"):
        validate_sweep(bad, "my file")
