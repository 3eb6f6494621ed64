"""Issue 28 (Answers II): changes travel with every output, the whole answer first, an
Excel-ready workbook, researchers' metadata, bounded intervals and conflicting settings refused."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from pcnsim.cli import main
from tests.fake_runs import make_run_folder

pytestmark = pytest.mark.integration

BASE_DESCRIPTION = "Five GP practices of 9,000 patients"
SETS = ["pcn.list_size=62000", "pcn.practices=7", "funding.arrs_per_patient=*0.9"]
WORDS = ["62,000 patients in 7 practices", "ARRS budget 90% of short"]


def test_changes_in_plain_words():
    from pcnsim.scenario import load_scenario
    from pcnsim.scenario.changes import changes_sentence, describe_changes

    base = load_scenario("baseline")
    words = describe_changes(base, SETS + ["clinical_director.extra_protected_sessions=1"])
    assert words[0] == "62,000 patients in 7 practices"
    assert words[1].startswith("ARRS budget 90% of baseline (£20.60")
    assert words[2] == "extra protected CD sessions 1 session a week (baseline: 0 sessions a week)"
    assert describe_changes(base, {"funding.arrs_per_patient": "*0.5"})[0].startswith("ARRS budget 50% of baseline")
    assert describe_changes(base, ["pcn.practices=5"]) == ["5 practices of 9,000 patients"]
    assert describe_changes(base, []) == [] and changes_sentence([], "baseline") == ""
    assert changes_sentence(words[:1], "baseline") == ("Based on baseline, with these changes: 62,000 patients in "
                                                       "7 practices.")


def test_conflicting_overrides_are_refused_naming_both_keys():
    result = CliRunner().invoke(main, ["validate", "baseline", "--set", "pcn.list_size=62000", "--set",
                                       "pcn.practices=7", "--set", "pcn.list_size_per_practice=9000"])
    assert result.exit_code == 2
    assert "pcn.list_size=62000" in result.output and "pcn.list_size_per_practice=9000" in result.output
    assert "conflict" in result.output
    fine = CliRunner().invoke(main, ["validate", "baseline", "--set", "pcn.list_size=62000"])
    assert fine.exit_code == 0


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A short scenario run as it is, and again with three --sets (a real run each)."""
    root = tmp_path_factory.mktemp("changes")
    short = root / "short.yaml"
    short.write_text("extends: baseline\nname: short\nrun: {horizon_weeks: 12, warmup_weeks: 2, replications: 2}\n")
    base, changed = root / "base", root / "changed"
    for out, sets in ((base, []), (changed, SETS)):
        args = ["run", str(short), "--out", str(out), "--quiet", "--jobs", "1"]
        for s in sets:
            args += ["--set", s]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    return root, base, changed


def test_a_set_run_states_its_changes_everywhere(two_runs):
    from openpyxl import load_workbook

    root, base, changed = two_runs
    manifest = json.loads((changed / "manifest.json").read_text())
    assert manifest["based_on"] == "short" and manifest["changes"][0] == WORDS[0]
    page = (changed / "report.html").read_text(encoding="utf-8")
    for words in WORDS:
        assert words in page
    assert BASE_DESCRIPTION not in page                      # the base's description would be untrue
    assert BASE_DESCRIPTION in (base / "report.html").read_text(encoding="utf-8")
    assert "The question of short, asked here of this run" in page
    book = load_workbook(changed / "summary.xlsx")
    about = "\n".join(str(c.value) for row in book["About"].iter_rows() for c in row if c.value is not None)
    for words in WORDS:
        assert words in about
    assert BASE_DESCRIPTION not in about
    assert "pcn.list_size_per_practice" in about             # the actual settings
    cmp = root / "cmp"
    result = CliRunner().invoke(main, ["compare", str(base), str(changed), "--out", str(cmp)])
    assert result.exit_code == 0, result.output
    html = (cmp / "compare.html").read_text(encoding="utf-8")
    title = html[html.index("<h1>"):html.index("</h1>")]
    for words in WORDS:
        assert words in title
    assert str(base) not in title and BASE_DESCRIPTION not in html
    assert "In short" in result.output and "Money: " in result.output and "Retention: " in result.output
    assert "--all" in result.output and "Appointment requests: GP" not in result.output   # the focus table only


def test_compare_of_two_equal_runs_names_them_by_scenario(two_runs):
    root, base, _ = two_runs
    result = CliRunner().invoke(main, ["compare", str(base), str(base), "--out", str(root / "same")])
    assert result.exit_code == 0, result.output
    assert "short (run A)" in result.output and "short (run B)" in result.output


def test_workbook_is_excel_ready(tmp_path):
    from openpyxl import load_workbook

    from pcnsim.report import write_report

    folder = make_run_folder(tmp_path / "run", replications=3, weekly=False)
    write_report(folder)
    book = load_workbook(folder / "summary.xlsx")
    assert {"Summary", "About", "Delivery", "Leadership time", "Retention", "Money"} <= set(book.sheetnames)
    for name in ("Summary", "Delivery", "Money"):
        ws = book[name]
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    ws = book["Summary"]
    header = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(header)}
    formats = {}
    for row in ws.iter_rows(min_row=2):
        formats[row[col["metric name"]].value] = row[col["mean"]].number_format
    assert formats["appointments_per_year"] == "#,##0"
    assert formats["demand_met_share"] == "0.0%"
    assert formats["spend_per_year"] == "£#,##0"
    assert formats["cost_per_appointment"] == "£#,##0.00"
    assert formats["cd_overtime_hours_per_week"] == "#,##0.0"
    assert formats["cd_resignations_per_year"] == "#,##0.00"


def test_files_carry_labels_units_and_swept_values(two_runs):
    import pyarrow.parquet as pq

    root, base, changed = two_runs
    summary = pd.read_csv(changed / "summary.csv").set_index("metric")
    assert {"label", "unit", "kind", "ci_low_bounded", "ci_high_bounded", "ci_cut"} <= set(summary.columns)
    assert summary.loc["demand_met_share", "unit"] == "fraction (0 to 1)"
    assert summary.loc["appointments_per_year", "label"] == "Appointments delivered"
    shares = summary[summary["kind"] == "share"]
    assert (shares["ci_low_bounded"] >= 0).all()
    assert (summary["ci_low_bounded"].dropna() >= summary["ci_low"].dropna() - 1e-12).all()
    meta = pq.read_schema(changed / "results.parquet").metadata
    described = json.loads(meta[b"pcnsim.metrics"])
    assert described["cd_overtime_hours_per_week"]["unit"] == "hours a week"
    assert b"pcnsim.points" in pq.read_schema(changed / "weekly.parquet").metadata
    cmp = pd.read_csv(root / "cmp" / "compare.csv")
    assert {"label", "unit", "kind"} <= set(cmp.columns)


def test_metrics_command_lists_the_catalogue():
    result = CliRunner().invoke(main, ["metrics", "--format", "csv"])
    assert result.exit_code == 0
    table = pd.read_csv(__import__("io").StringIO(result.output))
    assert list(table.columns) == ["name", "label", "unit", "kind", "family", "drivers"]
    row = table.set_index("name").loc["leadership_tasks_overdue_share"]
    assert row["unit"] == "fraction (0 to 1)" and row["family"] == "leadership"


def test_all_metrics_table_keeps_intervals_within_bounds(tmp_path):
    from pcnsim.report import load_run
    from pcnsim.report.tables import metric_rows

    folder = make_run_folder(tmp_path / "run", replications=2, weekly=False)
    rows = metric_rows(load_run(folder))
    for r in rows:
        assert not r["low"].startswith("-"), r
        if r["unit"] == "%" and r["metric"] != "demand_met_share":
            assert float(r["high"].rstrip("%")) <= 100.0, r


def test_rare_events_in_words_with_their_counts():
    from pcnsim.report.answers import rare_words, rate_words

    assert rate_words(0.15) == "about one in seven years"
    assert rate_words(0.0) == "none" and rate_words(2.34) == "about 2.3 a year"
    text = rare_words("cd_resignations_per_year", 0.15, 10, 2.0, 0.03, 0.44)
    assert text.startswith("about one in seven years (0.15 a year, 95% CI 0.03 to 0.44; three resignations in 20 "
                           "PCN-years simulated)")
    assert text.endswith("too few events to pin the rate down")


def test_identical_random_outputs_are_not_called_inputs():
    from pcnsim.report.compare import describe_comparison

    row = dict(point_a=0, point_b=0, n_a=5, n_b=5, n=5, paired=True, method="paired", relative_difference=0.0)
    df = pd.DataFrame([
        {**row, "metric": "cd_resignations_per_year", "mean_a": 0.2, "mean_b": 0.2, "difference": 0.0,
         "ci_low": 0.0, "ci_high": 0.0, "distinguishable": False},
        {**row, "metric": "arrs_posts_funded", "mean_a": 20.0, "mean_b": 17.0, "difference": -3.0,
         "ci_low": -3.0, "ci_high": -3.0, "distinguishable": True},
        {**row, "metric": "appointments_per_year", "mean_a": 100.0, "mean_b": 110.0, "difference": 10.0,
         "ci_low": 5.0, "ci_high": 15.0, "distinguishable": True},
    ])
    text = "\n".join(describe_comparison(df))
    assert "Identical in both runs (shared random numbers): CD resignations" in text
    inputs = [line for line in text.splitlines() if line.startswith("Set by")]
    assert inputs and "ARRS posts funded" in inputs[0] and "CD resignations" not in inputs[0]
