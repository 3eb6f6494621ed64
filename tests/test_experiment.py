"""Experiments (pcnsim.experiment and `pcnsim run`): designs, executors, resume, failures.

Most tests use small fake models defined here (module-level, so worker processes and dask
workers can unpickle them): they draw their noise from the same SeedSequence scheme as the
real model, so their results depend only on (point, replication), as the model's do.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from pcnsim import experiment
from pcnsim.cli import main
from pcnsim.config import Scenario
from pcnsim.errors import RunFolderError, ScenarioError

ROOT = Path(__file__).resolve().parent.parent
FINAL_FILES = ("results.parquet", "results.csv", "summary.csv", "weekly.parquet")


# --------------------------------------------------------------------------- fake models
@dataclass
class FakeReplication:
    metrics: dict
    weekly: dict
    events: int
    pcns: int


def _rng(scenario: Scenario, replication: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=scenario.run.seed, spawn_key=(replication,)))


def fake_simulate(scenario: Scenario, replication: int) -> FakeReplication:
    """Noisy metrics that respond to the funding levers, and a backlog with a warm-up transient."""
    rng = _rng(scenario, replication)
    z = rng.normal(size=4)
    arrs, cd = scenario.funding.arrs_per_patient, scenario.funding.cd_wte_per_50k
    t = np.arange(scenario.run.horizon_weeks)
    weekly = {"backlog": 100 + 80 * np.exp(-t / 5.0) + rng.normal(0, 1, t.size),
              "appointments": 4000 + 40 * arrs + rng.normal(0, 50, t.size)}
    metrics = {"appointments_per_year": 200_000 + 2_000 * arrs + 1_000 * z[0],
               "demand_met_share": min(1.0, 0.8 + 0.004 * arrs + 0.01 * z[1]),
               "wait_days_mean": 3.0 - 0.02 * arrs + 0.1 * z[2],
               "cd_overtime_hours_per_week": max(0.0, 4.0 - 3.0 * cd + z[3])}
    return FakeReplication(metrics, weekly, events=1_000 + replication, pcns=scenario.ics.pcns)


def failing_simulate(scenario: Scenario, replication: int) -> FakeReplication:
    if scenario.funding.arrs_per_patient == 10.0 and replication == 1:
        raise ValueError("boom at arrs 10, replication 1")
    return fake_simulate(scenario, replication)


def interrupting_simulate(scenario: Scenario, replication: int) -> FakeReplication:
    if scenario.funding.arrs_per_patient == 10.0 and scenario.funding.cd_wte_per_50k == 0.25 and replication == 1:
        raise KeyboardInterrupt
    return fake_simulate(scenario, replication)


def ishigami_simulate(scenario: Scenario, replication: int) -> FakeReplication:
    """The Ishigami function (a=7, b=0.1) of three parameters shifted to [-pi, pi], plus a little noise."""
    x1 = scenario.funding.arrs_per_patient - math.pi
    x2 = scenario.ics.meeting_load - math.pi
    x3 = scenario.demand.appointments_per_patient_year - math.pi
    y = math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * math.sin(x1)
    return FakeReplication({"y": y + 0.01 * _rng(scenario, replication).normal()}, {}, 10, 1)


# --------------------------------------------------------------------------- helpers
def grid_scenario(**run) -> Scenario:
    return Scenario.model_validate({
        "name": "fake-grid",
        "run": {"horizon_weeks": 40, "warmup_weeks": 5, "replications": 3, "seed": 42, **run},
        "sweep": {"grid": {"funding.arrs_per_patient": (0.0, 10.0), "funding.cd_wte_per_50k": (0.25, 1.0)}},
    })


def same_files(a: Path, b: Path, names=FINAL_FILES) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> experiment.RunResult:
    """The uninterrupted in-process run every other executor and resume must reproduce."""
    out = tmp_path_factory.mktemp("ref") / "run"
    return experiment.run(grid_scenario(), jobs=1, out=out, quiet=True, simulate=fake_simulate)


# --------------------------------------------------------------------------- designs
@pytest.mark.unit
def test_no_sweep_is_one_point_without_swept_columns():
    keys, points, scenarios = experiment.plan_points(Scenario())
    assert keys == () and points == [{}] and scenarios[0].sweep is None


@pytest.mark.unit
def test_grid_is_every_combination_last_key_fastest():
    points = experiment.design_points(grid_scenario())
    assert points == [{"funding.arrs_per_patient": a, "funding.cd_wte_per_50k": c}
                      for a in (0.0, 10.0) for c in (0.25, 1.0)]


@pytest.mark.unit
def test_lhs_covers_its_ranges_one_point_per_stratum():
    n = 20
    s = Scenario.model_validate({"sweep": {"lhs": {"n": n, "ranges": {
        "funding.arrs_per_patient": (10.0, 30.0), "pcn.practices": (2.0, 41.0)}}}})
    points = experiment.design_points(s)
    assert len(points) == n
    arrs = np.array([p["funding.arrs_per_patient"] for p in points])
    assert arrs.min() >= 10 and arrs.max() <= 30
    assert sorted(np.floor((arrs - 10) / 20 * n).astype(int)) == list(range(n))  # one per stratum
    practices = [p["pcn.practices"] for p in points]
    assert all(isinstance(v, int) and 2 <= v <= 41 for v in practices)  # whole numbers rounded
    assert experiment.design_points(s) == points  # seeded: the same design every time


@pytest.mark.unit
def test_sobol_design_has_saltelli_size_and_covers_ranges():
    ranges = {"funding.arrs_per_patient": (0.0, 40.0), "ics.meeting_load": (0.0, 2.0),
              "clinical_director.extra_protected_sessions": (0.0, 2.0)}
    s = Scenario.model_validate({"sweep": {"sobol": {"n": 64, "ranges": ranges}}})
    points = experiment.design_points(s)
    assert len(points) == 64 * (3 + 2)
    for key, (lo, hi) in ranges.items():
        v = np.array([p[key] for p in points])
        assert v.min() >= lo and v.max() <= hi
        assert v.min() < lo + 0.05 * (hi - lo) and v.max() > hi - 0.05 * (hi - lo)


# --------------------------------------------------------------------------- executors
@pytest.mark.integration
def test_run_folder_contents(reference):
    folder = reference.folder
    for name in (*FINAL_FILES, "manifest.json", "scenario.yaml"):
        assert (folder / name).is_file(), name
    results = pd.read_parquet(folder / "results.parquet")
    assert list(results.columns) == ["point", "funding.arrs_per_patient", "funding.cd_wte_per_50k",
                                     "replication", "metric", "value"]
    assert len(results) == 4 * 3 * 4
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns) == ["point", "funding.arrs_per_patient", "funding.cd_wte_per_50k", "metric",
                                     "label", "unit", "kind", "mean", "std", "ci_low", "ci_high", "n", "p10", "p50",
                                     "p90", "ci_low_bounded", "ci_high_bounded", "ci_cut"]
    assert (summary["p10"] <= summary["p50"]).all() and (summary["p50"] <= summary["p90"]).all()
    assert (summary["n"] == 3).all()
    weekly = reference.weekly(metrics="backlog", point=0)
    assert list(weekly.columns) == ["point", "replication", "week", "metric", "value"]
    assert len(weekly) == 3 * 40 and set(weekly["week"]) == set(range(40))
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["seed"] == 42 and m["replications"] == 3
    assert m["simpy_events"]["total"] == 4 * (1000 + 1001 + 1002)
    assert m["pcns_simulated"] == 12 and m["failed_cells"] == []
    assert m["scenario"]["name"] == "fake-grid" and m["packages"]["simpy"]
    assert 10 <= m["warmup_suggestion"]["suggested_weeks"] <= 30  # backlog transient exp(-t/5)
    from pcnsim.scenario import load_scenario
    assert load_scenario(folder / "scenario.yaml") == grid_scenario()  # runnable as it is
    assert reference.exit_code == 0


@pytest.mark.integration
def test_two_worker_processes_give_identical_files(reference, tmp_path):
    result = experiment.run(grid_scenario(), jobs=2, out=tmp_path / "j2", quiet=True, simulate=fake_simulate)
    same_files(reference.folder, result.folder)
    assert result.manifest["executor"]["jobs"] == 2


@pytest.mark.integration
def test_the_default_jobs_and_chunked_workers_give_identical_files(reference, tmp_path, monkeypatch):
    """The default `--jobs` (here: one process, the work is small) and workers taking cells three
    at a time, the largest first, write the same files as one process."""
    auto = experiment.run(grid_scenario(), out=tmp_path / "auto", quiet=True, simulate=fake_simulate)
    same_files(reference.folder, auto.folder)
    assert auto.manifest["executor"] == {"kind": "in process", "jobs": 1}
    monkeypatch.setattr(experiment.executors, "chunk_size", lambda pcn_years, cells, jobs: 3)
    chunked = experiment.run(grid_scenario(), jobs=2, out=tmp_path / "chunked", quiet=True, simulate=fake_simulate)
    same_files(reference.folder, chunked.folder)
    assert chunked.manifest["executor"] == {"kind": "local processes", "jobs": 2, "chunk": 3}


@pytest.mark.integration
def test_the_model_gives_the_same_numbers_with_jobs_1_2_and_the_default(tmp_path):
    """The real model, cells of different sizes (an ICS of 1 and of 3 PCNs: with workers the
    largest go first): byte-identical results with --jobs 1, --jobs 2 and the default."""
    scenario = tmp_path / "jobs-same.yaml"
    scenario.write_text("name: jobs-same\nextends: baseline\n"
                        "run: {horizon_weeks: 6, warmup_weeks: 1, replications: 2, seed: 7}\n"
                        "sweep:\n  points:\n    - {ics.pcns: 1}\n    - {ics.pcns: 3}\n")
    runs = {jobs: experiment.run(scenario, jobs=jobs, out=tmp_path / f"jobs-{jobs}", quiet=True)
            for jobs in (1, 2, None)}
    for jobs in (2, None):
        same_files(runs[1].folder, runs[jobs].folder)
    assert runs[2].manifest["executor"]["jobs"] == min(2, experiment.executors.available_cores())
    assert runs[None].manifest["executor"]["jobs"] == 1     # 2 x (1 + 3) x 6/52 PCN-years: one process


@pytest.mark.unit
def test_the_default_jobs_uses_workers_only_when_they_pay():
    from pcnsim.experiment.executors import auto_jobs, chunk_size

    assert auto_jobs(30, 2, 10) == 1          # the baseline run: 10 replications x 3 years
    assert auto_jobs(128, 2, 64) == 1         # a 64-cell grid of 2-year cells
    assert auto_jobs(640, 2, 320) == 2        # a 640-PCN-year grid
    assert auto_jobs(1875, 2, 42) == 2        # England
    assert auto_jobs(1875, 1, 42) == 1 and auto_jobs(10_000, 8, 1) == 1   # one core; one cell
    assert auto_jobs(640, 8, 320) == 8
    # the threshold: the estimated saving is at least SAFETY_STARTUPS worker start-ups
    edge = [w for w in range(1, 1000) if auto_jobs(w, 2, 100) == 2][0]
    assert 150 <= edge <= 400 and all(auto_jobs(w, 2, 100) == 2 for w in range(edge, 1000, 7))
    for pcn_years, cells, jobs in ((640, 320, 2), (1875, 42, 2), (4, 4000, 2), (10_000, 10, 8)):
        chunk = chunk_size(pcn_years, cells, jobs)
        assert 1 <= chunk and cells / chunk >= min(cells, 4 * jobs)
    assert chunk_size(1875, 42, 2) == 1       # England's cells are big: one at a time
    assert chunk_size(640, 320, 2) > 1        # small cells go in chunks


@pytest.mark.unit
def test_chunks_shrink_as_the_run_ends():
    """Guided chunks: a pool told how many cells are coming sends `chunk` at a time, then fewer, at most a
    quarter (two workers) of those still to come, down to single cells at the end; every cell once, in order."""
    import concurrent.futures as cf

    from pcnsim.experiment.executors import LocalPool

    class Recorder:
        def __init__(self):
            self.chunks = []

        def submit(self, fn, chunk):
            self.chunks.append([p[1] for p in chunk])
            return cf.Future()

    rec = Recorder()
    pool = LocalPool(2, chunk=12, processes=rec)
    pool.expect(320)
    for i in range(320):
        pool.submit((0, i, None, None))
    pool._dispatch()
    sizes = [len(c) for c in rec.chunks]
    assert [i for c in rec.chunks for i in c] == list(range(320))
    assert max(sizes) == 12 and sizes == sorted(sizes, reverse=True) and sizes[-3:] == [1, 1, 1]
    left = 320
    for n in sizes:
        assert n <= max(1, -(-left // 4))
        left -= n
    plain = LocalPool(2, chunk=12, processes=Recorder())   # not told: equal chunks, the rest in one
    for i in range(30):
        plain.submit((0, i, None, None))
    plain._dispatch()
    assert [len(c) for c in plain.pool.chunks] == [12, 12, 6]


@pytest.mark.integration
@pytest.mark.slow
def test_dask_cluster_gives_identical_files(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = experiment.run(grid_scenario(), scheduler=cluster.scheduler_address, out=tmp_path / "dask",
                                quiet=True, simulate=fake_simulate)
    same_files(reference.folder, result.folder)
    assert result.manifest["executor"]["kind"] == "dask.distributed"


# --------------------------------------------------------------------------- resume
@pytest.mark.integration
def test_interrupt_then_resume_equals_an_uninterrupted_run(reference, tmp_path, caplog):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        experiment.run(grid_scenario(), jobs=1, out=out, quiet=True, simulate=interrupting_simulate)
    kept = sorted(p.name for p in (out / "cells").glob("*.parquet"))
    assert kept == ["p00000-r0000.parquet", "p00000-r0001.parquet", "p00000-r0002.parquet",
                    "p00001-r0000.parquet", "p00001-r0001.parquet", "p00001-r0002.parquet",
                    "p00002-r0000.parquet"]
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert "--resume" in caplog.text  # a warning on the `pcnsim.experiment` logger; the library prints nothing
    assert not (out / "results.parquet").exists()
    result = experiment.run(grid_scenario(), jobs=2, out=out, resume=True, quiet=True, simulate=fake_simulate)
    same_files(reference.folder, result.folder)
    assert result.manifest["sessions"][-1]["cells_done_before"] == 7
    assert result.manifest["status"] == "complete"


@pytest.mark.integration
def test_resume_redoes_only_missing_cells(reference, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(reference.folder, out)
    for name in ("p00001-r0002", "p00003-r0000"):
        (out / "cells" / f"{name}.parquet").unlink()
    (out / "weekly.parquet").unlink()
    (out / "cells" / ".p00003-r0001.parquet.tmp-999").write_bytes(b"half a file")  # a SIGKILL leftover
    result = experiment.run(grid_scenario(), jobs=1, out=out, resume=True, quiet=True, simulate=fake_simulate)
    same_files(reference.folder, out)
    assert result.manifest["sessions"][-1]["cells_done_before"] == 10
    assert not list((out / "cells").glob(".*tmp*"))


@pytest.mark.integration
def test_resume_refuses_a_changed_scenario(reference, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(reference.folder, out)
    before = sorted(p.name for p in out.rglob("*"))
    with pytest.raises(ScenarioError, match="run.seed"):
        experiment.run(grid_scenario(), seed=43, jobs=1, out=out, resume=True, quiet=True, simulate=fake_simulate)
    assert sorted(p.name for p in out.rglob("*")) == before
    with pytest.raises(RunFolderError):
        experiment.run(grid_scenario(), jobs=1, out=tmp_path / "nothing", resume=True, simulate=fake_simulate)


# --------------------------------------------------------------------------- failures and refusals
@pytest.mark.integration
def test_a_failing_cell_is_recorded_and_the_rest_go_on(tmp_path):
    result = experiment.run(grid_scenario(), jobs=1, out=tmp_path / "run", quiet=True, simulate=failing_simulate)
    assert result.exit_code == 1
    assert [(f["point"], f["replication"], f["type"]) for f in result.failed] == [(2, 1, "ValueError"),
                                                                                 (3, 1, "ValueError")]
    assert "boom" in result.failed[0]["message"] and "Traceback" in result.failed[0]["traceback"]
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and len(manifest["failed_cells"]) == 2
    n = result.summary.set_index("point")["n"]
    assert (n.loc[[0, 1]] == 3).all() and (n.loc[[2, 3]] == 2).all()


def _write_fake_grid(path: Path) -> Path:
    path.write_text("extends: baseline\nname: fake-grid\nrun: {horizon_weeks: 40, warmup_weeks: 5, "
                    "replications: 3, seed: 42}\nsweep:\n  grid:\n    funding.arrs_per_patient: [0.0, 10.0]\n"
                    "    funding.cd_wte_per_50k: [0.25, 1.0]\n")
    return path


@pytest.mark.integration
def test_cli_exit_status_1_when_a_cell_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(experiment.cells, "_default_simulate", failing_simulate)
    file = _write_fake_grid(tmp_path / "grid.yaml")
    res = CliRunner().invoke(main, ["run", str(file), "--jobs", "1", "--quiet", "--no-report",
                                    "--out", str(tmp_path / "run")])
    assert res.exit_code == 1, res.output
    assert "2 cell(s) failed" in res.output and "Run folder:" in res.output


@pytest.mark.integration
def test_cli_refuses_a_non_empty_out_folder_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(experiment.cells, "_default_simulate", fake_simulate)
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    file = _write_fake_grid(tmp_path / "grid.yaml")
    res = CliRunner().invoke(main, ["run", str(file), "--jobs", "1", "--quiet", "--out", str(out)])
    assert res.exit_code == 2
    assert "not empty" in res.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.integration
def test_cli_resume_without_file_and_refusal_of_a_changed_one(tmp_path, monkeypatch):
    monkeypatch.setattr(experiment.cells, "_default_simulate", fake_simulate)
    file = _write_fake_grid(tmp_path / "grid.yaml")
    out = tmp_path / "run"
    args = ["--jobs", "1", "--quiet", "--no-report", "--out", str(out)]
    assert CliRunner().invoke(main, ["run", str(file), *args]).exit_code == 0
    (out / "cells" / "p00000-r0000.parquet").unlink()
    res = CliRunner().invoke(main, ["run", "--resume", *args])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["run", str(file), "--resume", "--set", "funding.manager_wte=2", *args])
    assert res.exit_code == 2 and "funding.manager_wte" in res.output


# --------------------------------------------------------------------------- target half-width, Sobol
@pytest.mark.integration
def test_target_halfwidth_adds_replications(tmp_path):
    s = grid_scenario(replications=2)
    result = experiment.run(s, jobs=1, out=tmp_path / "run", quiet=True, simulate=fake_simulate,
                            target_halfwidth={"appointments_per_year": 0.003}, max_replications=12)
    reps = result.manifest["replications"]
    assert 2 < reps <= 12
    rows = result.summary[result.summary["metric"] == "appointments_per_year"]
    assert (rows["n"] == reps).all()
    met = ((rows["ci_high"] - rows["ci_low"]) / 2 / rows["mean"].abs() <= 0.003).all()
    assert met or reps == 12


@pytest.mark.integration
@pytest.mark.slow
def test_sobol_sweep_recovers_ishigami_and_writes_sensitivity(tmp_path):
    ranges = {k: (0.0, 2 * math.pi) for k in
              ("funding.arrs_per_patient", "ics.meeting_load", "demand.appointments_per_patient_year")}
    s = Scenario.model_validate({"name": "ishigami", "run": {"horizon_weeks": 10, "warmup_weeks": 1,
                                                              "replications": 1, "seed": 3},
                                 "sweep": {"sobol": {"n": 256, "ranges": ranges}}})
    result = experiment.run(s, jobs=1, out=tmp_path / "run", quiet=True, simulate=ishigami_simulate)
    table = pd.read_csv(result.folder / "sensitivity.csv")
    assert list(table.columns)[:6] == ["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert list(table["parameter"]) == list(ranges)
    assert table["S1"].to_numpy() == pytest.approx((0.314, 0.442, 0.0), abs=0.08)
    assert table["ST"].to_numpy() == pytest.approx((0.558, 0.442, 0.244), abs=0.08)
    assert table["noise_share"].isna().all()  # one replication: the noise cannot be estimated


# --------------------------------------------------------------------------- the real model
@pytest.mark.integration
def test_cli_runs_the_baseline_end_to_end(tmp_path):
    out = tmp_path / "baseline"
    proc = subprocess.run([sys.executable, "-m", "pcnsim", "run", "baseline", "--replications", "2", "--quiet",
                           "--jobs", "1", "--no-report", "--suggest-warmup", "--set", "run.horizon_weeks=30",
                           "--set", "run.warmup_weeks=5", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"Run folder: {out}" in proc.stdout and "Appointments delivered (appointments a year)" in proc.stdout
    assert "Warm-up (MSER-5" in proc.stdout
    summary = pd.read_csv(out / "summary.csv")
    assert {"appointments_per_year", "demand_met_share"} <= set(summary["metric"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(events > 0 for _, _, events in manifest["simpy_events"]["per_cell"])


@pytest.mark.integration
def test_default_folder_is_named_and_never_overwritten(tmp_path):
    s = grid_scenario(replications=1).model_copy(update={"sweep": None})
    a = experiment.run(s, jobs=1, quiet=True, simulate=fake_simulate, outputs_dir=tmp_path)
    b = experiment.run(s, jobs=1, quiet=True, simulate=fake_simulate, outputs_dir=tmp_path)
    assert a.folder != b.folder
    assert a.folder.parent == tmp_path and a.folder.name.startswith("fake-grid-")
    assert list(a.results.columns) == ["point", "replication", "metric", "value"]


@pytest.mark.integration
def test_resume_refuses_a_run_started_by_other_model_code(reference, tmp_path):
    """Cells computed by two versions of the model must never be mixed in one run."""
    folder = tmp_path / "run"
    shutil.copytree(reference.folder, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model_fingerprint"] == experiment.model_fingerprint()
    assert manifest["seeds"]["processes"] and "sha256" in manifest["seeds"]["scheme"]
    manifest["model_fingerprint"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(p.name for p in folder.rglob("*"))
    with pytest.raises(RunFolderError, match="different version of pcnsim's model"):
        experiment.run(grid_scenario(), jobs=1, out=folder, resume=True, quiet=True, simulate=fake_simulate)
    assert sorted(p.name for p in folder.rglob("*")) == before



@pytest.mark.unit
def test_model_fingerprint_covers_every_module_of_the_model_config_and_scenario_packages(tmp_path, monkeypatch):
    """An edit to any module of pcnsim/model/, pcnsim/config/ or pcnsim/scenario/ changes the
    fingerprint (a resume then refuses to mix cells); an edit elsewhere (the CLI) does not."""
    from pcnsim.experiment import manifest as manifest_module

    root = tmp_path / "pcnsim"
    shutil.copytree(ROOT / "pcnsim", root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(manifest_module, "_PACKAGE_ROOT", root)
    before = manifest_module.model_fingerprint()
    assert before == experiment.model_fingerprint()
    for module in ("config/leadership.py", "config/base.py", "scenario/keys.py", "model/pcn.py"):
        path = root / module
        text = path.read_text(encoding="utf-8")
        path.write_text(text + "\n# edited\n", encoding="utf-8")
        assert manifest_module.model_fingerprint() != before, module
        path.write_text(text, encoding="utf-8")
    assert manifest_module.model_fingerprint() == before
    cli = root / "cli" / "__init__.py"
    cli.write_text(cli.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert manifest_module.model_fingerprint() == before


@pytest.mark.unit
def test_the_manifest_records_the_git_commit_and_whether_the_tree_is_dirty(tmp_path, monkeypatch):
    """`git_commit` asks git both questions at once: the commit, then dirty after an edit; None
    outside a repository, and None when git cannot be run."""
    import subprocess

    from pcnsim.experiment import manifest as manifest_module

    repo = tmp_path / "repo"
    (repo / "pcnsim").mkdir(parents=True)
    (repo / "pcnsim" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(manifest_module, "_PACKAGE_ROOT", repo / "pcnsim")
    assert manifest_module.git_commit() == {"git_commit": None, "git_dirty": None}   # no .git
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert manifest_module.git_commit() == {"git_commit": head, "git_dirty": False}
    (repo / "pcnsim" / "a.py").write_text("x = 2\n")
    assert manifest_module.git_commit() == {"git_commit": head, "git_dirty": True}
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))   # no git to run
    assert manifest_module.git_commit() == {"git_commit": None, "git_dirty": None}


@pytest.mark.unit
def test_the_manifest_records_each_package_version_as_importlib_metadata_reads_it(monkeypatch):
    """`versions`: the installed packages' versions as importlib.metadata reads them, None for an absent one."""
    import importlib.metadata as md

    from pcnsim.experiment import manifest as manifest_module

    monkeypatch.setattr(manifest_module, "_PACKAGES", (*manifest_module._PACKAGES, "no-such-package-pcnsim"))
    got = manifest_module.versions()
    for name in manifest_module._PACKAGES[:-1]:
        try:
            assert got[name] == md.version(name), name
        except md.PackageNotFoundError:
            assert got[name] is None, name
    assert got["numpy"] and got["no-such-package-pcnsim"] is None

@pytest.mark.integration
def test_summary_gives_rare_counts_an_exact_poisson_interval(tmp_path, small_scenario):
    """CD resignations are rare: summary.csv carries the exact Poisson interval of the total count
    over the PCN-years measured, which has a positive upper end even when no CD resigned."""
    from pcnsim.analysis import poisson_interval

    run = experiment.run(small_scenario, jobs=1, quiet=True, out=tmp_path / "run")
    row = run.summary.set_index("metric").loc["cd_resignations_per_year"]
    values = run.results[run.results["metric"] == "cd_resignations_per_year"]["value"]
    years = (small_scenario.run.horizon_weeks - small_scenario.run.warmup_weeks) / 52
    count = float(values.sum() * years)
    low, high = poisson_interval(count, years * len(values))
    assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)
    assert row["ci_high"] > 0 and row["ci_low"] >= 0


@pytest.mark.integration
def test_a_cell_of_an_ics_carries_the_ics_not_its_pcns(small_scenario):
    """A national run partitions by ICS: one cell (a task on a dask worker) simulates a whole ICS
    and sends back its per-PCN means, the same size for 1 PCN as for 4, never one record a PCN."""
    from pcnsim.experiment.cells import run_cell
    from pcnsim.verify import scenario

    one = run_cell((0, 0, small_scenario, None))
    four = run_cell((0, 0, scenario(small_scenario, {"ics.pcns": 4, "ics.name": "NHS Devon ICB"}), None))
    assert one.error is None and four.error is None
    assert four.pcns == 4
    assert set(four.metrics) == set(one.metrics)
    assert {k: v.shape for k, v in four.weekly.items()} == {k: v.shape for k, v in one.weekly.items()}
    assert four.metrics["appointments_per_year"] != one.metrics["appointments_per_year"]
