"""`pcnsim verify`: the verification checks pass, and a broken check makes the command fail."""
from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from pcnsim import verify
from pcnsim.cli import main


@pytest.mark.integration
def test_verify_quick_passes():
    result = CliRunner().invoke(main, ["verify", "--quick"])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    for name in ("demand conserved", "CD hours conserved", "Little's law", "mean end-of-day backlog",
                 "no ARRS budget", "unlimited capacity", "same seed, same numbers", "ARRS spend <= budget"):
        assert name in result.output


@pytest.mark.integration
def test_a_broken_check_makes_verify_exit_1(monkeypatch):
    exact = verify.exact_queue

    def wrong(lam, c, patience_days=None):   # an analytic answer one day off
        out = dict(exact(lam, c, patience_days))
        out["mean_wait"] += 1.0
        return out

    monkeypatch.setattr(verify.checks, "exact_queue", wrong)   # the name the checks call
    result = CliRunner().invoke(main, ["verify", "--quick"])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "mean wait" in result.output


@pytest.mark.integration
def test_a_check_that_raises_is_a_failure(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(verify.checks, "_limit_checks", boom)
    checks = verify.run_checks(quick=True, only=lambda group: group == "limits")
    assert len(checks) == 1 and not checks[0].passed and "broken on purpose" in checks[0].note


@pytest.mark.unit
@pytest.mark.parametrize("lam", [0.3, 0.8, 0.95])
def test_exact_queue_reproduces_md1_for_one_server(lam):
    """c = 1: the end-of-day backlog is the M/D/1 queue (waiting) length, lam^2 / (2 (1 - lam)).

    And the day is idle (Q + A = 0) with probability 1 - lam, so P(Q = 0) = (1 - lam) e^lam."""
    out = verify.exact_queue(lam, 1)
    assert out["mean_backlog"] == pytest.approx(lam ** 2 / (2 * (1 - lam)), rel=1e-8)
    assert out["p_empty"] == pytest.approx((1 - lam) * math.exp(lam), rel=1e-8)


@pytest.mark.unit
@pytest.mark.parametrize("lam, c", [(4.0, 5), (4.5, 5), (45.0, 50), (1.0, 3)])
def test_exact_queue_obeys_littles_law(lam, c):
    out = verify.exact_queue(lam, c, patience_days=30)
    assert out["mean_backlog"] == pytest.approx(lam * out["mean_wait"], rel=1e-8)
    assert 0 < out["p_empty"] < 1 and out["tail_mass"] < 1e-12
    assert 0 <= out["p_wait_at_least_patience"] < 1e-6


@pytest.mark.unit
def test_exact_queue_refuses_an_unstable_queue():
    with pytest.raises(ValueError):
        verify.exact_queue(5.0, 5)


@pytest.mark.unit
def test_queue_scenario_has_the_capacity_asked_for():
    for c in (3, 5, 50):
        s = verify.queue_scenario(0.8 * c, c)
        assert verify.queue_capacity(s) == pytest.approx(c, abs=1e-9)
        assert s.funding.arrs_per_patient == 0 and s.nurses.wte_per_10k == 0
        assert s.clinical_director.clinical_sessions == 0 and not s.calendar.bank_holidays


@pytest.mark.unit
def test_check_relations():
    assert verify._check("x", 1.0, 1.05, 0.1, "").passed
    assert not verify._check("x", 1.0, 1.2, 0.1, "").passed
    assert verify._check("x", 1.0, 0.5, 0.0, "", relation="<=").passed
    assert not verify._check("x", 0.0, -1.0, 0.0, "", relation=">=").passed
    assert not verify._check("x", 0.0, math.nan, 1.0, "").passed
