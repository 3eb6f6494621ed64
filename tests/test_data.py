"""Published data in (issue 27): the readers of NHS Digital's CSVs, their column variants, "ND",
missing columns; the GPAD targets and `write_gpad_like`; `pcnsim build` for a PCN and England,
end to end on the SYNTHETIC files of tests/data/published (tests/data/README.md)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from pcnsim.cli import main
from pcnsim.config import Scenario
from pcnsim.data import (DataFileError, build_pcn, find_files, gpad_targets, read_gpad, read_patients,
                         read_pcn_workforce, read_workforce, write_gpad_like)
from pcnsim.data.readers import LEAD_BINS, appt_status, hcp_type, lead_bin, parse_month
from pcnsim.errors import ScenarioError
from pcnsim.model.practices import practice_wte
from pcnsim.scenario import load_scenario

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parent / "data" / "published"
WORKFORCE = next(DATA.glob("1 General Practice*.csv"))
GPAD = sorted(DATA.glob("Practice_Level_Crosstab_*.csv"))


# --------------------------------------------------------------------------- readers
@pytest.mark.parametrize("text, want", [
    ("Same Day", "same_day"), ("1 Day", "1_day"), ("2 to 7 Days", "2_7_days"), ("8  to 14 Days", "8_14_days"),
    ("8 to 14 Days", "8_14_days"), ("15  to 21 Days", "15_21_days"), ("22  to 28 Days", "22_28_days"),
    ("More than 28 Days", "over_28_days"), ("Unknown / Data Quality", "unknown"), ("Next Tuesday", None)])
def test_lead_times_map_to_the_seven_bins(text, want):
    assert lead_bin(text) == want


def test_status_and_hcp_type_map_to_three_values():
    assert [appt_status(s) for s in ("Attended", "DNA", "Unknown", "Appt Status Not Provided")] == \
        ["attended", "dna", "unknown", "unknown"]
    assert [hcp_type(s) for s in ("GP", "Other Practice staff", "Unknown")] == ["gp", "other", "unknown"]


@pytest.mark.parametrize("text, month", [("01APR2024", "2024-04"), ("01JULY2024", "2024-07"),
                                         ("01-May-2024", "2024-05"), ("2024-06-01", "2024-06"),
                                         ("01/03/2024", "2024-03"), ("Apr-24", "2024-04"), ("soon", None)])
def test_months_are_read_from_the_dates_the_files_write(text, month):
    assert parse_month(text) == month


def test_workforce_reads_nd_as_missing_and_the_month_from_the_name():
    t = read_workforce(WORKFORCE)
    f = t.frame.set_index("practice")
    assert np.isnan(f.loc["Z00003", "dpc_fte"]) and np.isnan(f.loc["Z00021", "patients"])
    assert f.loc["Z00001", "gp_fte"] == 7.2 and f.loc["Z00011", "icb_name"] == "NHS Synthetic South ICB"
    assert t.months == ("2024-03",)


def test_workforce_column_variants_are_mapped(tmp_path):
    text = WORKFORCE.read_text().replace("TOTAL_NURSES_FTE", "TOTAL_NURSE_FTE").replace("SUB_ICB_CODE", "CCG_CODE")
    (tmp_path / "old.csv").write_text(text)
    f = read_workforce(tmp_path / "old.csv").frame.set_index("practice")
    assert f.loc["Z00001", "nurse_fte"] == 3.2 and f.loc["Z00001", "sub_icb"] == "01X"


def test_a_missing_column_names_the_file_the_column_and_the_variants(tmp_path):
    (tmp_path / "wf.csv").write_text(WORKFORCE.read_text().replace("TOTAL_DPC_FTE", "SOMETHING_ELSE"))
    with pytest.raises(DataFileError) as err:
        read_workforce(tmp_path / "wf.csv")
    message = str(err.value)
    assert "wf.csv" in message and "TOTAL_DPC_FTE" in message and "DIRECT_PATIENT_CARE_FTE" in message
    assert "\n" not in message and err.value.exit_code == 2


def test_text_where_a_number_belongs_is_refused(tmp_path):
    (tmp_path / "wf.csv").write_text(WORKFORCE.read_text().replace(",7.2,", ",six,"))
    with pytest.raises(DataFileError, match="TOTAL_GP_FTE holds 'six'"):
        read_workforce(tmp_path / "wf.csv")


def test_gpad_reads_two_months_in_two_layouts_and_drops_covid_vaccinations():
    t = read_gpad(GPAD)
    assert t.months == ("2024-04", "2024-05") and t.period == "2024-04/2024-05"
    assert set(t.frame["lead"]) == {*LEAD_BINS, "unknown"}               # double and single spaces alike
    assert set(t.frame["status"]) == {"attended", "dna", "unknown"}      # APPT_STATUS and APPOINTMENT_STATUS
    assert not t.frame["category"].str.contains("COVID").any()
    assert "Z00013" not in set(t.frame["practice"])


def test_gpad_refuses_an_unknown_lead_time(tmp_path):
    (tmp_path / "g.csv").write_text(GPAD[0].read_text().replace("More than 28 Days", "Eventually"))
    with pytest.raises(DataFileError, match="TIME_BETWEEN_BOOK_AND_APPT holds 'Eventually'"):
        read_gpad(tmp_path / "g.csv")


def test_patients_and_pcn_workforce_files():
    p = read_patients(next(DATA.glob("gp-reg-pat-prac-all*.csv")))
    assert dict(zip(p.frame["practice"], p.frame["patients"]))["Z00021"] == 3000 and p.months == ("2024-04",)
    w = read_pcn_workforce(next(DATA.glob("PCN Workforce*.csv")))
    mine = w.frame[w.frame["pcn"] == "U00001"].groupby("arrs_role")["fte"].sum()
    assert mine["clinical_pharmacist"] == pytest.approx(1.6) and mine["care_coordinator"] == pytest.approx(1.4)
    assert w.frame.loc[w.frame["role"] == "Clinical Director (GP)", "arrs_role"].isna().all()
    assert w.months == ("2024-03",)


# --------------------------------------------------------------------------- targets
def test_targets_annualise_attended_and_leave_unknowns_out_of_the_shares():
    t = read_gpad(GPAD)
    g = t.frame[t.frame["practice"] == "Z00001"]
    got = gpad_targets(g, 2)
    attended = g.loc[g["status"] == "attended", "count"].sum()
    assert got["appointments_per_year"] == pytest.approx(attended * 6, abs=0.1)
    assert sum(got[f"booked_share.{b}"] for b in LEAD_BINS) == pytest.approx(1, abs=1e-3)
    known = g.loc[g["hcp"] != "unknown", "count"].sum()
    assert got["gp_appointment_share"] == pytest.approx(g.loc[g["hcp"] == "gp", "count"].sum() / known, abs=1e-4)
    assert got["booked_share.same_day"] == pytest.approx(0.40 / 0.99, abs=0.01)   # the file's North shares


def test_write_gpad_like_round_trips_through_the_reader(tmp_path):
    figures = {"appointments_per_year": 120_000.0, "dna_per_year": 6_000.0, "gp_appointment_share": 0.44,
               **{f"booked_share.{b}": s for b, s in zip(LEAD_BINS, (0.44, 0.07, 0.2, 0.13, 0.07, 0.05, 0.04))}}
    path = write_gpad_like({"P00001": figures, "P00002": {**figures, "appointments_per_year": 60_000.0}},
                           tmp_path / "sim.csv", "2024-06")
    t = read_gpad(path)
    assert t.months == ("2024-06",)
    got = gpad_targets(t.frame, 1)
    assert got["appointments_per_year"] == pytest.approx(180_000, rel=1e-3)
    assert got["dna_per_year"] == pytest.approx(12_000, rel=1e-3)
    assert got["gp_appointment_share"] == pytest.approx(0.44, abs=2e-3)
    for b, s in zip(LEAD_BINS, (0.44, 0.07, 0.2, 0.13, 0.07, 0.05, 0.04)):
        assert got[f"booked_share.{b}"] == pytest.approx(s, abs=2e-3)
    with pytest.raises(FileExistsError):
        write_gpad_like({"P00001": figures}, path, "2024-06")


# --------------------------------------------------------------------------- per-practice WTE
def test_per_practice_wte_overrides_the_rate_and_is_validated():
    sizes = np.array([10_000.0, 5_000.0])
    rates = Scenario.model_validate({"gps": {"wte_per_10k": 4.5}, "nurses": {"wte_per_10k": 2.0},
                                     "dpc": {"wte_per_10k": 1.0}})
    gp, nurse, dpc = practice_wte(rates, sizes)
    assert (list(gp), list(nurse), list(dpc)) == ([4.5, 2.25], [2.0, 1.0], [1.0, 0.5])
    ok = Scenario.model_validate({"pcn": {"practices": 2, "list_sizes": [10000, 5000], "gp_wte": [6, 1],
                                          "nurse_wte": [2, 0], "dpc_wte": [1.5, 0.5]}})
    assert ok.pcn.gp_wte == (6.0, 1.0)
    gp, nurse, dpc = practice_wte(ok, sizes)
    assert (list(gp), list(nurse), list(dpc)) == ([6.0, 1.0], [2.0, 0.0], [1.5, 0.5])
    for bad in ({"practices": 2, "gp_wte": [1, 2, 3]}, {"practices": 2, "nurse_wte": [1, -1]}):
        with pytest.raises(ValueError, match="pcn"):
            Scenario.model_validate({"pcn": bad})


@pytest.mark.integration
def test_the_model_staffs_each_practice_with_its_listed_wte():
    from pcnsim.model import simulate

    base = {"run": {"horizon_weeks": 4, "warmup_weeks": 1, "replications": 1},
            "pcn": {"practices": 2, "list_sizes": [10000, 10000]}}
    few = Scenario.model_validate({**base, "pcn": {**base["pcn"], "gp_wte": [1.0, 1.0], "nurse_wte": [0.5, 0.5]}})
    many = Scenario.model_validate({**base, "pcn": {**base["pcn"], "gp_wte": [9.0, 9.0], "nurse_wte": [6.0, 6.0]}})
    a, b = simulate(few, 0).metrics, simulate(many, 0).metrics
    assert b["appointments_per_year"] > 1.3 * a["appointments_per_year"]


# --------------------------------------------------------------------------- pcnsim build
@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_files_are_told_apart_by_their_columns():
    f = find_files(DATA)
    assert f.workforce == WORKFORCE and f.gpad == tuple(GPAD)
    assert f.patients.name.startswith("gp-reg") and f.pcn_workforce.name.startswith("PCN Workforce")


def test_build_pcn_writes_practices_staff_arrs_mix_and_targets(cli, tmp_path):
    result = cli("build", "U00001", "--data", DATA, "--out", "mine.yaml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "mine.yaml").read_text()
    data = yaml.safe_load(text)
    assert data["pcn"]["list_sizes"] == [12100, 8050, 5010]              # the patients file wins, largest first
    assert data["pcn"]["gp_wte"] == [6.0, 3.6, 2.3] and data["pcn"]["nurse_wte"] == [3.2, 2.1, 1.4]
    assert data["pcn"]["dpc_wte"][2] == pytest.approx(5010 * 3.9 / 20000, abs=0.01)   # ND filled from the PCN
    assert "Z00003" in result.output and "not disclosed" in result.output
    assert data["arrs"]["mix"]["clinical_pharmacist"] == pytest.approx(1.6 / 5.0, abs=1e-3)
    cal = data["calibration"]
    assert cal["practices"] == ["Z00001", "Z00002", "Z00003"] and cal["period"] == "2024-04/2024-05"
    assert set(cal["targets"]) >= {"appointments_per_year", "dna_per_year", "gp_appointment_share",
                                   *(f"booked_share.{b}" for b in LEAD_BINS)}
    assert "TOTAL_GP_EXTGL_FTE" in text and "TOTAL_GP_FTE" in text and "March 2024" in text and "Practice_Level_Crosstab_Apr_24.csv" in text
    s = load_scenario(tmp_path / "mine.yaml")
    assert s.pcn.practices == 3 and s.pcn.gp_wte == (6.0, 3.6, 2.3)


def test_build_says_which_practices_lack_gpad_and_uses_the_budget_rule_without_pcn_workforce(cli, tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    for p in (WORKFORCE, *GPAD):
        shutil.copy(p, folder)
    result = cli("build", "U00002", "--data", folder, "--out", "south.yaml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "south.yaml").read_text()
    assert "no GPAD appointments for Z00013" in result.output and "Z00013" in text
    assert "budget rule" in text and "arrs:" not in text
    data = yaml.safe_load(text)
    assert data["pcn"]["list_sizes"] == [15000, 9000, 4000]             # TOTAL_PATIENTS without the patients file
    assert data["pcn"]["nurse_wte"][1] == pytest.approx(9000 * 5.5 / 19000, abs=0.01)


def test_build_refuses_to_overwrite_and_bad_input_is_one_paragraph_exit_2(cli, tmp_path):
    (tmp_path / "exists.yaml").write_text("keep me")
    r = cli("build", "U00001", "--data", DATA, "--out", "exists.yaml")
    assert r.exit_code == 2 and "does not overwrite" in r.output and (tmp_path / "exists.yaml").read_text() == "keep me"
    assert cli("build", "U00001", "--data", DATA, "--out", "exists.yaml", "--force").exit_code == 0
    r = cli("build", "U99999", "--data", DATA, "--out", "x.yaml")
    assert r.exit_code == 2 and "no practice has PCN_CODE U99999" in r.output and "Traceback" not in r.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "wf.csv").write_text(WORKFORCE.read_text().replace("TOTAL_NURSES_FTE", "NURSES"))
    for p in GPAD:
        shutil.copy(p, bad)
    r = cli("build", "U00001", "--data", bad, "--out", "y.yaml")
    assert r.exit_code == 2 and "wf.csv" in r.output and "TOTAL_NURSES_FTE" in r.output and "TOTAL_NURSE_FTE" in r.output
    assert not (tmp_path / "y.yaml").exists()
    r = cli("build", "U00001", "--data", tmp_path / "nowhere", "--out", "z.yaml")
    assert r.exit_code == 2 and "no such folder" in r.output


@pytest.mark.integration
def test_built_pcn_runs(cli, tmp_path):
    assert cli("build", "U00001", "--data", DATA, "--out", "mine.yaml").exit_code == 0
    checked = tmp_path / "mine.yaml"
    r = cli("run", checked, "--set", "run.horizon_weeks=8", "--set", "run.warmup_weeks=2", "--replications", "1",
            "--jobs", "1", "--out", tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "run" / "summary.csv").exists()


def test_build_england_gives_each_icb_its_pcns_staff_and_demand(cli, tmp_path):
    r = cli("build", "england", "--data", DATA, "--out", "england.yaml")
    assert r.exit_code == 0, r.output
    s = load_scenario(tmp_path / "england.yaml")
    points = {p["ics.name"]: p for p in s.sweep.points}
    north, south = points["NHS Synthetic North ICB"], points["NHS Synthetic South ICB"]
    assert north["ics.pcns"] == 1 and south["ics.pcns"] == 2
    assert list(south["ics.pcn_list_sizes"]) == [28130, 3000]                  # the patients file gives Z00021 its list
    assert north["gps.wte_per_10k"] == pytest.approx((6.0 + 3.6 + 2.3) / 25160 * 1e4, abs=0.01)   # fully qualified
    assert north["gps.wte_per_10k"] != south["gps.wte_per_10k"]
    assert north["demand.appointments_per_patient_year"] != south["demand.appointments_per_patient_year"]
    figures = {f.metric: f.value for f in s.report.published}
    assert figures["pcns_simulated"] == 3 and figures["appointments_per_year"] > 0
    from pcnsim.experiment import plan_points

    _, _, scenarios = plan_points(s)
    assert [sc.ics.pcns for sc in scenarios] == [1, 2]


def test_numbers_keep_their_zeros_before_the_point():
    """A target of 3,900 DNAs a year is written 3900, not 39 (trailing zeros go only after a point)."""
    from pcnsim.data.build import _num

    assert [_num(3900, 0), _num(3900.0), _num(2.5), _num(0.4000, 4), _num(-0.0), _num(120, 0)] == \
        ["3900", "3900", "2.5", "0.4", "0", "120"]
