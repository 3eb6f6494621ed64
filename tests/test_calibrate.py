"""`pcnsim calibrate` on the model: bad input refused (exit 2), the files written, the same fit for
any --jobs, and the round trip: a PCN simulated with a known demand is calibrated back to it."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pcnsim.cli import main

pytestmark = pytest.mark.integration

TARGETS = """\
calibration:
  source: "synthetic: a test"
  targets:
    appointments_per_year: 130000
    gp_appointment_share: 0.5
    booked_same_day_share: 0.75
"""
SHORT = ["--horizon-weeks", "30", "--warmup-weeks", "4", "--jobs", "1", "--quiet"]


def scenario_file(folder: Path, body: str = TARGETS, name: str = "mypcn.yaml", extra: str = "") -> Path:
    path = folder / name
    path.write_text("# my PCN\nextends: baseline\npcn:\n  practices: 3   # three practices\n" + extra + body,
                    encoding="utf-8")
    return path


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("body, words", [
    (TARGETS.replace("gp_appointment_share", "gp_appointments_share"), "did you mean 'gp_appointment_share'"),
    (TARGETS + "  unknowns:\n    demand.no_such_key: [1, 2]\n", "demand has no 'no_such_key'"),
    (TARGETS + "  unknowns:\n    demand.tolerance_days: [80, 5]\n", "low < high"),
    (TARGETS + "  unknowns:\n    demand.tolerance_days: [5, 2000]\n", "calibration.unknowns['demand.tolerance_days']"),
    ("", "has no calibration: section"),
])
def test_bad_input_is_one_paragraph_and_exit_2(tmp_path, body, words):
    path = scenario_file(tmp_path, body)
    result = cli("calibrate", str(path), *SHORT)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert not list(tmp_path.glob("*-calibrated.*"))


def test_bad_options_are_refused_before_anything_runs(tmp_path):
    path = scenario_file(tmp_path)
    result = cli("calibrate", str(path), "--replications", "1", *SHORT)
    assert result.exit_code == 2 and "--replications 1" in result.output and "at least 2" in result.output
    result = cli("calibrate", str(path), "--out", str(tmp_path / "x.txt"), *SHORT)
    assert result.exit_code == 2 and "ending .yaml" in result.output


def test_calibrate_writes_the_scenario_the_page_and_the_points(tmp_path):
    path = scenario_file(tmp_path)
    args = ["calibrate", str(path), "--waves", "2", "--points", "6", "--replications", "2", "--confirm", "3",
            *SHORT]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    out = tmp_path / "mypcn-calibrated.yaml"
    assert "Calibrated scenario:" in result.output and str(out) in result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Calibrated by `pcnsim calibrate`")
    assert "# my PCN" in text and "# three practices" in text          # the planner's own file, kept
    from pcnsim.scenario import load_scenario

    calibrated, original = load_scenario(out), load_scenario(path)
    assert calibrated.run == original.run                                # its own run settings, not the fit's
    assert calibrated.calibration == original.calibration               # the section carried
    chosen = calibrated.demand.appointments_per_patient_year
    assert 3.0 <= chosen <= 10.0 and f"appointments_per_patient_year: {chosen:g}" in text
    assert calibrated.model_copy(update={"demand": original.demand, "name": original.name}) == original
    points = pd.read_csv(tmp_path / "mypcn-calibrated.csv")
    assert {"stage", "wave", "point", "demand.appointments_per_patient_year", "demand.tolerance_days", "metric",
            "mean", "sd", "implausibility"} <= set(points.columns)
    assert len(points[points.stage == "design"]) == 2 * 6 * 3       # waves x points x targets
    assert sorted(points[points.stage == "design"].wave.unique()) == [1, 2]
    chosen_rows = points[points.stage == "chosen"]
    assert chosen_rows["demand.appointments_per_patient_year"].iloc[0] == pytest.approx(chosen, rel=1e-3)
    page = (tmp_path / "mypcn-calibrated.html").read_text(encoding="utf-8")
    for words in ("gp_appointment_share", "95% interval", "Wave by wave", "demand.tolerance_days",
                  "synthetic: a test"):
        assert words in page
    assert "http" not in page.split("<body>")[1]
    again = cli(*args)                                                  # an earlier calibration is kept
    assert again.exit_code == 2 and "--force" in again.output
    assert cli(*args, "--force").exit_code == 0


def test_a_target_the_model_cannot_meet_is_a_result_not_an_error(tmp_path):
    body = TARGETS.replace("booked_same_day_share: 0.75", "booked_same_day_share: 0.02")
    path = scenario_file(tmp_path, body)
    result = cli("calibrate", str(path), "--waves", "1", "--points", "5", "--replications", "2", "--confirm", "2",
                 *SHORT)
    assert result.exit_code == 0, result.output
    assert "NO FIT. No parameter set fits" in result.output and "booked_same_day_share" in result.output
    assert "No parameter set fits" in (tmp_path / "mypcn-calibrated.html").read_text(encoding="utf-8")


def test_the_fit_is_the_same_whatever_the_jobs(tmp_path):
    from pcnsim.experiment.calibrate import calibrate

    path = scenario_file(tmp_path)
    settings = dict(waves=1, points=4, replications=2, confirm=2, horizon_weeks=20, warmup_weeks=4)
    one = calibrate(path, jobs=1, **settings).fit
    two = calibrate(path, jobs=2, **settings).fit
    assert one.chosen == two.chosen
    assert (one.waves[0].means == two.waves[0].means).all()


def test_round_trip_recovers_a_known_demand_within_10_percent():
    """A 3-practice PCN simulated with 5.0 requests a patient a year (not the default 6.3); its
    appointments, GP share and booking leads are the targets; demand and tolerance are fitted."""
    from pcnsim.experiment.calibrate import round_trip
    from pcnsim.scenario import load_scenario

    scenario = load_scenario("baseline", {"pcn.practices": 3})
    known = {"demand.appointments_per_patient_year": 5.0}
    rt = round_trip(scenario, known, ["appointments_per_year", "gp_appointment_share", "booked_same_day_share",
                                      "booked_over_14_days_share"],
                    {"demand.appointments_per_patient_year": (3.0, 10.0), "demand.tolerance_days": (5.0, 80.0)},
                    replications=4, waves=2, points=10, confirm=4, jobs=1)
    assert rt.calibration.fit.fits, rt.calibration.fit.verdict()
    assert rt.relative_errors()["demand.appointments_per_patient_year"] < 0.10, rt.recovered


def test_the_section_changes_no_number_of_a_run_and_is_carried(tmp_path, small_scenario):
    from pcnsim import run
    from pcnsim.config import CalibrationConfig
    from pcnsim.model import simulate

    section = CalibrationConfig.model_validate({"targets": {"appointments_per_year": 1000.0}})
    with_it = small_scenario.model_copy(update={"calibration": section})
    assert simulate(with_it, 0).metrics == simulate(small_scenario, 0).metrics
    done = run(with_it, replications=1, jobs=1, out=tmp_path / "r", quiet=True)
    assert "appointments_per_year: 1000.0" in (done.folder / "scenario.yaml").read_text(encoding="utf-8")
    assert done.manifest["scenario"]["calibration"]["targets"] == {"appointments_per_year": 1000.0}
    result = cli("params", str(scenario_file(tmp_path)))
    assert result.exit_code == 0 and not any(line.startswith("calibration") for line in result.output.splitlines())


def test_published_layout_round_trip_build_then_calibrate_recovers_demand(tmp_path):
    """The planner's path end to end on files in the published layouts: the synthetic PCN U00001 is
    built from its workforce file, simulated with a known demand (4.5 requests a patient, not the
    6.3 default), its outputs written as GPAD's practice-level CSV (`write_gpad_like`, each practice
    its list's share of the counts), then `pcnsim build` reads them back as targets and `pcnsim
    calibrate` fits demand and tolerance: the known demand comes back within 10%."""
    import shutil

    import yaml

    from pcnsim.data import write_gpad_like
    from pcnsim.model import simulate
    from pcnsim.scenario import load_scenario

    published = Path(__file__).parent / "data" / "published"
    data = tmp_path / "data"
    data.mkdir()
    for f in published.iterdir():
        if f.name.startswith("1 General Practice"):
            shutil.copy(f, data / f.name)
    first = cli("build", "U00001", "--data", str(data), "--out", str(tmp_path / "shape.yaml"))
    assert first.exit_code == 2 and "Appointments in General Practice" in first.output   # none yet: said, none written
    assert not (tmp_path / "shape.yaml").exists()
    shutil.copy(published / "Practice_Level_Crosstab_Apr_24.csv", data / "real-shape.csv")
    assert cli("build", "U00001", "--data", str(data), "--out", str(tmp_path / "shape.yaml")).exit_code == 0
    (data / "real-shape.csv").unlink()
    shape = load_scenario(str(tmp_path / "shape.yaml"))
    known = 4.5
    truth = load_scenario(str(tmp_path / "shape.yaml"), {"demand.appointments_per_patient_year": known,
                                                         "run.horizon_weeks": 60, "run.warmup_weeks": 8})
    names = ["appointments_per_year", "dna_per_year", "gp_appointment_share",
             *(f"booked_share.{b}" for b in ("same_day", "1_day", "2_7_days", "8_14_days", "15_21_days",
                                             "22_28_days", "over_28_days"))]
    runs = [simulate(truth, 50 + r).metrics for r in range(4)]
    mean = {n: sum(m[n] for m in runs) / len(runs) for n in names}
    sizes = shape.pcn.list_sizes
    codes = ["Z00001", "Z00002", "Z00003"]
    per_practice = {c: {n: (v * size / sum(sizes) if n.endswith("_per_year") else v) for n, v in mean.items()}
                    for c, size in zip(codes, sizes)}
    write_gpad_like(per_practice, data / "Practice_Level_Crosstab_Jun_24.csv", "2024-06",
                    pcn_code="U00001", pcn_name="SYNTHETIC NORTH PCN")
    built = tmp_path / "mine.yaml"
    assert cli("build", "U00001", "--data", str(data), "--out", str(built)).exit_code == 0
    section = yaml.safe_load(built.read_text(encoding="utf-8"))["calibration"]
    assert section["targets"]["appointments_per_year"] == pytest.approx(mean["appointments_per_year"], rel=0.01)
    assert section["targets"]["dna_per_year"] == pytest.approx(mean["dna_per_year"], rel=0.02)
    # fit the two unknowns the targets tell apart best (the defaults add the planned share, the DNA scale
    # and the on-the-day share)
    text = built.read_text(encoding="utf-8") + ("  unknowns:\n    demand.appointments_per_patient_year: [3.0, 10.0]\n"
                                                "    demand.tolerance_days: [5.0, 80.0]\n")
    built.write_text(text, encoding="utf-8")
    result = cli("calibrate", str(built), "--waves", "2", "--points", "10", "--replications", "2", "--confirm", "4",
                 "--horizon-weeks", "60", "--warmup-weeks", "8", "--jobs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    fitted = load_scenario(str(tmp_path / "mine-calibrated.yaml"))
    assert fitted.demand.appointments_per_patient_year == pytest.approx(known, rel=0.10), result.output


def test_the_synthetic_pcn_u00001_calibrates_to_a_fit(tmp_path):
    """The README's planner path on the synthetic published files: `pcnsim build U00001`, then
    `pcnsim calibrate` with the default unknowns (five, the on-the-day share among them), at
    reduced settings: a fit, the appointments within 5% of GPAD's and every lead-time bin within
    4 points; the page shows what the emulators screened."""
    published = Path(__file__).parent / "data" / "published"
    built = tmp_path / "mine.yaml"
    assert cli("build", "U00001", "--data", str(published), "--out", str(built)).exit_code == 0
    result = cli("calibrate", str(built), "--waves", "3", "--points", "20", "--replications", "2", "--confirm", "4",
                 "--horizon-weeks", "52", "--warmup-weeks", "13", "--jobs", "1", "--quiet")
    assert result.exit_code == 0 and result.output.startswith("Fits."), result.output
    assert "demand.on_the_day_share" in result.output
    points = pd.read_csv(tmp_path / "mine-calibrated.csv")
    chosen = points[points.stage == "chosen"].set_index("metric")
    volume = chosen.loc["appointments_per_year"]
    assert abs(volume["mean"] / volume["target"] - 1) < 0.05, result.output
    bins = chosen[chosen.index.str.startswith("booked_share.")]
    assert len(bins) == 7 and ((bins["mean"] - bins["target"]).abs() < 0.04).all(), bins[["target", "mean"]]
    page = (tmp_path / "mine-calibrated.html").read_text(encoding="utf-8")
    assert "emulator-screened candidates" in page and "4,096" in page
