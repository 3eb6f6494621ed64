"""The workshop page's logic (pcnsim/app/logic.py), without a browser: controls -> scenario -> run."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from click.testing import CliRunner

from pcnsim.app import logic
from pcnsim.cli import main
from pcnsim.errors import ScenarioError
from pcnsim.scenario import load_scenario


@pytest.mark.unit
def test_a_bad_combination_gives_the_clis_message():
    base = load_scenario("baseline")
    bad = {**logic.lever_values(base), "ics.representation": "forum", "ics.forum_representatives": 3}
    with pytest.raises(ScenarioError) as page_err:
        logic.what_if(base, bad)
    cli = CliRunner().invoke(main, ["validate", "baseline", "--set", "ics.representation=forum",
                                    "--set", "ics.forum_representatives=3"])
    assert cli.exit_code == 2
    reason = str(page_err.value).split(": ", 1)[1]          # after "the controls: "
    assert "cannot exceed the PCNs in the ICS" in reason
    assert reason in cli.output


@pytest.mark.unit
def test_what_if_applies_only_changed_controls_and_is_named_apart():
    base = load_scenario("workshop/03-protected-time")
    values = logic.lever_values(base)
    assert logic.what_if(base, values) is base and logic.changes(base, values) == {}
    values["funding.arrs_per_patient"] = 11.5
    values["clinical_director.extra_protected_sessions"] = 2.0   # unchanged (float vs the file's int)
    what = logic.what_if(base, values)
    assert logic.changes(base, values) == {"funding.arrs_per_patient": (22.89, 11.5)}
    assert what.funding.arrs_per_patient == 11.5 and what.clinical_director.extra_protected_sessions == 2
    assert what.name == "workshop-protected-time-what-if"
    assert what.run.seed == base.run.seed           # shared seed: the comparison is paired


@pytest.mark.unit
def test_starting_points_cover_workshop_steps_and_sweep_points_but_not_random_designs():
    labels = [s.label for s in logic.starting_points()]
    assert "baseline" in labels and "workshop/01-baseline" in labels
    assert "workshop/05-forum: ics.representation = forum" in labels
    assert not any(label.startswith(("sensitivity", "england")) for label in labels)
    for start in logic.starting_points(["protected-time"]):
        assert start.scenario.sweep is None


@pytest.mark.unit
def test_precision_is_set_from_the_environment_and_shrinks_for_an_ics():
    quick = logic.precisions({"PCNSIM_APP_HORIZON_WEEKS": "30", "PCNSIM_APP_WARMUP_WEEKS": "4",
                              "PCNSIM_APP_REPLICATIONS": "3"})["quick"]
    assert (quick.horizon_weeks, quick.warmup_weeks, quick.replications, quick.jobs) == (30, 4, 3, 1)
    default = logic.precisions({})
    assert default["precise"].replications > default["quick"].replications
    one = load_scenario("baseline")
    ics = load_scenario("baseline", ["ics.pcns=5"])
    assert default["quick"].replications_for(ics) < default["quick"].replications_for(one)
    sized = logic.sized(one, quick)
    assert (sized.run.horizon_weeks, sized.run.warmup_weeks, sized.run.replications) == (30, 4, 3)
    assert "3 replications of 30 weeks" in quick.describe(one)


@pytest.mark.integration
def test_a_cancelled_run_is_kept_resumed_then_served_from_the_cache(tmp_path, small_scenario):
    quick = logic.precisions({})["quick"]

    def stop_after_first(done, total):
        if done >= 1:
            raise RuntimeError("a control changed")

    with pytest.raises(logic.Cancelled):
        logic.run_scenario(small_scenario, tmp_path, quick, stop_after_first)
    (folder,) = tmp_path.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["command"] == logic.COMMAND
    assert logic.find_run(small_scenario, tmp_path) is None

    resumed, cached = logic.run_scenario(small_scenario, tmp_path, quick)
    assert not cached and resumed.folder == folder and len(list(tmp_path.iterdir())) == 1
    assert (folder / "report.html").exists() and (folder / "figures" / "cd_hours.png").exists()
    again, cached = logic.run_scenario(small_scenario, tmp_path, quick)
    assert cached and again.folder == folder
    other = small_scenario.model_copy(update={"run": small_scenario.run.model_copy(update={"seed": 8})})
    assert logic.find_run(other, tmp_path) is None

    sentences = logic.answer(again, None, "x")
    assert any("appointments a year" in s for s in sentences)
    with zipfile.ZipFile(io.BytesIO(logic.zip_folder(folder))) as archive:
        assert f"{folder.name}/manifest.json" in archive.namelist()
        assert f"{folder.name}/report.html" in archive.namelist()


@pytest.mark.unit
def test_pcnsim_app_refuses_a_port_in_use_and_a_bad_quick_run():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["app", "--port", str(port)])
    assert result.exit_code == 2 and f"cannot listen on port {port}" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["app", "--horizon-weeks", "10", "--warmup-weeks", "10"])
    assert result.exit_code == 2 and "--warmup-weeks 10 must be less than" in result.output


@pytest.mark.integration
def test_the_warm_pool_serves_every_run_of_a_session_with_the_same_numbers(tmp_path, small_scenario):
    """The session's worker processes start once and run each what-if (the same processes, the
    same numbers as in one process); the report is drawn only when asked for (after the answer)."""
    from pcnsim.experiment.executors import LocalPool

    quick = logic.precisions({})["quick"]
    alone, _ = logic.run_scenario(small_scenario, tmp_path / "alone", quick)
    pool = LocalPool(2, shared=True)
    try:
        warm, cached = logic.run_scenario(small_scenario, tmp_path / "warm", quick, pool=pool, report=False)
        assert not cached and not (warm.folder / "report.html").exists()
        assert warm.manifest["executor"]["kind"] == "local processes"
        workers = sorted(p.pid for p in pool.pool._processes.values())
        other = small_scenario.model_copy(update={"name": "small-what-if",
                                                  "pcn": small_scenario.pcn.model_copy(update={"practices": 4})})
        logic.run_scenario(other, tmp_path / "warm", quick, pool=pool, report=False)
        assert sorted(p.pid for p in pool.pool._processes.values()) == workers and pool.alive
        for name in ("results.parquet", "summary.csv", "weekly.parquet"):
            assert (alone.folder / name).read_bytes() == (warm.folder / name).read_bytes(), name
        assert logic.loaded(warm.folder) is logic.loaded(warm.folder)    # read once, kept
        logic.ensure_report(warm.folder)
        assert (warm.folder / "report.html").exists() and (warm.folder / "figures" / "cd_hours.png").exists()
    finally:
        pool.shutdown()


@pytest.mark.unit
def test_focus_metrics_are_the_scenarios_own_else_the_headline():
    from types import SimpleNamespace

    from pcnsim import metrics

    baseline = load_scenario("baseline")
    assert logic.focus_metrics(baseline) == list(baseline.report.focus)
    assert logic.focus_metrics(SimpleNamespace(report=None)) == list(metrics.HEADLINE)
    declared = SimpleNamespace(report=SimpleNamespace(focus=("cd_overtime_hours_per_week", "no_such_metric")))
    assert logic.focus_metrics(declared) == ["cd_overtime_hours_per_week"]
