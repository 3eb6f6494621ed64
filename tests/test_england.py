"""England as it is (issue 19): PCNs of their own sizes, national totals over them, published figures."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pcnsim.config import Scenario
from pcnsim.errors import ScenarioError
from pcnsim.experiment import plan_points
from pcnsim.metrics import aggregate
from pcnsim.model import simulate
from pcnsim.report.national import (National, comparison_lines, national_comparison, national_totals,
                                    published_figures)
from pcnsim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def scenario(**ics) -> Scenario:
    return Scenario.model_validate({"run": {"horizon_weeks": 10, "warmup_weeks": 2, "replications": 1},
                                    "ics": ics})


# --------------------------------------------------------------------------- sizes
@pytest.mark.unit
def test_no_spread_keeps_one_scenario_for_every_pcn():
    s = scenario(pcns=3)
    assert not s.pcn_spread
    assert all(p is s for p in s.pcn_scenarios())           # the model runs exactly as before
    assert s.pcn_list_sizes() == (45_000,) * 3 and s.ics_list_size == 135_000


@pytest.mark.unit
def test_spread_sizes_are_deterministic_lognormal_quantiles_around_the_pcn_list():
    s = scenario(pcns=400, pcn_list_size_cv=0.32)
    sizes = np.array(s.pcn_list_sizes(), dtype=float)
    assert sizes.mean() == pytest.approx(45_000, abs=1)        # the ICS keeps its patients
    assert list(sizes) == sorted(sizes, reverse=True)          # PCN 0 the largest
    assert sizes.std() / sizes.mean() == pytest.approx(0.32, rel=0.05)
    assert s.pcn_list_sizes() == scenario(pcns=400, pcn_list_size_cv=0.32).pcn_list_sizes()
    assert scenario(pcns=1, pcn_list_size_cv=0.32).pcn_list_sizes() == (45_000,)


@pytest.mark.unit
def test_each_pcn_has_practices_in_proportion_to_its_list():
    s = scenario(pcns=3, pcn_list_sizes=(27_000, 45_000, 100_000))
    got = [(p.pcn.practices, p.list_size) for p in s.pcn_scenarios()]
    assert [k for k, _ in got] == [3, 5, 11]                  # 9,000 patients a practice
    assert [n for _, n in got] == pytest.approx([27_000, 45_000, 100_000], abs=6)
    assert s.ics_list_size == sum(n for _, n in got)
    big = s.pcn_scenarios()[2]
    assert big.arrs_budget == pytest.approx(100_000 * 22.89, rel=1e-4)
    assert big.cd_funded_hours == pytest.approx(s.pcn_scenarios()[1].cd_funded_hours * 100 / 45, rel=1e-4)


@pytest.mark.unit
@pytest.mark.parametrize("text, words", [
    ("ics: {pcns: 3, pcn_list_sizes: [40000, 50000]}",
     ["ics.pcn_list_sizes = [40000, 50000]", "one list size per PCN (ics.pcns = 3), got 2"]),
    ("ics: {pcns: 2, pcn_list_sizes: [40000, 50]}", ["ics.pcn_list_sizes", "between 100 and 2,000,000"]),
    ("ics: {pcns: 2, pcn_list_size_cv: 4}", ["ics.pcn_list_size_cv = 4", "at most 3"]),
    ("ics: {pcns: 4, pcn_list_size_cv: 0.3}\npcn: {need_weights: [1, 1, 1, 1, 2]}",
     ["ics.pcn_list_size_cv = 0.3", "pcn.need_weights (one value per practice) cannot be used"]),
    ("ics: {pcns: 2, pcn_list_sizes: [40000, 60000]}\npcn: {list_sizes: [9000, 9000, 9000, 9000, 9000]}",
     ["ics.pcn_list_sizes = [40000, 60000]", "pcn.list_sizes"]),
])
def test_bad_pcn_sizes_are_refused_naming_file_and_key(tmp_path, text, words):
    path = tmp_path / "sizes.yaml"
    path.write_text("extends: baseline\n" + text + "\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert "sizes.yaml" in message
    for w in words:
        assert w in message


# --------------------------------------------------------------------------- the model
def per_pcn(s: Scenario) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The ICS's metrics and each PCN's own."""
    seen = {}
    rep = simulate(s, 0, observer=lambda ics: seen.setdefault("ics", ics))
    return rep.metrics, [p.metrics() for p in seen["ics"].pcns]


@pytest.mark.integration
def test_pcn_funding_and_staff_follow_its_size():
    _, pcns = per_pcn(scenario(pcns=2, pcn_list_sizes=(90_000, 30_000)))
    big, small = pcns
    assert big["registered_patients"] == 90_000 and small["registered_patients"] == 30_000
    assert big["arrs_budget_per_year"] == pytest.approx(3 * small["arrs_budget_per_year"], rel=1e-9)
    assert big["arrs_posts_funded"] == pytest.approx(3 * small["arrs_posts_funded"], rel=0.05)
    assert big["appointments_per_year"] > 2.5 * small["appointments_per_year"]
    assert big["cd_protected_hours_per_week"] > small["cd_protected_hours_per_week"]


@pytest.mark.integration
def test_national_totals_are_sums_over_pcns_of_different_sizes():
    """Two ICSs whose PCNs differ in size: national totals (per-PCN mean x PCNs, over the points)
    equal the sums over every simulated PCN, and ratios are ratios of those sums."""
    points = [{"ics.name": "NHS Little ICB", "ics.pcns": 2, "pcn.list_size": 30_000},
              {"ics.name": "NHS Big ICB", "ics.pcns": 3, "pcn.list_size": 70_000}]
    rows, every_pcn = [], []
    for p, point in enumerate(points):
        s = scenario(pcns=point["ics.pcns"], pcn_list_size_cv=0.4, name=point["ics.name"])
        s = s.model_copy(update={"pcn": s.pcn.model_copy(update={"list_size_per_practice": point["pcn.list_size"] // 5})})
        metrics, pcns = per_pcn(s)
        every_pcn += pcns
        rows += [{"point": p, **point, "replication": 0, "metric": k, "value": v} for k, v in metrics.items()]
    nat = national_totals(pd.DataFrame(rows), points).set_index("metric")["value"]
    for metric in ("registered_patients", "appointments_per_year", "gp_appointments_per_year", "arrs_staff_wte",
                   "arrs_budget_per_year", "cd_posts_filled", "unmet_per_year"):
        assert aggregate(metric) == "total"
        assert nat[metric] == pytest.approx(sum(m[metric] for m in every_pcn), rel=1e-9), metric
    assert nat["registered_patients"] == pytest.approx(2 * 30_000 + 3 * 70_000, abs=10)
    gp = sum(m["gp_appointments_per_year"] for m in every_pcn)
    booked = sum(m["booked_appointments_per_year"] for m in every_pcn)     # GPAD's share counts DNAs too
    assert nat["gp_appointment_share"] == pytest.approx(gp / booked, rel=1e-9)
    assert nat["pcns_simulated"] == 5


# --------------------------------------------------------------------------- published figures
def fake_national(values: dict[str, float]) -> National:
    table = pd.DataFrame([{"metric": m, "aggregate": aggregate(m), "value": v, "ci_low": math.nan,
                           "ci_high": math.nan, "n": 1, "pcns": 10.0} for m, v in values.items()])
    return National([0, 1], {0: "A", 1: "B"}, {0: 4.0, 1: 6.0}, table, "replications")


@pytest.mark.unit
def test_comparison_sets_the_model_beside_each_published_figure():
    nat = fake_national({"appointments_per_year": 351_000_000, "gp_appointment_share": 0.48})
    published = [{"metric": "appointments_per_year", "value": 370_100_000, "source": "GPAD", "note": "why"},
                 {"metric": "gp_appointment_share", "value": 0.446, "source": "GPAD June 2024"},
                 {"metric": "arrs_staff_wte", "value": 26_877, "source": "NHS England"}]
    table = national_comparison(nat, published).set_index("metric")
    assert table.loc["appointments_per_year", "gap"] == pytest.approx(351 / 370.1 - 1)
    assert table.loc["gp_appointment_share", "gap"] == pytest.approx(0.48 / 0.446 - 1)
    assert math.isnan(table.loc["arrs_staff_wte", "model"]) and math.isnan(table.loc["arrs_staff_wte", "gap"])
    lines = comparison_lines(national_comparison(nat, published))
    text = "\n".join(lines)
    assert "351,000,000" in text and "370,100,000" in text and "-5.2%" in text
    assert "48.0%" in text and "44.6%" in text and "+7.6%" in text
    assert "26,877" in text                                    # a published figure as published
    assert "source: GPAD; why" in text


@pytest.mark.unit
def test_comparison_shows_the_models_interval_when_there_is_one():
    nat = fake_national({"appointments_per_year": 351_000_000})
    nat.table.loc[0, ["ci_low", "ci_high"]] = [350_000_000, 352_000_000]
    text = "\n".join(comparison_lines(national_comparison(
        nat, [{"metric": "appointments_per_year", "value": 351_000_000, "source": "GPAD"}])))
    assert "351,000,000 (350,000,000 to 352,000,000)" in text and " 0.0%" in text


@pytest.mark.unit
def test_published_figures_need_a_known_metric_and_a_source(tmp_path):
    path = tmp_path / "pub.yaml"
    path.write_text("extends: baseline\nreport:\n  published:\n    - {metric: appointments_per_yr, value: 1, source: x}\n")
    with pytest.raises(ScenarioError, match="did you mean 'appointments_per_year'"):
        load_scenario(path)
    path.write_text("extends: baseline\nreport:\n  published:\n    - {metric: appointments_per_year, value: 1}\n")
    with pytest.raises(ScenarioError, match="source"):
        load_scenario(path)


# --------------------------------------------------------------------------- scenarios/england.yaml
@pytest.mark.unit
def test_england_is_registered_england_in_1250_pcns_of_their_own_sizes():
    england = load_scenario("england")
    _, points, scenarios = plan_points(england)
    assert len(points) == 42 and len({p["ics.name"] for p in points}) == 42
    assert sum(s.ics.pcns for s in scenarios) == 1250
    patients = sum(s.ics_list_size for s in scenarios)
    assert patients == pytest.approx(63_270_000, rel=1e-3)            # NHS Digital, March 2024
    sizes = np.concatenate([s.pcn_list_sizes() for s in scenarios])
    practices = sum(p.pcn.practices for s in scenarios for p in s.pcn_scenarios())
    assert practices == pytest.approx(6_277, rel=0.02)                 # NHS Digital, December 2024
    # BJGP 2020;70:e899: 7% of PCNs under 30,000 patients, 35% over 50,000 (January 2020, mean 48,020);
    # the lists of 2024 are 5% larger
    assert 0.03 < np.mean(sizes < 30_000) < 0.10
    assert 0.35 < np.mean(sizes > 50_000) < 0.55
    figures = {f.metric: f for f in england.report.published}
    assert {"booked_appointments_per_year", "gp_appointment_share", "arrs_budget_per_year", "arrs_staff_wte",
            "cd_posts_filled", "registered_patients"} <= set(figures)
    assert all(f.source for f in figures.values())


@pytest.mark.unit
def test_england_icbs_have_their_own_published_gp_and_nurse_staffing():
    """Issue 27: every ICB's GP, nurse and DPC WTE per 10,000 patients are its own (NHS Digital practice-level
    workforce, April 2023 to March 2024), so ICBs differ for data reasons; no simulation."""
    england = load_scenario("england")
    _, points, scenarios = plan_points(england)
    assert all("gps.wte_per_10k" in p and "nurses.wte_per_10k" in p and "dpc.wte_per_10k" in p for p in points)
    gp = np.array([s.gps.wte_per_10k for s in scenarios])
    nurse = np.array([s.nurses.wte_per_10k for s in scenarios])
    patients = np.array([s.ics_list_size for s in scenarios], dtype=float)
    assert len(set(gp)) >= 35 and len(set(nurse)) >= 35                 # not one England rate
    assert gp.std() / gp.mean() > 0.05 and nurse.std() / nurse.mean() > 0.15   # 10% and 27% in the file
    # TOTAL_GP_EXTGL_FTE (fully qualified GPs, the baseline's definition, as `pcnsim build` reads it):
    # England 4.25 per 10,000, ICBs 3.44 to 5.25 (Cornwall); TOTAL_NURSES_FTE: 2.70, 1.22 to 4.07;
    # TOTAL_DPC_FTE: 2.65, 1.40 to 5.82
    dpc = np.array([s.dpc.wte_per_10k for s in scenarios])
    assert np.average(gp, weights=patients) == pytest.approx(4.25, abs=0.05)
    assert np.average(nurse, weights=patients) == pytest.approx(2.70, abs=0.05)
    assert np.average(dpc, weights=patients) == pytest.approx(2.65, abs=0.08)
    by_name = {p["ics.name"]: (p["gps.wte_per_10k"], p["nurses.wte_per_10k"], p["dpc.wte_per_10k"]) for p in points}
    assert by_name["NHS North West London ICB"] == (3.44, 1.31, 1.81)
    assert by_name["NHS Cornwall and the Isles of Scilly ICB"] == (5.25, 3.67, 5.82) and max(gp) == 5.25
    assert by_name["NHS North Central London ICB"][1] == min(nurse)
    assert by_name["NHS Lincolnshire ICB"][1] == max(nurse)
    text = (SCENARIOS / "england.yaml").read_text()
    assert "TOTAL_GP_EXTGL_FTE" in text and "April 2023 to March 2024" in text and "HealthEquityEvidenceCentre/HEEC" in text


@pytest.mark.unit
def test_published_figures_are_read_from_a_run_folder_scenario():
    class Run:
        scenario = {"report": {"published": [{"metric": "appointments_per_year", "value": 1.0, "source": "s"}]}}

    assert published_figures(Run()) == [{"metric": "appointments_per_year", "value": 1.0, "source": "s"}]
    Run.scenario = {"report": {"focus": []}}
    assert published_figures(Run()) == []


@pytest.mark.integration
def test_cli_prints_national_figures_beside_published_ones(tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main

    file = tmp_path / "region.yaml"
    file.write_text("name: region\nextends: baseline\n"
                    "run: {replications: 1, horizon_weeks: 5, warmup_weeks: 1}\n"
                    "ics: {pcn_list_size_cv: 0.32}\n"
                    "report:\n  published:\n"
                    "    - {metric: appointments_per_year, value: 1000000, source: GPAD somewhere, note: a reason}\n"
                    "    - {metric: registered_patients, value: 200000, source: NHS Digital}\n"
                    "sweep:\n  points:\n"
                    "    - {ics.name: North ICB, ics.pcns: 2, pcn.list_size: 50000}\n"
                    "    - {ics.name: South ICB, ics.pcns: 2, pcn.list_size: 50000}\n")
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(file), "--jobs", "1", "--quiet", "--no-report", "--out", str(out)])
    assert res.exit_code == 0, res.output
    after = res.output.split("Beside published figures", 1)
    assert len(after) == 2 and "National figures (4 PCNs in 2 ICSs" in after[0]
    assert "Registered patients" in after[1] and "200,000" in after[1] and " 0.0%" in after[1]
    assert "source: GPAD somewhere; a reason" in after[1]
