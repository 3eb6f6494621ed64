"""The report: figures for single runs and sweeps, and one self-contained offline page."""
from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fake_runs import make_run_folder  # noqa: E402

from pcnsim.cli import main  # noqa: E402
from pcnsim.errors import RunFolderError  # noqa: E402
from pcnsim.report import (  # noqa: E402
    draw_figures, format_estimate, format_hours, format_money, format_number, format_share,
    load_run, write_report,
)

pytestmark = pytest.mark.integration

FEW_METRICS = ["appointments_per_year", "demand_met_share", "cd_overtime_hours_per_week",
               "cd_resignations_per_year", "arrs_leavers_per_year", "wait_days_mean"]


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    folder = make_run_folder(tmp_path_factory.mktemp("runs") / "single", name="baseline-test",
                             description="Workshop baseline: see https://example.org/pcn for the data.")
    write_report(folder)
    return folder


def _page(folder: Path) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- formatting
@pytest.mark.unit
def test_plain_language_formatting():
    assert format_estimate(251_043, 249_812, 252_301) == "251,000 (95% CI 249,800 to 252,300)"
    assert format_estimate(0.9451, 0.94, 0.95, "share") == "94.5% (95% CI 94.0% to 95.0%)"
    assert format_estimate(5.123, 4.56, 5.7, "hours") == "5.1 (95% CI 4.6 to 5.7)"
    assert format_estimate(0.234, float("nan"), float("nan")) == "0.23"
    assert format_number(1_234_567) == "1,234,567"
    assert format_number(0.234) == "0.23"
    assert format_share(0.9451) == "94.5%"
    assert format_hours(12.345) == "12.3"
    assert format_money(1_234_567.8) == "£1,234,568"
    assert format_money(8.123) == "£8.12"


# --------------------------------------------------------------------------- single run
def test_single_run_report_is_self_contained(single):
    page = _page(single)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()
    pngs = sorted((single / "figures").glob("*.png"))
    assert {p.name for p in pngs} >= {"delivery.png", "cd_hours.png", "arrs_staff.png", "retention.png"}
    for png in pngs:
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        assert f"data:image/png;base64,{data}" in page, png.name
    assert re.search(r"<img[^>]+src=\"(?!data:)", page) is None  # nothing loaded from files either


def test_single_run_report_contents(single):
    page = _page(single)
    assert "baseline-test" in page
    assert "Workshop baseline: see example.org/pcn for the data." in page
    assert 'id="assumptions"' in page and "<span class=flag>assumed</span>" in page
    assert "run.warmup_weeks" in page  # an assumed parameter
    # the key metrics in plain sentences, with 95% CIs
    assert re.search(r"The PCN delivered [\d,]+ \(95% CI [\d,]+ to [\d,]+\) appointments a year, "
                     r"[\d.]+% of requests\.", page)
    assert "unpaid overtime" in page
    # provenance
    for text in ("0123abc", "20190701", "Linux-6.1-x86_64", "pcnsim run baseline-test.yaml", "90.2 s"):
        assert text in page, text
    # full metrics table
    assert "<code>cost_per_appointment</code>" in page


def test_png_is_slide_shaped(single):
    header = (single / "figures" / "delivery.png").read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width >= 1200 and 1.6 < width / height < 1.9


def test_report_escapes_text(tmp_path):
    folder = make_run_folder(tmp_path / "esc", weeks=30, warmup=4, replications=3, weekly=False,
                             description="<script>alert(1)</script> & more", metrics=FEW_METRICS)
    page = _page(Path(write_report(folder)).parent)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page


def test_missing_weekly_and_unknown_scenario_keys(tmp_path):
    folder = make_run_folder(tmp_path / "noweekly", weekly=False, replications=3, metrics=FEW_METRICS,
                             manifest_extra={"swept_keys": []})
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["scenario"]["not_a_key"] = 1  # cannot be rebuilt: defaults listed, with a note
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "scenario.yaml").unlink()
    paths = draw_figures(folder)
    assert [p.name for p in paths] == ["focus.png", "retention.png"]  # both from summary.csv
    page = _page(write_report(folder).parent)
    assert "No weekly series" in page
    assert "the <strong>defaults</strong> are listed" in page
    assert "<span class=flag>assumed</span>" in page


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunFolderError, match="no manifest.json"):
        write_report(tmp_path)
    with pytest.raises(RunFolderError, match="not a folder"):
        load_run(tmp_path / "missing")
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(RunFolderError, match="no summary.csv"):
        load_run(tmp_path)


# --------------------------------------------------------------------------- sweeps
@pytest.mark.parametrize("sweep, expected", [
    ("grid1", "line"), ("grid2", "heatmap"), ("sobol", "scatter"), ("categorical", "line")])
def test_sweep_figures(tmp_path, sweep, expected):
    weekly = sweep == "grid1"  # the week-by-week figures of point 0: drawn once is enough here
    folder = make_run_folder(tmp_path / sweep, sweep=sweep, name=f"sweep-{sweep}", replications=3,
                             weeks=30, warmup=4, metrics=FEW_METRICS[:3], weekly=weekly)
    run = load_run(folder)
    assert run.sweep_kind == ("grid" if sweep != "sobol" else "sobol")
    page = _page(write_report(folder).parent)
    names = {p.name for p in (folder / "figures").glob("*.png")}
    if weekly:
        assert {"delivery.png", "cd_hours.png", "arrs_staff.png"} <= names
    assert "sweep_00_appointments_per_year.png" in names
    assert len([n for n in names if n.startswith("sweep_")]) == 3
    if sweep == "sobol":
        assert "sensitivity_00_appointments_per_year.png" in names
        assert len([n for n in names if n.startswith("sensitivity_")]) == 3
    for png in (folder / "figures").glob("*.png"):
        assert base64.b64encode(png.read_bytes()).decode("ascii") in page
    assert "Key metrics by point" in page
    assert "point 0" in page


# --------------------------------------------------------------------------- command line
def test_cli_report(single):
    result = CliRunner().invoke(main, ["report", str(single)])
    assert result.exit_code == 0, result.output
    assert f"Report: {single / 'report.html'}" in result.output


def test_cli_report_bad_folder(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a pcnsim run folder" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- a real browser
def test_report_renders_in_headless_chromium(single, tmp_path, chromium):
    browser = chromium
    shot = tmp_path / "shot.png"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              f"--user-data-dir={tmp_path / 'profile'}"]
    url = (single / "report.html").resolve().as_uri()
    subprocess.run(common + [f"--screenshot={shot}", "--window-size=1280,2000", url],
                   check=True, capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    dom = subprocess.run(common + ["--dump-dom", url], check=True, capture_output=True, timeout=120,
                         text=True).stdout
    assert "baseline-test" in dom


# --------------------------------------------------------------------------- national runs
TINY_NATIONAL = """\
name: tiny-national
description: Three small ICSs, one sweep point each, for the national section of the report.
extends: baseline
run:
  replications: 2
  horizon_weeks: 8
  warmup_weeks: 2
sweep:
  points:
    - {ics.name: "NHS Alpha ICB", ics.pcns: 1}
    - {ics.name: "NHS Beta ICB", ics.pcns: 2}
    - {ics.name: "NHS Gamma ICB", ics.pcns: 3}
"""


@pytest.fixture(scope="module")
def national_run(tmp_path_factory) -> Path:
    """A real 3-ICS run (1 + 2 + 3 PCNs, 8 weeks, 2 replications) and its report."""
    import pcnsim

    base = tmp_path_factory.mktemp("national")
    (base / "tiny.yaml").write_text(TINY_NATIONAL, encoding="utf-8")
    result = pcnsim.run(pcnsim.load_scenario(str(base / "tiny.yaml")), jobs=1, out=base / "run", quiet=True)
    write_report(result.folder)
    return Path(result.folder)


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start:page.index("</section>", start)]


def test_national_csv_matches_national_totals(national_run):
    import pandas as pd

    from pcnsim.report.national import COLUMNS, national_totals

    path = national_run / "national.csv"
    assert path.exists()
    got = pd.read_csv(path)
    assert list(got.columns) == COLUMNS
    results = pd.read_parquet(national_run / "results.parquet")
    points = [{"ics.name": n, "ics.pcns": k} for n, k in (("NHS Alpha ICB", 1), ("NHS Beta ICB", 2),
                                                          ("NHS Gamma ICB", 3))]
    pd.testing.assert_frame_equal(got, national_totals(results, points), check_exact=False, rtol=1e-12)
    # a national count is the per-PCN mean of each ICS x its PCNs, summed
    summary = pd.read_csv(national_run / "summary.csv")
    appts = summary[summary.metric == "appointments_per_year"]
    want = float((appts["mean"] * appts["ics.pcns"]).sum())
    row = got.set_index("metric").loc["appointments_per_year"]
    assert row["value"] == pytest.approx(want, rel=1e-9)
    assert row["aggregate"] == "total" and row["pcns"] == 6 and row["n"] == 2
    assert row["ci_low"] < row["value"] < row["ci_high"]
    assert got.set_index("metric").loc["pcns_simulated", "value"] == 6
    assert not list(national_run.glob(".national-*"))          # no temporary file left behind


def test_national_section_in_report(national_run):
    import pandas as pd

    page = _page(national_run)
    nat = _section(page, "national")
    assert "<h2>National totals</h2>" in nat
    assert "6 PCNs in all" in nat and "3 ICSs" in nat
    row = pd.read_csv(national_run / "national.csv").set_index("metric").loc["appointments_per_year"]
    shown = format_estimate(row["value"], row["ci_low"], row["ci_high"], "count")
    assert f"Nationally, PCNs delivered {shown} appointments a year" in nat
    assert "whole national replications" in nat
    assert "<code>appointments_per_year</code>" in nat and "ratio of national totals" in nat
    ics = _section(page, "ics")
    for name in ("NHS Alpha ICB", "NHS Beta ICB", "NHS Gamma ICB"):
        assert f"<td>{name}</td>" in ics
    assert "All 3 ICSs" in ics and "CD protected time" in ics
    assert 'href="#national"' in page
    assert "Key metrics by point" not in page               # the per-ICS table replaces it
    png = national_run / "figures" / "national_ics.png"
    assert png.exists()
    assert base64.b64encode(png.read_bytes()).decode("ascii") in page
    # ics.name labels the points: the sweep figures plot against ics.pcns only, and say so
    assert "ics.name only names the points" in page


def test_national_one_replication_says_there_is_no_interval(tmp_path):
    import pandas as pd

    folder = make_run_folder(tmp_path / "nat1", name="region", sweep="national", replications=1,
                             weeks=30, warmup=4, weekly=False, metrics=FEW_METRICS + ["requests_per_year"])
    page = _page(write_report(folder).parent)
    nat = _section(page, "national")
    assert "One replication: there are no confidence intervals" in nat
    assert "none (1 replication)" in nat and "95% CI" not in nat.split("<table>")[0]
    got = pd.read_csv(folder / "national.csv").set_index("metric")
    assert got["ci_low"].isna().all() and (got["n"] == 1).all() and (got["pcns"] == 44).all()
    summary = pd.read_csv(folder / "summary.csv")
    appts = summary[summary.metric == "appointments_per_year"]
    assert got.loc["appointments_per_year", "value"] == pytest.approx(
        float((appts["mean"] * appts["ics.pcns"]).sum()))
    for name in ("NHS Northfield ICB", "NHS Eastmarsh ICB", "NHS Southdown ICB", "NHS Westvale ICB"):
        assert f"<td>{name}</td>" in _section(page, "ics")


def test_national_from_summary_alone_is_conservative(tmp_path):
    folder = make_run_folder(tmp_path / "nosum", name="region", sweep="national", replications=3,
                             weeks=30, warmup=4, weekly=False, metrics=FEW_METRICS)
    (folder / "results.parquet").unlink()
    (folder / "results.csv").unlink()
    page = _page(write_report(folder).parent)
    assert "conservative 95% confidence intervals" in _section(page, "national")
    assert (folder / "national.csv").exists()


def _edit_sweep(folder: Path, sweep: dict, kind: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["scenario"]["sweep"] = {"grid": None, "points": None, "lhs": None, "sobol": None, **sweep}
    manifest["sweep_kind"] = kind
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_runs_that_are_not_national_get_no_national_section(tmp_path, single):
    from pcnsim.report import write_national

    # a single run, a one-key grid
    assert 'id="national"' not in _page(single) and not (single / "national.csv").exists()
    grid = make_run_folder(tmp_path / "grid", sweep="grid1", replications=2, weeks=30, warmup=4,
                           weekly=False, metrics=FEW_METRICS)
    assert 'id="national"' not in _page(write_report(grid).parent)
    assert write_national(grid) is None and not (grid / "national.csv").exists()
    # the same ICS twice is an experiment on it, not a region
    twice = make_run_folder(tmp_path / "twice", sweep="national", replications=2, weeks=30, warmup=4,
                            weekly=False, metrics=FEW_METRICS)
    _edit_sweep(twice, {"points": [{"ics.name": "NHS Same ICB", "ics.pcns": k} for k in (12, 7, 20, 5)]},
                "points")
    assert 'id="national"' not in _page(write_report(twice).parent)
    assert not (twice / "national.csv").exists()
    # a grid over ics.pcns is an experiment on ICS size: nothing to add up
    sizes = make_run_folder(tmp_path / "sizes", sweep="national", replications=2, weeks=30, warmup=4,
                            weekly=False, metrics=FEW_METRICS)
    _edit_sweep(sizes, {"grid": {"ics.pcns": [12, 7, 20, 5]}}, "grid")
    assert 'id="national"' not in _page(write_report(sizes).parent)


def test_national_with_a_missing_ics_says_why(tmp_path):
    import pandas as pd

    folder = make_run_folder(tmp_path / "gap", sweep="national", replications=2, weeks=30, warmup=4,
                             weekly=False, metrics=FEW_METRICS)
    for name in ("summary.csv", "results.csv"):
        d = pd.read_csv(folder / name)
        d[d["point"] != 3].to_csv(folder / name, index=False)
    (folder / "results.parquet").unlink()
    page = _page(write_report(folder).parent)
    nat = _section(page, "national")
    assert "could not be computed" in nat and "every ICS" in nat
    assert not (folder / "national.csv").exists()


def test_a_sweep_over_many_names_is_drawn_a_row_each(tmp_path):
    import pandas as pd

    folder = make_run_folder(tmp_path / "names", sweep="england", replications=2, weeks=30, warmup=4,
                             weekly=False, metrics=["demand_met_share"])
    for name in ("summary.csv", "results.csv"):
        pd.read_csv(folder / name).drop(columns=["ics.pcns"]).to_csv(folder / name, index=False)
    (folder / "results.parquet").unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["swept_keys"] = ["ics.name"]
    manifest["scenario"]["sweep"]["points"] = [{"ics.name": p["ics.name"]}
                                               for p in manifest["scenario"]["sweep"]["points"]]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "scenario.yaml").unlink()
    paths = draw_figures(folder)
    assert [p.name for p in paths] == ["sweep_00_demand_met_share.png"]   # not national: no ics.pcns
    header = paths[0].read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert height > width        # 42 rows of names, one each, read down the page


def test_intervals_shown_to_people_stop_at_the_bounds_a_metric_cannot_cross():
    # two replications: a raw t-interval of a share runs past 100% and one of a count below 0
    assert format_estimate(0.607, 0.153, 1.061, "share") == "60.7% (95% CI 15.3% to 100.0%)"
    assert format_estimate(0.5, -0.2, 1.2, "hours") == "0.5 (95% CI 0.0 to 1.2)"
    # a share above 1 (demand met while a backlog is drawn down) keeps its interval
    assert format_estimate(1.02, 0.98, 1.06, "share") == "102.0% (95% CI 98.0% to 106.0%)"


# --------------------------------------------------------------------------- work done once
@pytest.mark.unit
def test_the_written_out_theme_is_seaborns():
    """style.py spells out seaborn's whitegrid style, talk context and colour-blind palette so
    that drawing a report need not import seaborn; they must stay what seaborn gives."""
    import seaborn as sns

    from pcnsim.report import style

    whitegrid = dict(sns.axes_style("whitegrid"))
    assert whitegrid.pop("image.cmap") == "rocket"   # left out on purpose: see style.WHITEGRID
    assert style.WHITEGRID == whitegrid
    assert style.TALK == dict(sns.plotting_context("talk"))
    assert list(style.COLORBLIND) == list(sns.color_palette("colorblind"))
    assert style.palette(13) == list(sns.color_palette("colorblind", 13))


def test_a_report_without_a_heatmap_does_not_import_seaborn(tmp_path):
    """seaborn costs about two seconds to import; only a sweep's figures (the grid heatmap, the
    panels by swept key) need it."""
    import os
    import sys

    folder = make_run_folder(tmp_path / "plain", replications=3, weeks=30, warmup=4)
    code = ("import json, sys; from pcnsim.report import write_report; write_report(sys.argv[1]); "
            "print(json.dumps('seaborn' in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(root)}, cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "false"
    assert (folder / "figures" / "delivery.png").exists()


def test_weekly_bands_are_summarised_once_and_equal_each_metric_on_its_own(fake_run):
    import pandas.testing as pd_testing

    from pcnsim.analysis import summarise
    from pcnsim.report.figures import weekly as weekly_figures

    weekly = load_run(fake_run).weekly(0)
    metrics = list(dict.fromkeys(weekly["metric"]))
    assert len(metrics) > 3
    calls = []
    real = weekly_figures.summarise
    weekly_figures.summarise = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        bands = {m: weekly_figures._weekly_band(weekly, m) for m in metrics}
        again = weekly_figures._weekly_band(weekly, metrics[0])
    finally:
        weekly_figures.summarise = real
    assert len(calls) == 1                                  # one summary for every band of the frame
    for m, band in bands.items():                           # the same numbers as one metric at a time
        d = weekly[weekly["metric"] == m]
        alone = summarise(d[["week", "metric", "value"]], by=["week"]).set_index("week").sort_index()
        alone = alone.rename(columns={"ci_low": "low", "ci_high": "high"})[["mean", "low", "high"]]
        pd_testing.assert_frame_equal(band, alone)
    bands[metrics[0]]["mean"] = -1.0                        # a figure that edits its band edits a copy
    assert (again["mean"] != -1.0).all()
    assert (weekly_figures._weekly_band(weekly, metrics[0])["mean"] != -1.0).all()
    assert weekly_figures._weekly_band(weekly, "no_such_series") is None


def test_write_report_reuses_the_run_and_national_figures_it_is_given(national_run, tmp_path, monkeypatch):
    import shutil

    from pcnsim.report import national_of, page

    folder = tmp_path / "national"
    shutil.copytree(national_run, folder)
    run = load_run(folder)
    nat = national_of(run)
    assert nat is not None
    monkeypatch.setattr(page, "load_run", lambda *_: pytest.fail("the run was read again"))
    monkeypatch.setattr(page, "national_of", lambda *_: pytest.fail("the national figures were recomputed"))
    path = write_report(folder, run=run, national=nat)
    assert "National totals" in path.read_text(encoding="utf-8")
    assert (folder / "national.csv").exists()


# --------------------------------------------------------------------------- text from users is escaped
PAYLOAD = '<script>alert("pcnsim")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;pcnsim&#34;)&lt;/script&gt;"


def _escaped(page: str, times: int = 1) -> None:
    """No payload survives as markup; each place it was put shows it as text."""
    assert "<script" not in page.lower()
    assert page.count(ESCAPED) >= times, page.count(ESCAPED)


def test_script_payloads_are_text_on_the_report_compare_and_index_pages(tmp_path, monkeypatch):
    """A `<script>` in a scenario's description and question and in a --set value (the command in
    the provenance), through `pcnsim run FOLDER` and `pcnsim compare`: every page shows it as text."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "inject.yaml").write_text(
        f"extends: baseline\nname: inject\ndescription: '{PAYLOAD}'\n"
        "run: {horizon_weeks: 8, warmup_weeks: 2, replications: 2}\n"
        f"report: {{question: '{PAYLOAD}', focus: [appointments_per_year]}}\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(pack), "--out", str(out), "--quiet", "--jobs", "1", "--set", f"ics.name={PAYLOAD}"]
    monkeypatch.setattr("sys.argv", ["pcnsim", *argv])            # the command the manifest records
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    _escaped((out / "index.html").read_text(encoding="utf-8"), 2)          # question, description
    report = _page(out / "inject")
    _escaped(report, 3)                                            # question, description, command
    assert f"ics.name={ESCAPED}" in report
    cmp = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(out / "inject"), str(out / "inject"), "--out", str(cmp)])
    assert result.exit_code == 0, result.output
    _escaped((cmp / "compare.html").read_text(encoding="utf-8"))               # the question


def test_script_payloads_in_names_are_text(tmp_path):
    """Names the scenario schema refuses (`<`) can still reach a page: a run folder's manifest
    edited by hand, folder names (compare), a pack entry."""
    from pcnsim.report.compare import compare_runs, render_comparison
    from pcnsim.report.index import PackEntry, render_index

    folder = make_run_folder(tmp_path / "run", replications=3, weekly=False, metrics=FEW_METRICS)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["scenario"]["name"] = PAYLOAD
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _escaped(_page(write_report(folder).parent), 2)                          # title, heading
    page = render_comparison(compare_runs(folder, folder), PAYLOAD, PAYLOAD, label_a=PAYLOAD, label_b=PAYLOAD)
    _escaped(page, 6)
    entries = [PackEntry(PAYLOAD, PAYLOAD, "", PAYLOAD, folder, note=PAYLOAD)]
    _escaped(render_index(PAYLOAD, entries, tmp_path), 7)
