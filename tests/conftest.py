"""Shared fixtures: a small scenario and a finished (synthetic) run folder.

Test helpers are imported as modules of the `tests` package (`from tests.fake_runs import
make_run_folder`); pytest puts the repository root on the import path, so no test edits
`sys.path`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pcnsim.config import Scenario
from tests.fake_runs import make_run_folder


#: The tiers (pyproject.toml's markers): every test carries one, so `-m unit` and `-m integration`
#: together select the whole suite; `slow` is on top of a tier.
TIERS = ("unit", "integration")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test module whose tests carry no tier marker (`pytestmark = pytest.mark.unit` or
    `integration` at its top, or one on each test): a new module would otherwise escape `-m`."""
    untiered = sorted({item.nodeid.split("::")[0] for item in items
                       if not any(item.get_closest_marker(tier) for tier in TIERS)})
    if untiered:
        raise pytest.UsageError(f"test module(s) without a tier marker: {', '.join(untiered)}. Add "
                                "`pytestmark = pytest.mark.unit` (one function or class) or "
                                "`pytest.mark.integration` (the model, the CLI or other processes) at the top.")


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """The England-baseline PCN on a short horizon (26 weeks, 4 of warm-up, 2 replications):
    well under a second a replication. Frozen, so one for the session."""
    return Scenario.model_validate({"name": "small", "run": {"horizon_weeks": 26, "warmup_weeks": 4,
                                                             "replications": 2, "seed": 7}})


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory) -> Path:
    """A finished synthetic run folder (tests/fake_runs.py): one point, five replications."""
    return make_run_folder(tmp_path_factory.mktemp("runs") / "fake-run")


@pytest.fixture(scope="session")
def fake_sweep_run(tmp_path_factory) -> Path:
    """A finished synthetic run folder of a grid sweep."""
    return make_run_folder(tmp_path_factory.mktemp("runs") / "fake-sweep", name="sweep-test", sweep="grid1")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a headless Chromium (Debian's `chromium`). Without one the browser tests skip,
    except where PCNSIM_REQUIRE_BROWSER=1 (set by .ci/run, which installs it): there they fail."""
    import os
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("PCNSIM_REQUIRE_BROWSER") == "1":
        pytest.fail("PCNSIM_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
    pytest.skip("no headless chromium installed: apt-get install chromium")


@pytest.fixture(scope="session")
def app_outputs(tmp_path_factory) -> Path:
    """The outputs folder the workshop-page tests share (tests/test_app_*.py): a run one test made
    is the next one's cache, as on a trainer's laptop."""
    return tmp_path_factory.mktemp("app-outputs")
