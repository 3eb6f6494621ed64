"""Synthetic run folders for the report and compare tests.

They have the files and columns of docs/interface.md "The run folder" (manifest.json,
scenario.yaml, results.parquet/.csv, summary.csv, weekly.parquet, sensitivity.csv)
with plausible England-baseline magnitudes, so the report can be built and tested
before the experiment runner lands. Not model output: the numbers are made up.
"""
from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from pcnsim.config import ARRS_ROLES, Scenario

ROLE_WTE = dict(zip(ARRS_ROLES, (4.6, 1.5, 1.2, 1.1, 1.0, 0.8, 1.0, 2.5, 1.0, 3.8)))

# metric -> (mean, sd across replications) for a baseline PCN
BASE_METRICS = {
    "requests_per_year": (265_500, 900),
    "appointments_per_year": (251_000, 1_100),
    "gp_appointments_per_year": (113_000, 800),
    "arrs_appointments_per_year": (61_000, 700),
    "unmet_per_year": (14_200, 500),
    "backlog_start": (2_950, 120),
    "backlog_end": (3_050, 130),
    "demand_met_share": (0.945, 0.004),
    "wait_days_mean": (4.3, 0.2),
    "wait_days_p90": (9.1, 0.3),
    "lost_appointments_per_year": (1_150, 150),
    "gp_supervision_hours_per_week": (19.5, 0.6),
    "cd_clinical_hours_per_week": (22.8, 0.5),
    "cd_leadership_hours_per_week": (8.4, 0.3),
    "cd_meeting_hours_per_week": (2.6, 0.2),
    "cd_displaced_clinical_hours_per_week": (2.2, 0.3),
    "cd_overtime_hours_per_week": (5.1, 0.6),
    "leadership_tasks_overdue_share": (0.21, 0.03),
    "meetings_attended_share": (0.78, 0.04),
    "representation_share": (0.78, 0.04),
    "cd_resignations_per_year": (0.24, 0.15),
    "cd_vacancy_share": (0.05, 0.04),
    "arrs_leavers_per_year": (3.1, 0.8),
    "arrs_vacancy_rate": (0.09, 0.02),
    "arrs_staff_wte": (18.5, 0.5),
    "arrs_budget_used_share": (0.91, 0.02),
    "spend_per_year": (1_420_000, 20_000),
    "cost_per_appointment": (5.66, 0.08),
}

# how a unit step of a swept key moves some metrics (relative), to give the plots a shape
EFFECTS = {
    "funding.cd_wte_per_50k": {"cd_overtime_hours_per_week": -6.0, "cd_resignations_per_year": -2.0,
                               "leadership_tasks_overdue_share": -1.5, "appointments_per_year": 0.01},
    "funding.arrs_per_patient": {"appointments_per_year": 0.004, "arrs_staff_wte": 0.04,
                                 "demand_met_share": 0.001, "wait_days_mean": -0.01},
    "ics.meeting_load": {"cd_overtime_hours_per_week": 0.4, "meetings_attended_share": -0.1,
                         "cd_resignations_per_year": 0.5, "wait_days_mean": 0.05},
}


def _weekly_frame(rng: np.random.Generator, point: int, replications: int, weeks: int,
                  shift: float) -> pd.DataFrame:
    rows = []
    w = np.arange(weeks)
    season = 1 + 0.08 * np.cos(2 * np.pi * (w - 4) / 52)
    ramp = 1 - np.exp(-(w + 1) / 6)  # from empty at week 0
    for rep in range(replications):
        req = 5_100 * season * rng.normal(1, 0.03, weeks)
        appts = np.minimum(req * 0.95, 4_900) * ramp + 3_000 * (1 - ramp) * 0.2
        unmet = np.maximum(req - appts, 0) * 0.25 * ramp
        backlog = 3_000 * ramp + np.cumsum(rng.normal(0, 40, weeks))
        series: dict[str, Any] = {
            "requests": req, "appointments": appts, "gp_appointments": appts * 0.45,
            "arrs_appointments": appts * 0.25, "unmet": unmet, "backlog": backlog,
            "wait_days_mean": 4 + rng.normal(0, 0.3, weeks), "gp_supervision_hours": 19 + rng.normal(0, 1, weeks),
            "cd_clinical_hours": 23 + rng.normal(0, 1.5, weeks),
            "cd_leadership_hours": 8 + rng.normal(0, 1, weeks),
            "cd_meeting_hours": np.abs(2.5 + rng.normal(0, 1.2, weeks)),
            "cd_overtime_hours": np.maximum(5 * (1 - shift) + rng.normal(0, 2, weeks), 0),
            "cd_displaced_clinical_hours": np.abs(rng.normal(2, 1, weeks)),
            "cd_slack_hours": np.abs(rng.normal(0.5, 0.3, weeks)),
            "cd_protected_hours": np.full(weeks, 8.44),
            "cd_strain": np.abs(rng.normal(3, 1, weeks)),
            "leadership_backlog_hours": np.abs(rng.normal(6, 2, weeks)),
        }
        in_post = np.ones(weeks)
        if rng.random() < 0.5:  # a resignation and a 12-week vacancy
            start = rng.integers(weeks // 3, weeks - 12)
            in_post[start:start + 12] = 0
        series["cd_in_post"] = in_post
        series["cd_resignations"] = np.r_[0, np.maximum(-np.diff(in_post), 0)]
        total = np.zeros(weeks)
        for role, wte in ROLE_WTE.items():
            v = np.clip(wte * ramp * 0 + wte + rng.normal(0, 0.15, weeks).cumsum() * 0.1, 0, None)
            series[f"arrs_in_post.{role}"] = v
            total += v
        series["arrs_in_post"] = total
        series["arrs_posts_funded"] = np.full(weeks, sum(ROLE_WTE.values()) * 1.08)
        series["arrs_vacancies"] = np.maximum(series["arrs_posts_funded"] - total, 0)
        series["arrs_leavers"] = rng.poisson(3.1 / 52, weeks).astype(float)
        for metric, values in series.items():
            rows.append(pd.DataFrame({"point": point, "replication": rep, "week": w,
                                      "metric": metric, "value": np.asarray(values, dtype=float)}))
    return pd.concat(rows, ignore_index=True)


def _sweep_points(sweep: Optional[str]) -> tuple[list[dict[str, Any]], Optional[dict]]:
    if sweep is None:
        return [{}], None
    if sweep == "grid1":
        values = [0.25, 0.5, 0.75, 1.0]
        return ([{"funding.cd_wte_per_50k": v} for v in values],
                {"grid": {"funding.cd_wte_per_50k": values}})
    if sweep == "grid2":
        a, b = [0.25, 0.5, 1.0], [0.0, 1.0, 2.0]
        return ([{"funding.cd_wte_per_50k": x, "ics.meeting_load": y} for x, y in itertools.product(a, b)],
                {"grid": {"funding.cd_wte_per_50k": a, "ics.meeting_load": b}})
    if sweep == "categorical":
        return ([{"ics.representation": v} for v in ("all", "forum")],
                {"grid": {"ics.representation": ["all", "forum"]}})
    if sweep == "national":   # a region of four ICSs, one point each (like scenarios/england.yaml)
        pts = [{"ics.name": f"NHS {n} ICB", "ics.pcns": k}
               for n, k in (("Northfield", 12), ("Eastmarsh", 7), ("Southdown", 20), ("Westvale", 5))]
        return pts, {"points": pts}
    if sweep == "england":    # the 42 ICSs of scenarios/england.yaml
        path = Path(__file__).resolve().parents[1] / "scenarios" / "england.yaml"
        pts = yaml.safe_load(path.read_text(encoding="utf-8"))["sweep"]["points"]
        return pts, {"points": pts}
    if sweep in ("lhs", "sobol"):
        ranges = {"funding.cd_wte_per_50k": [0.1, 1.0], "funding.arrs_per_patient": [10.0, 40.0],
                  "ics.meeting_load": [0.0, 2.0]}
        n = 8
        rng = np.random.default_rng(7)
        count = n * (2 * len(ranges) + 2) if sweep == "sobol" else n
        pts = [{k: float(rng.uniform(*r)) for k, r in ranges.items()} for _ in range(count)]
        return pts, {sweep: {"n": n, "ranges": ranges}}
    raise ValueError(sweep)


def make_run_folder(folder: Path, *, name: str = "baseline-test", sweep: Optional[str] = None,
                    replications: int = 5, weeks: int = 60, warmup: int = 8, seed: int = 20190701,
                    shift: float = 0.0, noise_seed: Optional[int] = None, weekly: bool = True,
                    weekly_points: int = 1, metrics: Optional[list[str]] = None,
                    description: str = "A synthetic England-baseline PCN for testing the report.",
                    manifest_extra: Optional[dict] = None) -> Path:
    """Write a realistic fake run folder and return its path.

    `shift` moves every metric by that relative amount (a second run "B"); runs with the
    same `seed` and `noise_seed` share their per-replication noise (common random numbers)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed if noise_seed is None else noise_seed)
    points, sweep_dict = _sweep_points(sweep)
    keys = list(points[0]) if sweep else []
    scenario = Scenario(name=name, description=description)
    sdict = scenario.model_dump(mode="json")
    sdict["run"].update({"horizon_weeks": weeks, "warmup_weeks": warmup,
                         "replications": replications, "seed": seed})
    sdict["sweep"] = sweep_dict
    wanted = metrics or list(BASE_METRICS)
    noise = {m: rng.normal(0, 1, replications) for m in BASE_METRICS}
    rows = []
    for p, values in enumerate(points):
        for m in wanted:
            mean, sd = BASE_METRICS[m]
            factor = 1 + shift
            for key, v in values.items():
                if isinstance(v, str):
                    factor *= 1.05 if v == "forum" and m.startswith("cd_") else 1.0
                    continue
                factor *= 1 + EFFECTS.get(key, {}).get(m, 0.0) * (v - 0.5 if "cd_wte" in key else
                                                                  (v - 22.89) if "arrs" in key else v - 1)
            vals = mean * factor + sd * noise[m]
            if m.endswith(("_share", "_rate")):
                vals = np.clip(vals, 0, 1)
            elif m != "shift":
                vals = np.maximum(vals, 0)
            for rep in range(replications):
                rows.append({"point": p, **values, "replication": rep, "metric": m, "value": float(vals[rep])})
    results = pd.DataFrame(rows)
    results.to_parquet(folder / "results.parquet", index=False)
    results.to_csv(folder / "results.csv", index=False)
    summ = []
    for (p, m), g in results.groupby(["point", "metric"], sort=False):
        v = g["value"].to_numpy()
        n = len(v)
        sd = float(v.std(ddof=1)) if n > 1 else math.nan
        half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)) if n > 1 else math.nan
        summ.append({"point": p, **points[p], "metric": m, "mean": float(v.mean()), "std": sd,
                     "ci_low": float(v.mean()) - half, "ci_high": float(v.mean()) + half, "n": n})
    pd.DataFrame(summ).to_csv(folder / "summary.csv", index=False)
    if weekly:
        frames = [_weekly_frame(np.random.default_rng(1000 + p), p, replications, weeks, shift)
                  for p in range(min(weekly_points, len(points)))]
        pd.concat(frames, ignore_index=True).to_parquet(folder / "weekly.parquet", index=False)
    if sweep == "sobol":
        params = list(sweep_dict["sobol"]["ranges"])
        srows = []
        for m in wanted:
            s1 = np.array([0.55, 0.25, 0.1])
            srows += [{"metric": m, "parameter": k, "S1": s1[i], "S1_conf": 0.05,
                       "ST": s1[i] + 0.06, "ST_conf": 0.04} for i, k in enumerate(params)]
        pd.DataFrame(srows).to_csv(folder / "sensitivity.csv", index=False)
    with open(folder / "scenario.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(sdict, fh, sort_keys=False)
    manifest = {
        "pcnsim_version": "0.1.0", "scenario": sdict, "swept_keys": keys,
        "replications": replications, "seed": seed,
        "replication_seeds": [[seed, r] for r in range(replications)],
        "started": "2025-01-06T09:00:00", "finished": "2025-01-06T09:01:30", "wall_seconds": 90.2,
        "platform": "Linux-6.1-x86_64", "python": "3.11.7", "git_commit": "0123abc",
        "command": ["pcnsim", "run", f"{name}.yaml"],
    }
    manifest.update(manifest_extra or {})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder
