"""Back-test: a pinned scenario's metrics must not change unless the change is deliberate.

tests/backtest/baseline_small.yaml (the baseline, 26 weeks, 2 replications, fixed seed) is
run and every metric of every replication compared with tests/backtest/expected.csv to a
relative tolerance of 1e-9. If a change of the model is meant to change results, regenerate
the expected numbers with `python -m tests.backtest.update` and review the diff of
expected.csv before committing (docs/verification.md).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

_UPDATE = Path(__file__).resolve().parent / "backtest" / "update.py"
_spec = importlib.util.spec_from_file_location("pcnsim_backtest_update", _UPDATE)
backtest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backtest)


@pytest.fixture(scope="module")
def computed():
    return backtest.compute()


def test_expected_numbers_are_stored():
    rows = backtest.read_expected()
    assert rows, "tests/backtest/expected.csv is empty: run `python -m tests.backtest.update`"
    assert {r for r, _, _ in rows} == {0, 1}


def test_metrics_match_the_pinned_numbers(computed):
    lines = backtest.differences(backtest.read_expected(), computed)
    assert not lines, (
        "the back-test scenario's metrics changed (rel. tolerance 1e-9):\n" + "\n".join(lines[:40])
        + "\nIf the change is deliberate, run `python -m tests.backtest.update` and review the diff "
          "of tests/backtest/expected.csv.")


def test_the_pinned_numbers_satisfy_demand_conservation():
    """The stored numbers themselves obey the conservation law (a guard against a bad update)."""
    rows = backtest.read_expected()
    years = (26 - 4) / 52
    for rep in {r for r, _, _ in rows}:
        m = {k: v for r, k, v in rows if r == rep}
        rhs = (m["appointments_per_year"] + m["dna_per_year"] + m["unmet_per_year"]
               + (m["backlog_end"] - m["backlog_start"]) / years)
        assert m["requests_per_year"] == pytest.approx(rhs, rel=1e-9)


def test_differences_reports_changes():
    old = [(0, "a", 1.0), (0, "b", 2.0), (0, "c", float("nan"))]
    assert backtest.differences(old, old) == []
    new = [(0, "a", 1.0 + 1e-6), (0, "c", float("nan")), (0, "d", 3.0)]
    lines = backtest.differences(old, new)
    assert [line.split()[0] for line in lines] == ["changed", "removed", "new"]
