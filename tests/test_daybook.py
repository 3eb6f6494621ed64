"""The compiled day (pcnsim.model.daybook) against the list reference (booking.py): the same numbers.

Day by day: random valid diaries and days (hypothesis) served by the compiled kernel and by the
list reference must leave every array of the diary equal, and a deliberately mutated kernel must
fail that check. Whole runs: `PCNSIM_ENGINE=python` selects the reference (`per-pcn` the compiled
day in one process a PCN); every metric and weekly series of random valid scenarios (the strategy
of tests/test_properties.py, widened to ARRS roles that serve nursing, ARRS GPs and nurses in the
practices' diaries, short return delays and PCNs of different sizes in one ICS) must agree exactly.
"""
from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcnsim.config import DEMAND_TYPES
from pcnsim.errors import ScenarioError
from pcnsim.model import daybook, engine, simulate
from pcnsim.model.booking import Diary, Staffing
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


# --------------------------------------------------------------------------- day by day
NT = len(DEMAND_TYPES)
#: every array of a diary a day writes: the diary itself and its tallies
WRITTEN = ("block", "sup", "carry_open", "arrived", "carried", "returns", "unbooked_today", "week_counts", "by_type",
           "used", "offered", "served_by_age", "planned_by_age", "lead_bins")


@st.composite
def diaries(draw) -> dict:
    """A diary's rules and a run of days for it: arrivals, extra GP slots, measuring, staff and uniforms."""
    P, H = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    arrs_types = sorted(draw(st.sets(st.integers(0, NT - 1), max_size=3)))
    tolerance = draw(st.sampled_from([0.0, 1.0, 5.0]))
    patience = draw(st.integers(1, H))                 # routine requests' horizon; planned ones book up to H
    reach = draw(st.integers(1, patience))
    rules = dict(P=P, H=H, return_after_days=draw(st.integers(1, 4)), arrs_types=arrs_types,
                 nursing=draw(st.integers(0, NT - 1)), gp_order=np.array(draw(st.permutations(range(NT))), np.int64),
                 accept_p=np.exp(-np.arange(H) / tolerance) if tolerance else np.ones(H), draw=tolerance > 0,
                 passes=np.array((reach, patience) if reach < patience else (patience,), np.int64),
                 return_share=draw(st.sampled_from([0.0, 0.4, 0.9])), on_the_day_share=draw(st.sampled_from([0.0, 0.3])),
                 gp_minutes=10.0)
    nF = 3 * P + len(arrs_types)
    staff = st.builds(lambda slots, needed, protected: Staffing(np.array(slots), needed, needed * 0.5, protected),
                      st.lists(st.floats(0.0, 12.0), min_size=nF, max_size=nF), st.floats(0.0, 3.0),
                      st.floats(0.0, 4.0))
    days = draw(st.lists(st.fixed_dictionaries({
        "arrivals": st.lists(st.integers(0, 9), min_size=2 * P * NT, max_size=2 * P * NT),
        # planned requests by desired lead (a few, most cells empty), GPAD bins of today's leads
        "planned": st.lists(st.sampled_from([0, 0, 0, 0, 1, 3]), min_size=H * P * NT, max_size=H * P * NT),
        "bins": st.lists(st.integers(0, 6), min_size=H, max_size=H), "back_bin": st.integers(1, 2),
        "extra": st.integers(0, 3), "measuring": st.booleans(), "staffing": staff,
        "seed": st.integers(0, 2**32 - 1)}), min_size=1, max_size=12))
    return {"rules": rules, "opening": draw(staff), "days": days}


def _diary(case: dict) -> Diary:
    diary = Diary(**case["rules"])
    for k in range(diary.H):
        diary.open_day(k, case["opening"])
    return diary


def agree(case: dict, kernel: Callable = daybook.serve) -> None:
    """Two equal diaries, one served by `kernel` (daybook.serve's signature), one by the list reference, a
    day at a time: after each day every array they write, the returners due and the GP slots offered (as
    `Practices` counts them for the list reference) must be equal."""
    compiled, reference = _diary(case), _diary(case)
    rules, books = daybook.bundles(compiled)
    for day_index, day in enumerate(case["days"]):
        arrivals = np.concatenate([np.array(day["arrivals"], np.int64).reshape(2, compiled.P, NT),
                                   np.array(day["planned"], np.int64).reshape(compiled.H, compiled.P, NT)])
        staffing = day["staffing"]
        need = 3 * int(arrivals[1:].sum() + reference.returns[:, :, 0].sum())
        u0 = day_index                                       # the day's uniforms start part-way into the pool
        u = np.random.default_rng(day["seed"]).random(u0 + need)
        bins = np.array(day["bins"], np.int64)
        gp_slots = int(reference.capacity[:reference.P, 0].sum()) + day["extra"]     # as `Practices` counted them
        due, offered = kernel(rules, books, daybook.Day(arrivals[0].copy(), arrivals[1].copy(), arrivals[2:].copy(), u,
                                                        u0, day_index, day["extra"], day["measuring"], staffing.slots,
                                                        staffing.protected, staffing.wanted, staffing.needed, bins,
                                                        day["back_bin"]))
        expected = reference.serve_lists(day_index, arrivals, u[u0:].tolist(), day["extra"], day["measuring"], staffing,
                                         bins.tolist(), day["back_bin"])
        assert due == expected, f"day {day_index}: returners due"
        assert offered == gp_slots, f"day {day_index}: GP slots offered"
        for name in WRITTEN:
            np.testing.assert_array_equal(getattr(compiled, name), getattr(reference, name),
                                          err_msg=f"day {day_index}: {name}")


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=diaries())
def test_the_compiled_day_and_the_reference_agree_day_by_day(case):
    agree(case)


def _kernel_in_python(source: str) -> Callable:
    """`daybook.serve` from `source` (daybook.py, perhaps mutated) run as plain Python: the same statements
    without numba, with the tallies as numpy records so that their fields read as attributes."""
    module = types.ModuleType("daybook_in_python")
    module.__dict__["__file__"] = daybook.__file__
    exec(compile(source.replace("from numba import from_dtype, njit, typeof, types",
                                "from numba import from_dtype, typeof, types\nnjit = lambda *a, **k: (lambda f: f)"),
                 "daybook_in_python", "exec"), module.__dict__)

    def serve(rules, books, day):
        as_records = {name: getattr(books, name).view(np.recarray) for name in ("week_counts", "by_type")}
        return module.serve(rules, books._replace(**as_records), day)
    return serve


#: Mutations of the kernel's rules (text in daybook.py -> its replacement), each a plausible slip.
MUTATIONS = {
    "urgent seen counted by the wrong lead": ("lead[t, 0] += before_t[t] - seen_carried[t]",
                                              "lead[t, 0] += before_t[t]"),
    "returners drawn from the second offers' uniforms": ("at = u0 + 2 * n", "at = u0 + n"),
    "planned requests booked from today": ("l = first[row] if first[row] > lo else lo", "l = first[row]"),
    "second offer to the GP before the DPC staff": ("if t == nur and s == 0:", "if t == nur and s == 5:"),
    "carried urgent requests in today's bin": ("bins[t, day.back_bin] += seen_carried[t]", "bins[t, gb[0]] += seen_carried[t]"),
    "DPC appointments counted as nurses'": ("used[2] += dpc", "used[1] += dpc"),
    "held slots rounded up": ("held = np.int64(np.floor(cap[i] * rules.on_the_day_share))",
                              "held = np.int64(np.ceil(cap[i] * rules.on_the_day_share))"),
    "ARRS split rotated like the nurses'": ("order2 = rules.rotation[(day_index + 1) % P]",
                                           "order2 = rules.rotation[day_index % P]"),
    "DPC appointments not counted by type": ("today[rules.nursing] += nurse + dpc", "today[rules.nursing] += nurse"),
    "planned nursing to DPC staff before the nurses": ("w = fill(P + p, False, p, lo, w, nur)",
                                                        "w = fill(2 * P + p, False, P + p, lo, w, nur)"),
    "planned ARRS bookings shared out in tomorrow's order": ("rotation = rules.rotation[day_index % P]",
                                                              "rotation = rules.rotation[(day_index + 1) % P]"),
    "planned GP bookings in type order": ("t = rules.gp_order[o]\n                w = need[p, t]",
                                          "t = o\n                w = need[p, t]"),
    "planned requests left over forgotten": ("left[p, t] += need[p, t]", "left[p, t] += 0"),
}


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    """Fixed diaries (the strategy's examples, drawn once) on which the mutations are tried."""
    found: list[dict] = []

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(case=diaries())
    def collect(case):
        found.append(case)
    collect()
    return found


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_mutated_kernel_fails_the_agreement_check(mutation, cases):
    """The day-by-day check passes for the kernel's own statements run in Python and fails for each mutation:
    it would catch the compiled day parting from the reference."""
    source = inspect.getsource(daybook)
    old, new = MUTATIONS[mutation]
    assert source.count(old) == 1, f"the mutation no longer applies: {old!r}"
    faithful, mutant = _kernel_in_python(source), _kernel_in_python(source.replace(old, new))
    caught = 0
    for case in cases:
        agree(case, faithful)
        try:
            agree(case, mutant)
        except AssertionError:
            caught += 1
    assert caught, f"no diary tells the kernel with {mutation!r} from the reference"


def test_the_entry_point_serves_days_of_the_declared_types_only(cases):
    """`daybook.entry` (what `Practices` calls) gives the reference's numbers, and falls back to the
    dispatcher, which refuses them, for a day whose arrays are not of the types `serve` was compiled for."""
    def through_entry(rules, books, day):
        kernel = daybook.entry(rules, books, day)
        assert kernel is not daybook.serve
        return kernel(rules, books, day)
    for case in cases[:20]:
        agree(case, through_entry)
    rules, books = daybook.bundles(_diary(cases[0]))
    P, H = rules.P, books.free.shape[1]
    day = daybook.Day(np.zeros((P, NT)), np.zeros((P, NT), np.int64), np.zeros((H, P, NT), np.int64), np.zeros(1), 0,
                      0, 0, False, np.zeros(books.free.shape[0]), 0.0, 0.0, 0.0, np.zeros(H, np.int64), 1)
    assert daybook.entry(rules, books, day) is daybook.serve          # float urgent requests
    with pytest.raises(TypeError):
        daybook.serve(rules, books, day)


def test_the_bundles_are_typed_as_the_kernel_declares(small_scenario, monkeypatch):
    """A diary's bundles as numba types them match `serve`'s one signature (else each call would fail)."""
    import numba
    seen = {}
    monkeypatch.setenv("PCNSIM_ENGINE", "compiled")
    simulate(small_scenario, 0, observer=lambda ics: seen.setdefault("ics", ics))
    practices = seen["ics"].pcns[0].practices
    (signature,) = daybook.serve.signatures
    assert tuple(map(numba.typeof, daybook.bundles(practices.diary))) == signature[:2]


def test_the_tallies_layout_keys_the_kernel_s_cache():
    """numba's cache checks only daybook.py's timestamp; the tallies' layout (tallies.py) is in `serve`'s
    signature, which keys the cache, so a reordered field would compile the day again, not load a stale one."""
    import numba
    from pcnsim.model.tallies import WEEK_COUNTS
    (signature,) = daybook.serve.signatures
    assert numba.from_dtype(WEEK_COUNTS)[::1] in signature[1].types
    reordered = np.dtype([(name, np.float64) for name in reversed(WEEK_COUNTS.names)], align=True)
    assert numba.from_dtype(reordered) != numba.from_dtype(WEEK_COUNTS)


# --------------------------------------------------------------------------- whole runs
def test_the_engines_agree_on_the_baseline(monkeypatch, small_scenario):
    ref, fast = _both(small_scenario, monkeypatch)
    _assert_same(ref, fast)
    assert ref.metrics["appointments_per_year"] > 0


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


def test_every_engine_is_the_reference_where_numba_is_missing(monkeypatch):
    monkeypatch.setattr(engine, "numba_available", lambda: False)
    for name in engine.ENGINES:
        monkeypatch.setenv("PCNSIM_ENGINE", name)
        assert engine.engine() == "python"
    monkeypatch.setenv("PCNSIM_ENGINE", "turbo")           # a wrong name is still refused
    with pytest.raises(ScenarioError):
        engine.engine()


def test_without_numba_the_reference_runs_with_the_same_numbers(monkeypatch):
    """Where numba cannot be imported every engine is the list reference: a fresh interpreter that
    cannot import numba gives the compiled day's numbers."""
    overrides = {"run.horizon_weeks": 6, "run.warmup_weeks": 1}
    from pcnsim.scenario import load_scenario
    monkeypatch.setenv("PCNSIM_ENGINE", "compiled")
    compiled = simulate(load_scenario("baseline", overrides), 0).metrics
    code = ("import json, sys\nsys.modules['numba'] = None\nfrom pcnsim.model import simulate\n"
            "from pcnsim.model.engine import engine\nfrom pcnsim.scenario import load_scenario\n"
            f"r = simulate(load_scenario('baseline', {overrides!r}), 0)\n"
            "print(json.dumps({'engine': engine(), 'numba': 'numba.core' in sys.modules, 'metrics': r.metrics}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "PCNSIM_ENGINE": "compiled"})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["engine"] == "python" and not got["numba"]
    assert got["metrics"].keys() == compiled.keys()
    for k, a in compiled.items():
        b = got["metrics"][k]
        assert (math.isnan(a) and math.isnan(b)) or a == b, (k, a, b)


def test_pcnsim_run_says_when_numba_will_compile_the_day(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from pcnsim.cli import main
    args = ["run", "baseline", "--replications", "1", "--jobs", "1", "--no-report", "--set", "run.horizon_weeks=4",
            "--set", "run.warmup_weeks=1"]
    monkeypatch.setattr("pcnsim.cli.run_command._day_compiled", lambda: False)
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "numba compiles the model's day" in res.output
    monkeypatch.setattr("pcnsim.cli.run_command._day_compiled", lambda: True)
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert res.exit_code == 0 and "compiles" not in res.output


def test_the_compiled_day_is_found_in_numba_s_cache(monkeypatch, tmp_path):
    """This process has loaded (or compiled and cached) the day, so the CLI finds its index; an empty
    NUMBA_CACHE_DIR has none."""
    from pcnsim.cli.run_command import _day_compiled
    assert daybook.serve.signatures and _day_compiled()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not _day_compiled()


@pytest.mark.parametrize("linalg_first", [False, True])
def test_loading_the_day_leaves_scipy_linalg_alone(linalg_first):
    """Loading the compiled day does not import scipy.linalg (numba's BLAS check, 0.1 s of a run's start),
    scipy.linalg still imports and works afterwards, and the day's numbers are the same either way (a fresh
    interpreter with scipy.linalg loaded first, where numba's check finds BLAS)."""
    code = ("import json, sys\n" + ("import scipy.linalg\n" if linalg_first else "") +
            "import pcnsim.model.daybook\nloaded = 'scipy.linalg' in sys.modules\n"
            "from scipy import linalg\nsolved = float(linalg.solve([[2.0]], [4.0])[0])\n"
            "from pcnsim.model import simulate\nfrom pcnsim.scenario import load_scenario\n"
            "r = simulate(load_scenario('baseline', {'run.horizon_weeks': 6, 'run.warmup_weeks': 1}), 0)\n"
            "print(json.dumps({'loaded': loaded, 'solved': solved, 'metrics': r.metrics}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "PCNSIM_ENGINE": "compiled"})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["loaded"] is linalg_first and got["solved"] == 2.0
    from pcnsim.scenario import load_scenario
    here = simulate(load_scenario("baseline", {"run.horizon_weeks": 6, "run.warmup_weeks": 1}), 0).metrics
    assert got["metrics"].keys() == here.keys()
    assert all((math.isnan(a) and math.isnan(got["metrics"][k])) or a == got["metrics"][k] for k, a in here.items())
