"""The compiled day (pcnsim.model.daybook) against the list reference (booking.py): the same numbers.

`PCNSIM_ENGINE=python` selects the reference (`per-pcn` the compiled day in one process a PCN); every metric and weekly series of random valid
scenarios (the strategy of tests/test_properties.py, widened to ARRS roles that serve nursing,
ARRS GPs and nurses in the practices' diaries, short return delays and PCNs of different sizes
in one ICS) must agree exactly.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcnsim.errors import ScenarioError
from pcnsim.model import simulate
from pcnsim.verify import scenario
from tests.test_properties import scenarios

pytestmark = pytest.mark.integration


def _both(s, monkeypatch):
    """The list reference, one process a PCN; the compiled day one process a PCN; and the default,
    one pass an ICS-day. The last two must equal the first."""
    monkeypatch.setenv("PCNSIM_ENGINE", "python")
    ref = simulate(s, 0)
    monkeypatch.setenv("PCNSIM_ENGINE", "per-pcn")
    _assert_same(ref, simulate(s, 0))
    monkeypatch.setenv("PCNSIM_ENGINE", "compiled")
    fast = simulate(s, 0)
    return ref, fast


def _assert_same(ref, fast):
    assert ref.metrics.keys() == fast.metrics.keys()
    for k, a in ref.metrics.items():
        b = fast.metrics[k]
        assert (math.isnan(a) and math.isnan(b)) or a == b, (k, a, b)
    for k, a in ref.weekly.items():
        np.testing.assert_array_equal(a, fast.weekly[k], err_msg=k)


@st.composite
def wider(draw):
    base = draw(scenarios())
    extra = {}
    if draw(st.booleans()):       # an ARRS role that serves nursing: practice nurses first, then that pool
        extra["arrs.roles.care_coordinator.serves"] = "nursing"
    if draw(st.booleans()):       # ARRS GPs and nurses in the practices' diaries
        extra["arrs.mix.arrs_gp"] = draw(st.floats(0.0, 0.3))
        extra["arrs.mix.general_practice_nurse"] = draw(st.floats(0.0, 0.3))
    extra["demand.return_after_days"] = draw(st.integers(1, 10))
    if base.ics.pcns > 1 and draw(st.booleans()):      # PCNs of different sizes (and practices) in one ICS
        extra["ics.pcn_list_size_cv"] = draw(st.floats(0.0, 0.6))
    return base, extra


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                                   HealthCheck.function_scoped_fixture])
@given(case=wider())
def test_the_compiled_day_gives_the_reference_numbers(case, monkeypatch):
    base, extra = case
    ref, fast = _both(scenario(base=base, values=extra), monkeypatch)
    _assert_same(ref, fast)


def test_the_engines_agree_on_the_baseline_and_differ_from_a_broken_kernel(monkeypatch, small_scenario):
    ref, fast = _both(small_scenario, monkeypatch)
    _assert_same(ref, fast)
    assert ref.metrics["appointments_per_year"] > 0
    # the comparison can fail: a day's booking that diverts nothing it should is caught
    from pcnsim.model import daybook
    monkeypatch.setattr(daybook, "OUT_ELSEWHERE", daybook.OUT_DIVERTED)
    broken = simulate(small_scenario, 0)
    monkeypatch.undo()
    assert broken.metrics["unmet_per_year"] != ref.metrics["unmet_per_year"]


def test_an_unknown_engine_is_refused(monkeypatch, small_scenario):
    monkeypatch.setenv("PCNSIM_ENGINE", "turbo")
    with pytest.raises(ScenarioError, match="PCNSIM_ENGINE = 'turbo'"):
        simulate(small_scenario, 0)


def test_the_cli_refuses_an_unknown_engine_before_writing_anything(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main
    monkeypatch.setenv("PCNSIM_ENGINE", "turbo")
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", "baseline", "--out", str(out), "--quiet"])
    assert res.exit_code == 2
    assert "PCNSIM_ENGINE = 'turbo'" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_the_compiled_day_cache_is_found_where_numba_writes_it(monkeypatch, tmp_path):
    from pcnsim.model import daybook  # noqa: F401 - compiled (or loaded) and cached on import
    from pcnsim.model.engine import compiled_day_cached
    assert compiled_day_cached()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))       # an empty cache: the next process compiles
    assert not compiled_day_cached()


def test_pcnsim_run_says_when_it_will_compile_the_day(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main
    args = ["run", "baseline", "--replications", "1", "--jobs", "1", "--no-report", "--set", "run.horizon_weeks=4",
            "--set", "run.warmup_weeks=1"]
    monkeypatch.setattr("pcnsim.model.engine.compiled_day_cached", lambda: False)
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "compiling the model's day" in res.output
    monkeypatch.setattr("pcnsim.model.engine.compiled_day_cached", lambda: True)
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert res.exit_code == 0 and "compiling" not in res.output
