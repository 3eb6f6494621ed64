"""The compiled day (pcnsim.model.daybook) against the list reference (booking.py): the same numbers.

`PCNSIM_ENGINE=python` selects the reference (`per-pcn` the compiled day in one process a PCN); every metric and weekly series of random valid
scenarios (the strategy of tests/test_properties.py, widened to ARRS roles that serve nursing,
ARRS GPs and nurses in the practices' diaries, short return delays and PCNs of different sizes
in one ICS) must agree exactly.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcnsim.errors import ScenarioError
from pcnsim.model import simulate
from pcnsim.verify import scenario
from tests.test_properties import scenarios

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


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
    from pcnsim.model import booking
    monkeypatch.setattr(booking, "OUT_ELSEWHERE", booking.OUT_DIVERTED)
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


def test_the_compiled_day_cache_is_found_where_it_is_built(monkeypatch, tmp_path):
    from pcnsim.model import engine
    engine.serve()                                             # built (or loaded) once per machine
    assert engine.compiled_day_cached()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))       # an empty cache: the next process compiles
    assert not engine.compiled_day_cached()


def test_the_day_built_ahead_of_time_gives_the_jit_numbers_and_needs_no_numba(monkeypatch, small_scenario):
    """The module built ahead of time is what runs; numba's just-in-time day (the fallback) gives
    the same numbers; and a process that simulates with the built module never imports numba."""
    from pcnsim.model import daybook, engine
    monkeypatch.setattr(engine, "_SERVE", None)
    built = engine.serve()
    failed = engine.ahead_of_time_path().with_suffix(".failed")
    assert engine.ahead_of_time_path().exists(), (
        "the compiled day could not be built ahead of time on this machine (it needs a C compiler): "
        + (failed.read_text() if failed.exists() else "no reason recorded"))
    assert built is not daybook.serve and "numba" not in type(built).__module__
    monkeypatch.setenv("PCNSIM_ENGINE", "per-pcn")
    ahead = simulate(small_scenario, 0)
    monkeypatch.setattr(engine, "_SERVE", daybook.serve)
    _assert_same(ahead, simulate(small_scenario, 0))
    code = ("import sys\nfrom pcnsim.model import simulate\nfrom pcnsim.scenario import load_scenario\n"
            "r = simulate(load_scenario('baseline', {'run.horizon_weeks': 3, 'run.warmup_weeks': 1}), 0)\n"
            "assert r.metrics['appointments_per_year'] > 0\nprint('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "PCNSIM_ENGINE": "compiled"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_day_that_cannot_be_built_falls_back_to_the_jit_day(monkeypatch, tmp_path, small_scenario):
    """No C compiler (here: a child process that fails): the reason is kept, the day runs under
    numba's just-in-time compiler with the same numbers, and no later process tries again."""
    from pcnsim.model import daybook, engine
    monkeypatch.setenv("PCNSIM_ENGINE", "per-pcn")
    monkeypatch.setattr(engine, "_SERVE", None)
    reference = simulate(small_scenario, 0)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(engine, "_SERVE", None)
    monkeypatch.setattr(engine.sys, "executable", "/bin/false")
    assert engine.serve() is daybook.serve
    failed = engine.ahead_of_time_path().with_suffix(".failed")
    assert failed.exists() and not engine.ahead_of_time_path().exists()
    monkeypatch.setattr(engine, "_build", lambda *a: pytest.fail("a failed build is not retried"))
    monkeypatch.setattr(engine, "_SERVE", None)
    assert engine.serve() is daybook.serve
    monkeypatch.setattr(engine, "_SERVE", None)
    _assert_same(reference, simulate(small_scenario, 0))


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
