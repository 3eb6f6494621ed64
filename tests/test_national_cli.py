"""`pcnsim run` of a sweep whose points are ICSs: national figures on screen and in national.csv."""
from __future__ import annotations

import pandas as pd
import pytest

from pcnsim.report.national import national_totals


@pytest.mark.integration
def test_cli_run_over_icss_prints_national_figures_and_writes_national_csv(tmp_path):
    """`pcnsim run` of a sweep over ICSs says the national figures and, even with --no-report,
    writes national.csv equal to national_totals of its results."""
    from click.testing import CliRunner

    from pcnsim.cli import main

    file = tmp_path / "three.yaml"
    file.write_text("name: three\nextends: baseline\n"
                    "run: {replications: 2, horizon_weeks: 6, warmup_weeks: 2}\n"
                    "sweep:\n  points:\n"
                    "    - {ics.name: North ICB, ics.pcns: 1}\n"
                    "    - {ics.name: South ICB, ics.pcns: 2}\n")
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(file), "--jobs", "1", "--quiet", "--no-report", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "National figures (3 PCNs in 2 ICSs" in res.output
    assert "Nationally, PCNs delivered" in res.output
    assert not (out / "report.html").exists()
    national = pd.read_csv(out / "national.csv")
    results = pd.read_parquet(out / "results.parquet")
    want = national_totals(results, [{"ics.pcns": 1}, {"ics.pcns": 2}])
    got = national.set_index("metric")["value"]
    for metric, value in want.set_index("metric")["value"].items():
        assert got[metric] == pytest.approx(value, rel=1e-9, nan_ok=True), metric


@pytest.mark.integration
def test_cli_run_of_one_pcn_prints_no_national_figures(tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main

    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", "baseline", "--jobs", "1", "--quiet", "--no-report", "--replications", "1",
                                    "--set", "run.horizon_weeks=4", "--set", "run.warmup_weeks=1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "National figures" not in res.output and not (out / "national.csv").exists()
