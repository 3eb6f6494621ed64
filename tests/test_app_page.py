"""The workshop page in Streamlit's own harness (AppTest): controls, Run, the answer, the cache."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pcnsim.app import PAGE

pytestmark = pytest.mark.integration

PROTECTED = "lever:clinical_director.extra_protected_sessions"


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    """Tiny runs (20 weeks, 2 replications) into a temporary outputs folder."""
    for name, value in (("OUTPUTS", str(tmp_path)), ("HORIZON_WEEKS", "20"), ("WARMUP_WEEKS", "2"),
                        ("REPLICATIONS", "2")):
        monkeypatch.setenv(f"PCNSIM_APP_{name}", value)
    return tmp_path


def _run_button(at: AppTest):
    return next(b for b in at.button if b.label == "Run")


def _answer(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "95% CI" in m.value or "noise" in m.value)


def test_a_control_change_reruns_and_changes_the_answer(page_env):
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception and not at.error
    assert not _run_button(at).disabled and _answer(at) == ""

    # a bad combination: the CLI's message on the page, Run disabled, nothing run
    at.radio(key="lever:ics.representation").set_value("forum")
    at.slider(key="lever:ics.forum_representatives").set_value(3).run()
    assert "cannot exceed the PCNs in the ICS" in at.error[0].value
    assert _run_button(at).disabled and not any(page_env.iterdir())
    at.radio(key="lever:ics.representation").set_value("all")
    at.slider(key="lever:ics.forum_representatives").set_value(2).run()
    assert not at.error

    _run_button(at).click().run()
    assert not at.exception and not at.error
    first = _answer(at)
    assert "appointments a year" in first
    assert len(list(page_env.iterdir())) == 1

    at.slider(key=PROTECTED).set_value(2.0).run()
    assert "controls have changed" in at.warning[0].value        # the shown results are the old inputs'
    assert _answer(at) == first
    _run_button(at).click().run()
    assert not at.exception and not at.error and not at.warning
    second = _answer(at)
    assert second != first and "distinguishable from noise" in second
    assert len(list(page_env.iterdir())) == 2                    # the starting scenario came from the cache
    assert "what-if" in at.table[0].value.columns

    # a reload (a new session at the same address) shows the finished runs without running again
    again = AppTest.from_file(str(PAGE), default_timeout=120)
    for key, value in at.query_params.items():
        again.query_params[key] = value
    again.run()
    assert again.slider(key=PROTECTED).value == 2.0
    assert _answer(again) == second and len(list(page_env.iterdir())) == 2
