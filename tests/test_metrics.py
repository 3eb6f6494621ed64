"""The metric catalogue: every docs/interface.md metric is in it, suffixed names resolve, lookups agree."""
from __future__ import annotations

import pytest

from pcnsim import metrics

pytestmark = pytest.mark.unit


def test_shares_are_bounded_and_counts_are_not_negative():
    assert metrics.bounds("arrs_vacancy_rate") == (0.0, 1.0)
    assert metrics.bounds("cd_overtime_hours_per_week") == (0.0, None)
    assert metrics.bounds("demand_met_share") == (0.0, None)   # above 1 while a backlog is drawn down


def test_suffixed_metrics_take_their_base_entry():
    m = metrics.lookup("requests_per_year.msk")
    assert m.aggregate == "total" and m.kind == "count" and m.label.endswith("MSK")
    assert metrics.lookup("utilisation.paramedic") is None or metrics.kind("utilisation.paramedic") == "share"
    assert metrics.aggregate("demand_met_share") == "ratio"
    assert metrics.ratio_of("cost_per_appointment") == ("spend_per_year", "appointments_per_year")


def test_headline_and_order():
    assert metrics.HEADLINE[0] == "appointments_per_year"
    assert all(metrics.CATALOGUE[m].headline for m in metrics.HEADLINE)
    assert metrics.order(["zzz", "unmet_per_year", "appointments_per_year.msk", "appointments_per_year"]) == [
        "appointments_per_year", "appointments_per_year.msk", "unmet_per_year", "zzz"]
    assert metrics.label("no_such_metric") == "no such metric"


def test_headline_is_in_reading_order():
    # the report's sweep figures (sweep_00_..., sweep_01_...) and table columns follow this order
    assert metrics.HEADLINE == ("appointments_per_year", "demand_met_share", "wait_days_mean", "unmet_per_year",
                                "cd_overtime_hours_per_week", "leadership_tasks_overdue_share",
                                "cd_resignations_per_year", "arrs_vacancy_rate")


def test_every_weekly_series_is_documented():
    """docs/experiments.md's table of weekly series names exactly the series the model writes."""
    import re
    from pathlib import Path

    from pcnsim.model.ledger import WEEK_FIELDS

    text = (Path(__file__).resolve().parent.parent / "docs" / "experiments.md").read_text(encoding="utf-8")
    section = text[text.index("## Weekly series"):]
    section = section[:section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert documented == set(WEEK_FIELDS)
