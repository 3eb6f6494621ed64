"""Answers people can use: the question first, bounded intervals, readable figures (issue 15)."""
from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fake_runs import make_run_folder

from pcnsim.analysis import sobol_display, top_levers
from pcnsim.report import load_run, write_report
from pcnsim.report.answers import answer_sentences, parameter_label, sobol_sentences, story

pytestmark = pytest.mark.integration


def grid_run(folder: Path, second: int = 40) -> Path:
    """A run folder of a 2-key grid whose second key has `second` values (summary only)."""
    folder.mkdir(parents=True)
    a, b = [0.25, 0.5], [round(10 + 0.5 * i, 2) for i in range(second)]
    rows = []
    for p, (x, y) in enumerate(itertools.product(a, b)):
        for m, base in (("appointments_per_year", 250_000.0), ("cd_overtime_hours_per_week", 0.3)):
            mean = base * (1 + x / 10 - y / 1000)
            rows.append({"point": p, "funding.cd_wte_per_50k": x, "funding.arrs_per_patient": y, "metric": m,
                         "mean": mean, "std": 1.0, "ci_low": mean - 0.5 * base, "ci_high": mean + 0.1 * base,
                         "n": 2})
    pd.DataFrame(rows).to_csv(folder / "summary.csv", index=False)
    scenario = {"name": "wide-grid", "run": {"replications": 2, "horizon_weeks": 20, "warmup_weeks": 2},
                "sweep": {"grid": {"funding.cd_wte_per_50k": a, "funding.arrs_per_patient": b}},
                "report": {"question": "What does the ARRS budget buy?",
                           "focus": ["appointments_per_year", "cd_overtime_hours_per_week"]}}
    (folder / "manifest.json").write_text(json.dumps({"scenario": scenario, "replications": 2,
                                                      "swept_keys": list(scenario["sweep"]["grid"])}))
    return folder


def _overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of visible texts of a drawn matplotlib figure whose boxes intersect (on one axis)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for ax in fig.get_axes():
        if not ax.get_visible():
            continue
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels
                     if t.get_visible() and t.get_text()]
            for (ta, ba), (tb, bb) in itertools.combinations(boxes, 2):
                if ba.overlaps(bb):
                    found.append((ta, tb))
        titles = [t for t in (ax.title, ax._left_title, ax._right_title) if t.get_text()]
        ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible() and t.get_text()]
        for t in titles:
            for k in ticks:
                if t.get_window_extent(renderer).overlaps(k.get_window_extent(renderer)):
                    found.append((t.get_text(), k.get_text()))
    return found


@pytest.fixture()
def captured(monkeypatch):
    """Every figure the report saves, kept for inspection (and still written)."""
    import pcnsim.report.compare as compare_mod
    import pcnsim.report.figures.focus as focus_mod
    import pcnsim.report.figures.sweep as sweep_mod
    import pcnsim.report.figures.weekly as weekly_mod
    from pcnsim.report import style

    figs = {}

    def keep(fig, path):
        figs[Path(path).name] = fig
        return style.save(fig, path)

    for mod in (sweep_mod, focus_mod, weekly_mod, compare_mod):
        monkeypatch.setattr(mod, "save", keep)
    return figs


def test_a_grid_with_40_values_on_its_second_key_draws_readable_ticks(tmp_path, captured):
    folder = grid_run(tmp_path / "grid")
    page = write_report(folder).read_text(encoding="utf-8")   # raised ValueError before (issue 17)
    heat = captured["sweep_00_appointments_per_year.png"]
    ax = heat.get_axes()[0]
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert 2 <= len(shown) <= 12 and shown[0] == "10"                 # thinned, first value kept
    for name, fig in captured.items():
        assert _overlaps(fig) == [], name
    assert "What does the ARRS budget buy?" in page
    assert page.index('id="question"') < page.index('id="key"')


def test_sobol_indices_are_shown_within_0_and_1():
    table = pd.DataFrame({"metric": ["m"] * 3, "parameter": ["a", "b", "c"], "S1": [1.05, -0.02, 0.3],
                          "S1_conf": [0.2, 0.1, np.nan], "ST": [1.76, 0.01, 0.4], "ST_conf": [0.3, 0.05, 0.1],
                          "noise_share": [0.05] * 3})
    shown = sobol_display(table)
    for col in ("S1", "ST", "S1_low", "S1_high", "ST_low", "ST_high"):
        assert shown[col].between(0, 1).all(), col
    assert shown.loc[0, "ST"] == 1.0 and shown.loc[1, "S1"] == 0.0 and shown.loc[2, "S1_high"] == 0.3
    assert table.loc[0, "S1"] == 1.05                                   # the raw estimates stay
    assert list(top_levers(table, "m", 2)["parameter"]) == ["a", "c"]
    line = sobol_sentences(table.assign(metric="appointments_per_year"), ["appointments_per_year"])[0]
    # the clipped index says so, with SALib's estimate (issue 28)
    assert line.startswith("Appointments delivered: a 1.00 (1.00 to 1.00) [clipped to 0-1 from 1.76]; "
                           "c 0.40 (0.30 to 0.50)")
    assert "replication noise is 5% of the variation" in line
    assert parameter_label("funding.arrs_per_patient") == "ARRS budget"


def test_answers_say_the_focus_plainly_and_name_what_is_missing():
    summary = pd.DataFrame([
        {"point": 0, "metric": "representation_share", "mean": 0.993, "ci_low": 0.977, "ci_high": 1.008,
         "std": 0.0108, "n": 5},
        {"point": 1, "metric": "representation_share", "mean": 0.80, "ci_low": 0.75, "ci_high": 0.85,
         "std": 0.0403, "n": 5},
    ])
    question, focus = story({"report": {"question": "Forum or all?",
                                        "focus": ["representation_share", "cd_meeting_hours_per_week.other"]}})
    lines = answer_sentences(summary, focus, {0: "all", 1: "forum"})
    assert question == "Forum or all?"
    assert lines[0].startswith("System meetings with a PCN CD present: 99.3% (95% CI 97.7% to 100.0%) at all; "
                               "80.0% (95% CI 75.0% to 85.0%) at forum.")        # cut at 100%
    # no differences.csv: the points are compared from the summary, as independent samples
    assert "Against all, as independent samples (5 replications each): at forum: 19.3 points lower (" in lines[0]
    assert "Not in this run's results: CD time in system meetings: other CDs" in lines[1]
    assert story({})[1][0] == "appointments_per_year"                 # no report key: the headline


def test_a_workshop_run_opens_with_its_question(tmp_path):
    folder = make_run_folder(tmp_path / "forum", sweep="categorical", replications=3, weekly=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["scenario"]["report"] = {"question": "Every CD in every meeting?",
                                      "focus": ["cd_overtime_hours_per_week", "representation_share"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    page = write_report(folder).read_text(encoding="utf-8")
    assert page.index("Every CD in every meeting?") < page.index('id="key"')
    assert (folder / "figures" / "focus.png").exists()
    run = load_run(folder)
    assert "report" in run.scenario


def test_planners_conveniences(tmp_path):
    from pcnsim.errors import ScenarioError
    from pcnsim.scenario import load_scenario

    base = load_scenario("baseline")
    cut = load_scenario("baseline", ["funding.arrs_per_patient=*0.9", "pcn.practices=*2"])
    assert cut.funding.arrs_per_patient == pytest.approx(base.funding.arrs_per_patient * 0.9)
    assert cut.pcn.practices == 2 * base.pcn.practices and isinstance(cut.pcn.practices, int)
    with pytest.raises(ScenarioError, match="not a number"):
        load_scenario("baseline", ["name=*2"])
    with pytest.raises(ScenarioError, match="expected a whole number"):
        load_scenario("baseline", ["pcn.practices=*1.1"])
    total = load_scenario("baseline", ["pcn.list_size=52000"])
    assert total.pcn.list_size_per_practice == 10_400 and total.list_size == 52_000
    folder = make_run_folder(tmp_path / "run", replications=3, weekly=False)
    write_report(folder)
    sheets = pd.read_excel(folder / "summary.xlsx", sheet_name=None)
    summary = sheets["Summary"].set_index("metric name")
    assert {"Summary", "About"} <= set(sheets)
    share = summary.loc["demand_met_share"] if "demand_met_share" in summary.index else None
    assert share is not None and share["unit"] == "%"
    assert (summary["95% CI low"] >= 0).all()


def test_run_a_folder_of_scenarios_writes_an_index(tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main

    pack = tmp_path / "pack"
    pack.mkdir()
    short = "run: {horizon_weeks: 12, warmup_weeks: 2, replications: 2}\n"
    (pack / "1-base.yaml").write_text("extends: baseline\nname: base\n" + short
                                      + "report: {question: 'How busy is the PCN?'}\n")
    (pack / "2-cut.yaml").write_text("extends: baseline\nname: cut\n" + short
                                     + "funding: {arrs_per_patient: 11}\nreport: {question: 'What if ARRS were cut?'}\n")
    (pack / "notes.txt").write_text("not a scenario")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(pack), "--out", str(out), "--quiet", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.index("How busy is the PCN?") < index.index("What if ARRS were cut?")
    assert 'href="base/report.html"' in index and (out / "cut" / "report.html").exists()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.yaml").write_text("extends: baseline\nname: a\n")
    (bad / "b.yaml").write_text("extends: baseline\nname: a\npcn: {practices: 0}\n")
    refused = CliRunner().invoke(main, ["run", str(bad), "--out", str(tmp_path / "o2")])
    assert refused.exit_code == 2 and "pcn.practices" in refused.output
    assert not (tmp_path / "o2").exists()                                     # checked before running


def test_an_interrupted_pack_resumes_where_it_stopped(tmp_path):
    """`pcnsim run FOLDER --out PACK --resume`: a scenario's missing cell is run again, a scenario
    never started is run, and the results are those of an uninterrupted pack."""
    from click.testing import CliRunner

    from pcnsim.cli import main

    src = tmp_path / "src"
    src.mkdir()
    short = "run: {horizon_weeks: 8, warmup_weeks: 2, replications: 2}\n"
    (src / "1-base.yaml").write_text("extends: baseline\nname: base\n" + short)
    (src / "2-cut.yaml").write_text("extends: baseline\nname: cut\n" + short + "funding: {arrs_per_patient: 11}\n")
    args = ["run", str(src), "--quiet", "--jobs", "1", "--no-report"]
    ref, pack = tmp_path / "ref", tmp_path / "pack"
    assert CliRunner().invoke(main, [*args, "--out", str(ref)]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--out", str(pack)]).exit_code == 0
    cell = sorted((pack / "base" / "cells").iterdir())[0]
    cell.unlink()                                          # as if stopped mid-way: one cell and a scenario lost
    shutil.rmtree(pack / "cut")
    refused = CliRunner().invoke(main, [*args, "--resume"])
    assert refused.exit_code == 2 and "--out PACK" in refused.output and "Traceback" not in refused.output
    done = CliRunner().invoke(main, [*args, "--out", str(pack), "--resume"])
    assert done.exit_code == 0, done.output
    assert "Finishing the 2 scenarios" in done.output and cell.exists()
    for name in ("base", "cut"):
        pd.testing.assert_frame_equal(pd.read_parquet(ref / name / "results.parquet"),
                                      pd.read_parquet(pack / name / "results.parquet"))


def test_validate_lists_every_problem(tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baseline\npcn: {practices: 0}\nrun: {seed: -1}\nfunding: {arrs_per_patent: 3}\n")
    result = CliRunner().invoke(main, ["validate", str(bad), "--set", "ics.pcns=0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "4 problems:" in result.output
    for text in ("pcn.practices = 0", "run.seed = -1", "did you mean 'funding.arrs_per_patient'",
                 "ics.pcns = 0: expected a number at least 1. (in --set ics.pcns=0)"):
        assert text in result.output, text


# --------------------------------------------------------------------------- a real browser
ARTEFACTS = Path(__file__).resolve().parent.parent / "outputs" / "test-artefacts"
_MEASURE = """<script>
var wide = Array.from(document.querySelectorAll('.wide')).filter(function (e) {
  return e.scrollWidth > e.clientWidth + 1; }).length;
document.body.setAttribute('data-measured', document.documentElement.scrollWidth + ' ' + wide + ' ' +
  document.images.length + ' ' + Array.from(document.images).filter(function (i) {
    return i.complete && i.naturalWidth > 0; }).length);
</script></body>"""


def _render(chromium: str, page: Path, tmp_path: Path, name: str) -> tuple[int, int, int, int]:
    """Open `page` at 1280 px in headless Chromium: keep a screenshot (tmp_path and
    outputs/test-artefacts/) and return (page width, overflowing tables, images, images drawn)."""
    import shutil
    import subprocess

    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1800"]
    shot = tmp_path / f"{name}.png"
    subprocess.run(common + [f"--screenshot={shot}", page.resolve().as_uri()], check=True,
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTEFACTS / shot.name)
    probe = page.with_name(f"probe-{page.name}")              # a copy with a measuring script
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _MEASURE), encoding="utf-8")
    dom = subprocess.run(common + ["--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri()],
                         check=True, capture_output=True, timeout=120, text=True).stdout
    probe.unlink()
    import re

    found = re.search(r'data-measured="(\d+) (\d+) (\d+) (\d+)"', dom)
    assert found, dom[:500]
    return tuple(int(x) for x in found.groups())


def test_report_and_compare_pages_fit_1280px_in_chromium(tmp_path, chromium):
    from click.testing import CliRunner

    from pcnsim.cli import main

    grid = grid_run(tmp_path / "grid", second=12)
    report = write_report(grid)
    width, overflowing, images, drawn = _render(chromium, report, tmp_path, "report-grid")
    assert width <= 1280 and overflowing == 0 and images >= 3 and drawn == images
    a = make_run_folder(tmp_path / "a", replications=3, weekly=False)
    b = make_run_folder(tmp_path / "b", replications=3, weekly=False, shift=0.02, noise_seed=11)
    out = tmp_path / "cmp"
    assert CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(out)]).exit_code == 0
    width, overflowing, images, drawn = _render(chromium, out / "compare.html", tmp_path, "compare")
    assert width <= 1280 and overflowing == 0 and images == 1 and drawn == 1


def test_a_tiny_sweep_writes_paired_differences_and_answers_with_a_bound_or_a_direction(tmp_path):
    """End to end (issue 25): a two-point grid of the real model writes differences.csv (every
    point against the reference, paired by replication), summary.csv's spread columns, and a
    report whose answer gives each focus metric a direction and size or a bound."""
    from click.testing import CliRunner

    from pcnsim.cli import main

    src = tmp_path / "tiny.yaml"
    src.write_text("extends: baseline\nname: tiny\nrun: {horizon_weeks: 30, warmup_weeks: 4, replications: 3}\n"
                   "report:\n  question: 'Does protected time help?'\n"
                   "  focus: [lost_appointments_per_year, cd_strain_mean]\n"
                   "sweep: {grid: {clinical_director.extra_protected_sessions: [0, 4]}}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(src), "--out", str(out), "--quiet", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    diffs = pd.read_csv(out / "differences.csv")
    assert list(diffs.columns) == ["point", "clinical_director.extra_protected_sessions", "metric", "reference",
                                   "difference", "ci_low", "ci_high", "n", "method"]
    assert set(diffs["point"]) == {1} and set(diffs["reference"]) == {0} and (diffs["n"] == 3).all()
    assert set(diffs["method"]) == {"paired t (common random numbers)"}
    results = pd.read_parquet(out / "results.parquet")
    lost = results[results["metric"] == "lost_appointments_per_year"].sort_values("replication")
    row = diffs.set_index("metric").loc["lost_appointments_per_year"]
    assert row["difference"] == pytest.approx(lost[lost["point"] == 1]["value"].mean()
                                              - lost[lost["point"] == 0]["value"].mean())
    summary = pd.read_csv(out / "summary.csv")
    assert {"p10", "p50", "p90"} <= set(summary.columns)
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="question"'):page.index("</section>", page.index('id="question"'))]
    assert "Against extra_protected_sessions 0, replication by replication (3 replications" in section
    for label in ("Appointments lost to displaced CD sessions", "CD strain (mean weekly)"):
        line = next(li for li in section.split("<li>") if li.startswith(label))
        assert re.search(r"(higher|lower) \(|any effect is smaller than ±|the same in every replication", line), line
    assert "within the noise" not in page
    assert "Spread between CDs of leadership tasks late or never done" in section
