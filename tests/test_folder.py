"""The run folder: one reader (`load_run`) for what `run` returns, one atomic writer, progress events."""
from __future__ import annotations

import errno

import numpy as np
import pytest

import pcnsim
from pcnsim import metrics
from pcnsim.experiment import Progress, RunData, RunResult, load_run
from pcnsim.experiment.folder import WriteFailed, order_metrics, write_text_atomic

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def small_run(small_scenario, tmp_path_factory):
    events: list[Progress] = []
    result = pcnsim.run(small_scenario, jobs=1, out=tmp_path_factory.mktemp("run") / "small", progress=events.append)
    return result, events


def test_run_and_load_run_return_the_same_class_and_data(small_run):
    result, _ = small_run
    loaded = load_run(result.folder)
    assert RunResult is RunData and type(result) is RunData and type(loaded) is RunData
    for attr in ("swept", "swept_keys", "failed", "exit_code", "warmup", "name", "replications", "points"):
        assert getattr(loaded, attr) == getattr(result, attr), attr
    assert result.exit_code == 0 and result.swept == () and result.warmup["suggested_weeks"] >= 0
    assert loaded.summary["mean"].to_numpy() == pytest.approx(result.summary["mean"].to_numpy(), rel=1e-15)
    assert np.array_equal(loaded.results["value"].to_numpy(), result.results["value"].to_numpy())


def test_weekly_filters_by_point_metric_and_replication(small_run):
    result, _ = small_run
    backlog = result.weekly(metrics="backlog", point=0)
    assert set(backlog["metric"]) == {"backlog"} and set(backlog["replication"]) == {0, 1}
    assert len(backlog) == 2 * 26
    assert set(result.weekly(0, replication=1)["replication"]) == {1}


def test_progress_events_and_nothing_printed(small_run, capsys):
    _, events = small_run
    assert events[0] == Progress("small", 0, 2) and events[-1].closed
    assert [e.done for e in events if not e.closed] == [0, 1, 2]
    assert capsys.readouterr() == ("", "")


def test_a_synthetic_run_folder_reads_tolerantly(fake_run):
    run = load_run(fake_run)
    assert run.name == "baseline-test" and run.points == [0] and run.failed == []
    assert run.weekly(run.first_point) is not None
    assert list(run.point_summary().index) == order_metrics(run.summary["metric"])


def test_order_metrics_is_the_catalogue_order():
    names = ["zzz_unknown", "wait_days_mean", "requests_per_year.msk", "appointments_per_year", "requests_per_year",
             "wait_days_mean"]
    assert order_metrics(names) == metrics.order(dict.fromkeys(names)) == [
        "requests_per_year", "requests_per_year.msk", "appointments_per_year", "wait_days_mean", "zzz_unknown"]


def test_the_atomic_writer_leaves_a_whole_file_or_none(tmp_path):
    target = tmp_path / "report.html"
    write_text_atomic(target, "<p>whole</p>")
    assert target.read_text() == "<p>whole</p>" and [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(WriteFailed) as failed:
        write_text_atomic(tmp_path / "missing" / "x.txt", "text")
    assert isinstance(failed.value, OSError) and failed.value.errno == errno.ENOENT
    assert failed.value.path == tmp_path / "missing" / "x.txt"


def test_point_values_are_each_points_first_summary_row(tmp_path):
    """point_values finds every point's row once (reports ask per point) and gives what a
    lookup of that point's first summary row gives; a new summary is looked up afresh."""
    from tests.fake_runs import make_run_folder

    run = load_run(make_run_folder(tmp_path / "grid", sweep="grid2", replications=2, weeks=20, warmup=4,
                                   weekly=False))
    assert len(run.points) > 1 and run.swept_keys
    for p in run.points:
        rows = run.summary[run.summary["point"] == p]
        assert run.point_values(p) == {k: rows.iloc[0][k] for k in run.swept_keys}
    assert run.point_values(max(run.points) + 1) == {}
    first = run.points[0]
    changed = run.summary.copy()
    changed.loc[changed["point"] == first, run.swept_keys[0]] = 123.5
    run.summary = changed
    assert run.point_values(first)[run.swept_keys[0]] == 123.5
