"""The knife-edge table (docs/model.md 8.3): built from a run, carried as package data, shown by the
report, and the same in docs/model.md as in the package's copy."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pcnsim.cli import knife_edge as regen
from pcnsim.report import knife_edge

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_carries_the_table_of_the_bundled_scenario():
    table = knife_edge.load_packaged()
    assert table is not None, "run `python -m pcnsim.cli.knife_edge`"
    assert table["scenario"] == "knife-edge" and table["replications"] >= 10
    assert [p["change"] for p in table["points"]] == ["baseline", "demand -5%", "demand +5%", "GP WTE -10%",
                                                       "GP WTE +10%"]
    for m in ("wait_days_mean", "unmet_per_year", "booked_over_14_days_share"):
        assert m in table["metrics"]
    # the knife edge itself: 5% more demand adds far more than 5% to unmet demand
    base, more = (table["points"][i]["metrics"]["unmet_per_year"] for i in (0, 2))
    assert more["ci_low"] > 0.2 * base["mean"]


def test_docs_model_carries_the_same_table():
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    table = knife_edge.load_packaged()
    assert knife_edge.markdown_table(table) in text, "run `python -m pcnsim.cli.knife_edge`"
    assert regen.replace_docs_table(text, knife_edge.markdown_table(table)) == text


def test_a_missing_metric_is_left_out(tmp_path):
    table = knife_edge.load_packaged()
    table = {**table, "metrics": [m for m in table["metrics"] if m != "booked_over_14_days_share"]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    header, rows = knife_edge._cells(knife_edge.load_packaged(path))
    assert len(header) == 1 + len(table["metrics"]) and all(len(r) == len(header) for r in rows)
    assert not any("14 days" in h for h in header)
    assert knife_edge.load_packaged(tmp_path / "missing.json") is None


def test_the_view_of_another_run_is_the_packages():
    view = knife_edge.knife_edge_view(None)
    assert view is not None and not view["own"]
    assert "knife-edge" in view["source"] and "python -m pcnsim.cli.knife_edge" in view["source"]
    assert view["rows"][0][0] == "baseline (0)"
