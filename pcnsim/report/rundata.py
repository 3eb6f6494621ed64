"""Reading a run folder (INTERFACE.md "A run folder") into a `RunData`, tolerantly.

The report, compare and national figures read runs through `load_run` and write their
files with `write_text_atomic`. This is the run-folder reader the report has always used,
kept as it is; it will be replaced by imports from the experiment layer's run-folder module.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite, summarise
from pcnsim.errors import RunFolderError

__all__ = ["RunData", "load_run", "order_metrics", "STANDARD_COLUMNS", "SWEEP_KINDS", "write_text_atomic"]

STANDARD_COLUMNS = {"point", "replication", "metric", "value", "mean", "std", "ci_low", "ci_high",
                    "n", "week"}
SWEEP_KINDS = ("grid", "points", "lhs", "sobol")


@dataclass
class RunData:
    """What a run folder holds, read tolerantly (missing optional parts are None)."""

    folder: Path
    manifest: dict
    scenario: dict
    summary: pd.DataFrame
    results: Optional[pd.DataFrame]
    sensitivity: Optional[pd.DataFrame]
    swept_keys: list[str]
    notes: list[str] = field(default_factory=list)

    # -- convenient views
    @property
    def name(self) -> str:
        return str(self.scenario.get("name") or self.manifest.get("name") or self.folder.name)

    @property
    def description(self) -> str:
        return str(self.scenario.get("description") or "")

    @property
    def run_settings(self) -> dict:
        run = self.scenario.get("run")
        return run if isinstance(run, dict) else {}

    @property
    def warmup_weeks(self) -> Optional[float]:
        w = self.run_settings.get("warmup_weeks", self.manifest.get("warmup_weeks"))
        return float(w) if finite(w) else None

    @property
    def horizon_weeks(self) -> Optional[float]:
        w = self.run_settings.get("horizon_weeks", self.manifest.get("horizon_weeks"))
        return float(w) if finite(w) else None

    @property
    def replications(self) -> Optional[int]:
        for r in (self.manifest.get("replications"), self.run_settings.get("replications")):
            if finite(r):
                return int(r)
        if "n" in self.summary and len(self.summary):
            return int(self.summary["n"].max())
        return None

    @property
    def pcns(self) -> int:
        ics = self.scenario.get("ics")
        p = ics.get("pcns") if isinstance(ics, dict) else None
        return int(p) if finite(p) else 1

    def point_pcns(self, point: Optional[int] = None) -> int:
        """PCNs simulated together at a point: its swept `ics.pcns`, else the scenario's."""
        if point is not None:
            v = self.point_values(point).get("ics.pcns")
            if finite(v):
                return int(v)
        return self.pcns

    @property
    def sweep(self) -> Optional[dict]:
        s = self.scenario.get("sweep")
        return s if isinstance(s, dict) and any(s.get(k) is not None for k in SWEEP_KINDS) else None

    @property
    def sweep_kind(self) -> Optional[str]:
        if self.manifest.get("sweep_kind") in SWEEP_KINDS:
            return str(self.manifest["sweep_kind"])
        if self.sweep is not None:
            return next(k for k in SWEEP_KINDS if self.sweep.get(k) is not None)
        if not self.swept_keys:
            return None
        if self.sensitivity is not None:
            return "sobol"
        return "grid" if len(self.swept_keys) <= 2 else "points"

    @property
    def points(self) -> list[int]:
        return sorted(int(p) for p in self.summary["point"].unique())

    @property
    def first_point(self) -> int:
        return self.points[0] if self.points else 0

    def point_values(self, point: int) -> dict[str, Any]:
        """The swept keys' values at a point."""
        if not self.swept_keys:
            return {}
        rows = self.summary[self.summary["point"] == point]
        if rows.empty:
            return {}
        return {k: rows.iloc[0][k] for k in self.swept_keys if k in rows}

    def point_summary(self, point: Optional[int] = None) -> pd.DataFrame:
        """Summary rows of one point (the first by default), indexed by metric, in metric order."""
        p = self.first_point if point is None else point
        rows = self.summary[self.summary["point"] == p].set_index("metric")
        return rows.loc[order_metrics(rows.index)]

    def weekly(self, point: Optional[int] = None) -> Optional[pd.DataFrame]:
        """Weekly series of one point (the first by default), or None without weekly.parquet."""
        path = self.folder / "weekly.parquet"
        if not path.exists():
            return None
        p = self.first_point if point is None else point
        try:
            df = pd.read_parquet(path, filters=[("point", "==", p)])
        except Exception:  # noqa: BLE001 - an old pyarrow, or no `point` column: read it all
            try:
                df = pd.read_parquet(path)
            except Exception as err:  # noqa: BLE001
                self.notes.append(f"weekly.parquet could not be read ({err}).")
                return None
            if "point" in df:
                df = df[df["point"] == p]
        needed = {"replication", "week", "metric", "value"}
        if not needed <= set(df.columns):
            self.notes.append("weekly.parquet lacks the columns replication, week, metric, value.")
            return None
        extra = [c for c in df.columns if c not in needed | {"point"}]
        if extra:  # e.g. a `pcn` column for an ICS: average over it (metrics are per PCN)
            df = df.groupby(["replication", "week", "metric"], as_index=False)["value"].mean()
        return df


def order_metrics(metrics: Iterable[str]) -> list[str]:
    """The catalogue's order (INTERFACE.md's) first, then the rest sorted (`pcnsim.metrics.order`)."""
    return catalogue.order(dict.fromkeys(metrics))


def _read_table(folder: Path, stem: str) -> Optional[pd.DataFrame]:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            try:
                return reader(path)
            except Exception as err:  # noqa: BLE001
                raise RunFolderError(f"{path} could not be read: {err}") from err
    return None


def _summarise(results: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """summary.csv's rows from long-form results (`pcnsim.analysis.summarise`), by point and metric."""
    ordered = results.sort_values(["point", "metric"], kind="stable")
    return summarise(ordered, by=["point", *keys])


def load_run(folder: str | os.PathLike) -> RunData:
    """Read a run folder. Raises `RunFolderError` if it is not one (no manifest.json, or no
    summary.csv and no results)."""
    folder = Path(folder)
    what = ("a run folder holds manifest.json, summary.csv and results.parquet, as written by "
            "`pcnsim run`")
    if not folder.is_dir():
        raise RunFolderError(f"{folder} is not a folder; {what}.")
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise RunFolderError(f"{folder} is not a pcnsim run folder: it has no manifest.json ({what}).")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunFolderError(f"{manifest_path} is not readable JSON: {err}") from err
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{manifest_path} should hold a JSON object.")
    scenario = manifest.get("scenario")
    if not isinstance(scenario, dict):
        scenario = _read_scenario_yaml(folder) or {}

    results = _read_table(folder, "results")
    summary_path = folder / "summary.csv"
    if summary_path.exists():
        try:
            summary = pd.read_csv(summary_path)
        except Exception as err:  # noqa: BLE001
            raise RunFolderError(f"{summary_path} could not be read: {err}") from err
    else:
        summary = None
    if summary is None and results is None:
        raise RunFolderError(f"{folder} has no summary.csv and no results.parquet or results.csv: "
                             "the run may not have finished.")
    base = summary if summary is not None else results
    if not {"point", "metric"} <= set(base.columns):
        raise RunFolderError(f"{folder}: the results lack the columns `point` and `metric`.")

    swept = manifest.get("swept_keys")
    if not isinstance(swept, list):
        swept = [c for c in base.columns if c not in STANDARD_COLUMNS]
    swept = [str(k) for k in swept if k in base.columns]
    if summary is None:
        summary = _summarise(results, swept)
    for col in ("mean", "ci_low", "ci_high"):
        if col not in summary:
            raise RunFolderError(f"{summary_path} lacks the column `{col}`.")
    if "n" not in summary:
        summary["n"] = manifest.get("replications", math.nan)

    sensitivity = None
    sens_path = folder / "sensitivity.csv"
    if sens_path.exists():
        try:
            sensitivity = pd.read_csv(sens_path)
        except Exception:  # noqa: BLE001 - a figure is skipped, not the report
            sensitivity = None
    return RunData(folder, manifest, scenario, summary, results, sensitivity, swept)


def _read_scenario_yaml(folder: Path) -> Optional[dict]:
    path = folder / "scenario.yaml"
    if not path.exists():
        return None
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001
        return None
    return data if isinstance(data, dict) else None


def _scenario_object(run: RunData):
    """The run's `pcnsim.config.Scenario`, or None if it cannot be rebuilt from the folder."""
    from pcnsim.config import Scenario

    candidates = [run.scenario]
    yaml_data = _read_scenario_yaml(run.folder)
    if yaml_data:
        candidates.append(yaml_data)
    for data in candidates:
        if not data:
            continue
        data = {k: v for k, v in data.items() if k != "extends"}
        try:  # JSON mode: strict models accept arrays for tuples there
            return Scenario.model_validate_json(json.dumps(data, default=str))
        except Exception:  # noqa: BLE001
            continue
    return None


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file atomically: a temporary file in the same folder, then renamed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
