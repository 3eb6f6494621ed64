"""The workshop page in Streamlit's own harness (AppTest): controls, Run, the answer, the cache."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pcnsim.app import PAGE

pytestmark = pytest.mark.integration

PROTECTED = "lever:clinical_director.extra_protected_sessions"


@pytest.fixture
def page_env(app_outputs, monkeypatch):
    """Tiny runs (20 weeks, 2 replications) into the outputs folder the app tests share (the
    starting scenario may come from another test's run: the cache at work)."""
    for name, value in (("OUTPUTS", str(app_outputs)), ("HORIZON_WEEKS", "20"), ("WARMUP_WEEKS", "2"),
                        ("REPLICATIONS", "2")):
        monkeypatch.setenv(f"PCNSIM_APP_{name}", value)
    return app_outputs


def _folders(outputs) -> set[str]:
    return {d.name for d in outputs.iterdir()}


def _run_button(at: AppTest):
    return next(b for b in at.button if b.label == "Run")


def _answer(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "95% CI" in m.value or "noise" in m.value)


def test_a_control_change_reruns_and_changes_the_answer(page_env):
    before = _folders(page_env)
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception and not at.error
    assert not _run_button(at).disabled
    start_cached = any(name.startswith("baseline-2") for name in before)   # from another test's run
    assert bool(_answer(at)) == start_cached        # inputs already run show their answer at once

    # a bad combination: the CLI's message on the page, Run disabled, nothing run
    at.radio(key="lever:ics.representation").set_value("forum")
    at.slider(key="lever:ics.forum_representatives").set_value(3).run()
    assert "cannot exceed the PCNs in the ICS" in at.error[0].value
    assert _run_button(at).disabled and _folders(page_env) == before
    at.radio(key="lever:ics.representation").set_value("all")
    at.slider(key="lever:ics.forum_representatives").set_value(2).run()
    assert not at.error

    _run_button(at).click().run()
    assert not at.exception and not at.error
    first = _answer(at)
    assert "appointments a year" in first
    after_start = _folders(page_env)
    assert len(after_start - before) <= 1          # the starting scenario: run, or found in the cache

    at.slider(key=PROTECTED).set_value(2.0).run()
    assert "controls have changed" in at.warning[0].value        # the shown results are the old inputs'
    assert _answer(at) == first
    _run_button(at).click().run()
    assert not at.exception and not at.error and not at.warning
    second = _answer(at)
    assert second != first and "distinguishable from noise" in second
    (new,) = _folders(page_env) - after_start                    # the starting scenario came from the cache
    assert new.startswith("baseline-what-if-")
    assert "what-if" in at.table[0].value.columns

    # a reload (a new session at the same address) shows the finished runs without running again
    again = AppTest.from_file(str(PAGE), default_timeout=120)
    for key, value in at.query_params.items():
        again.query_params[key] = value
    again.run()
    assert again.slider(key=PROTECTED).value == 2.0
    assert _answer(again) == second and _folders(page_env) == after_start | {new}
