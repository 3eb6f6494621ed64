"""The report: figures for single runs and sweeps, and one self-contained offline page."""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_runs import make_run_folder  # noqa: E402

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
    assert [p.name for p in paths] == ["retention.png"]
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
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(single, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless chromium installed: apt-get install chromium")
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
