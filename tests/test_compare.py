"""Comparing two runs: paired intervals under common random numbers, Welch otherwise."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from tests.fake_runs import make_run_folder  # noqa: E402

from pcnsim.cli import main  # noqa: E402
from pcnsim.report.compare import compare_runs, default_out_dir, write_comparison  # noqa: E402
from pcnsim.errors import RunFolderError  # noqa: E402

pytestmark = pytest.mark.integration


def tiny_run(folder: Path, seed: int, values: dict[str, list[float]], name: str = "tiny") -> Path:
    """A minimal run folder: a bare manifest, results.csv and summary.csv, one point."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"seed": seed, "replications": 4, "scenario": {"name": name, "run": {"seed": seed}}}))
    rows = [{"point": 0, "replication": r, "metric": m, "value": v}
            for m, vs in values.items() for r, v in enumerate(vs)]
    results = pd.DataFrame(rows)
    results.to_csv(folder / "results.csv", index=False)
    summary = results.groupby(["point", "metric"], as_index=False)["value"].agg(
        mean="mean", std="std", n="count")
    summary["ci_low"], summary["ci_high"] = summary["mean"] - 1, summary["mean"] + 1
    summary.to_csv(folder / "summary.csv", index=False)
    return folder


A = {"appointments_per_year": [100.0, 110.0, 120.0, 130.0], "wait_days_mean": [4.0, 4.0, 5.0, 5.0]}
B = {"appointments_per_year": [101.0, 112.0, 123.0, 134.0], "wait_days_mean": [4.0, 5.0, 4.0, 5.0]}


def test_paired_interval_by_hand(tmp_path):
    a = tiny_run(tmp_path / "a", 7, A)
    b = tiny_run(tmp_path / "b", 7, B)
    df = compare_runs(a, b).set_index("metric")
    row = df.loc["appointments_per_year"]
    # differences 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), t(0.975, 3) = 3.182446305
    half = 3.182446305284263 * math.sqrt(5 / 3) / math.sqrt(4)
    assert row["paired"] and row["method"].startswith("paired")
    assert row["difference"] == pytest.approx(2.5)
    assert row["ci_low"] == pytest.approx(2.5 - half) and row["ci_high"] == pytest.approx(2.5 + half)
    assert row["n"] == 4 and row["mean_a"] == pytest.approx(115) and row["mean_b"] == pytest.approx(117.5)
    assert bool(row["distinguishable"])  # 2.5 +/- 2.05 excludes zero
    wait = df.loc["wait_days_mean"]  # differences 0, 1, -1, 0
    assert wait["difference"] == pytest.approx(0) and not bool(wait["distinguishable"])


def test_unpaired_falls_back_to_welch(tmp_path):
    a = tiny_run(tmp_path / "a", 7, A)
    b = tiny_run(tmp_path / "b", 8, B)  # another seed: independent samples
    row = compare_runs(a, b).set_index("metric").loc["appointments_per_year"]
    assert not row["paired"] and row["method"] == "Welch t"
    ci = stats.ttest_ind(B["appointments_per_year"], A["appointments_per_year"],
                         equal_var=False).confidence_interval(0.95)
    assert row["ci_low"] == pytest.approx(ci.low) and row["ci_high"] == pytest.approx(ci.high)
    assert not bool(row["distinguishable"])  # the same data, unpaired: lost in the noise


def test_common_random_numbers_tighten_the_interval(tmp_path):
    a = make_run_folder(tmp_path / "a", replications=6, weekly=False)
    b = make_run_folder(tmp_path / "b", replications=6, weekly=False, shift=0.002)
    c = make_run_folder(tmp_path / "c", replications=6, weekly=False, shift=0.002, seed=1)
    paired = compare_runs(a, b).set_index("metric").loc["appointments_per_year"]
    welch = compare_runs(a, c).set_index("metric").loc["appointments_per_year"]
    assert paired["paired"] and not welch["paired"]
    assert paired["ci_high"] - paired["ci_low"] < welch["ci_high"] - welch["ci_low"]


def test_sweeps_match_points_by_value(tmp_path):
    a = make_run_folder(tmp_path / "a", sweep="grid1", replications=3, weekly=False,
                        metrics=["appointments_per_year"])
    b = make_run_folder(tmp_path / "b", sweep="grid1", replications=3, weekly=False,
                        metrics=["appointments_per_year"], shift=0.01)
    df = compare_runs(a, b)
    assert list(df["point_a"]) == [0, 1, 2, 3] and list(df["point_b"]) == [0, 1, 2, 3]
    assert "funding.cd_wte_per_50k" in df.columns


def test_write_comparison_never_overwrites(tmp_path):
    a = tiny_run(tmp_path / "a", 7, A)
    b = tiny_run(tmp_path / "b", 7, B)
    df = compare_runs(a, b)
    out = write_comparison(df, tmp_path / "cmp")
    assert (out / "compare.csv").exists() and (out / "compare.png").exists()
    with pytest.raises(RunFolderError, match="not empty"):
        write_comparison(df, tmp_path / "cmp")
    first = default_out_dir(a, b, tmp_path / "outputs")
    first.mkdir(parents=True)
    second = default_out_dir(a, b, tmp_path / "outputs")
    assert second != first and second.name.startswith("compare-a-vs-b-")


def test_cli_compare(tmp_path):
    a = tiny_run(tmp_path / "a", 7, A)
    b = tiny_run(tmp_path / "b", 7, B)
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "paired t-interval" in result.output
    assert "In short" in result.output and "--all" in result.output
    assert "Appointments delivered: higher in B" not in result.output   # the answer's metrics only
    assert (out / "compare.csv").exists() and (out / "compare.png").exists()
    every = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "cmp-all"), "--all"])
    assert every.exit_code == 0 and "Appointments delivered: higher in B" in every.output
    saved = pd.read_csv(out / "compare.csv")
    assert {"metric", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "n", "paired",
            "distinguishable"} <= set(saved.columns)
    again = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output


def test_cli_compare_bad_input(tmp_path):
    a = tiny_run(tmp_path / "a", 7, A)
    result = CliRunner().invoke(main, ["compare", str(a), str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a folder" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "empty"), str(a)])
    assert result.exit_code == 2 and "not a pcnsim run folder" in result.output


# --------------------------------------------------------------------------- a planner's compare
def test_a_sweep_needs_its_point_named(tmp_path):
    single = make_run_folder(tmp_path / "base", replications=3, weekly=False)
    forum = make_run_folder(tmp_path / "forum", sweep="categorical", replications=3, weekly=False)
    result = CliRunner().invoke(main, ["compare", str(single), str(forum), "--out", str(tmp_path / "c0")])
    assert result.exit_code == 2, result.output
    assert "sweep of 2 points" in result.output and "RUN:POINT" in result.output
    assert "1 (ics.representation = forum)" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "c0").exists()          # nothing half-written
    by_value = compare_runs(single, forum, point_b="forum")
    by_colon = CliRunner().invoke(main, ["compare", str(single), f"{forum}:forum", "--out", str(tmp_path / "c1")])
    assert by_colon.exit_code == 0, by_colon.output
    assert set(by_value["point_b"]) == {1} and set(pd.read_csv(tmp_path / "c1" / "compare.csv")["point_b"]) == {1}
    by_option = CliRunner().invoke(main, ["compare", str(single), str(forum), "--point-b", "0",
                                          "--out", str(tmp_path / "c2")])
    assert by_option.exit_code == 0 and set(pd.read_csv(tmp_path / "c2" / "compare.csv")["point_b"]) == {0}
    wrong = CliRunner().invoke(main, ["compare", str(single), f"{forum}:nowhere"])
    assert wrong.exit_code == 2 and "names no point" in wrong.output


def test_compare_opens_with_the_answer_and_writes_a_page(tmp_path):
    a = tiny_run(tmp_path / "a", 7, A)
    b = tiny_run(tmp_path / "b", 7, B)
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[:3]
    assert first[0].startswith("In short, from A to B: Delivery: appointments delivered rose")
    assert first[1].startswith("Appointments delivered (appointments a year): 118 in B against 115 in A, "
                               "higher by 2.5 (95% CI")
    assert "too small for this run to show: any effect is smaller than ±" in first[2]   # the wait: a bound
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "http" not in page.replace("http-equiv", "")
    assert page.index("In short") < page.index("All metrics")


def test_compare_headline_is_pure_and_says_noise_plainly():
    from pcnsim.report.answers import compare_headline

    df = pd.DataFrame([
        {"metric": "appointments_per_year", "point_a": 0, "point_b": 0, "mean_a": 1000.0, "mean_b": 919.0,
         "difference": -81.0, "ci_low": -603.0, "ci_high": 440.0, "distinguishable": False},
        {"metric": "arrs_posts_funded", "point_a": 0, "point_b": 0, "mean_a": 20.0, "mean_b": 17.0,
         "difference": -3.0, "ci_low": -3.0, "ci_high": -3.0, "distinguishable": True},
        {"metric": "representation_share", "point_a": 0, "point_b": 0, "mean_a": 1.0, "mean_b": 0.8,
         "difference": -0.2, "ci_low": -0.25, "ci_high": -0.15, "distinguishable": True},
    ])
    lines = compare_headline(df, ["representation_share"], "Forum or not", "all", "forum")
    assert lines[0] == "Forum or not?"
    assert lines[1] == ("In short, from all to forum: Delivery: no clear change in appointments delivered (smaller "
                        "than ±600 appointments a year). Leadership time: system meetings with a PCN CD present fell "
                        "by 20 points.")
    assert lines[2].startswith("System meetings with a PCN CD present: 80.0% in forum against 100.0% in all")
    assert "-81 (95% CI -603 to +440)" in lines[3] and "any effect is smaller than ±600" in lines[3]
    assert not any("within the noise" in line for line in lines)     # a bound, not a shrug
    assert not any("ARRS posts funded" in line for line in lines)   # fixed by the scenarios: not news
