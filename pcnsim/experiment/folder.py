"""The run folder (docs/interface.md "The run folder"): the one place that writes and reads it.

Writing: every file goes under a temporary name beside its target and is renamed into place
(`atomic`, `write_text_atomic`, `write_frame_atomic`), so a reader sees a whole file or none;
a refusal of the system (full disk, read-only folder) becomes `WriteFailed` naming the file.
`new_folder` and `check_out` create a run folder or vet the one given with `--out`;
`claim_folder` and `lock_folder` give one run at a time the right to write a folder.

Reading: `load_run` returns a `RunData`, the same class `pcnsim.run()` returns: the frames,
the manifest and the scenario, read tolerantly (missing optional parts are None).
The manifest's provenance (versions, git commit, model fingerprint): `pcnsim.experiment.manifest`.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

import numpy as np

from pcnsim import metrics
from pcnsim.config import SWEEP_KINDS
from pcnsim.analysis import finite
from pcnsim.errors import RunFolderError

if TYPE_CHECKING:  # pandas loads lazily: worker processes need only the model
    import pandas as pd

__all__ = ["RunData", "RunResult", "load_run", "order_metrics", "WriteFailed", "atomic", "write_text_atomic",
           "write_frame_atomic", "new_folder", "check_out", "claim_folder", "lock_folder", "FolderLock",
           "local_path", "STANDARD_COLUMNS"]

#: Columns of results and summary files that are not swept keys.
STANDARD_COLUMNS = {"point", "replication", "metric", "value", "mean", "std", "ci_low", "ci_high",
                    "n", "week", "p10", "p50", "p90"}


# --------------------------------------------------------------------------- writing
class WriteFailed(OSError):
    """The system refused to write `path` (disk full, read-only file system...).

    `run` turns it into the user's message (it alone knows what was kept); deliberately not a
    `PcnsimError`, so the handlers inside `run` let it pass to that one place."""

    def __init__(self, path: Path, err: OSError, action: str = "write") -> None:
        super().__init__(err.errno, f"cannot {action} {path}: {err}")
        self.path, self.err, self.action = path, err, action

    @property
    def reason(self) -> str:
        """The system's reason in words ("No space left on device"), without pyarrow's decoration."""
        return os.strerror(self.err.errno) if self.err.errno else str(self.err)


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside `path`, renamed onto it (`os.replace`) when the block succeeds.

    Readers therefore see a whole file or none: a SIGKILL leaves at worst `.NAME.tmp-PID`, which
    the loaders ignore and the next session removes. On any error the temporary file is removed,
    and an OSError becomes `WriteFailed` naming `path`.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, WriteFailed):
            raise WriteFailed(path, err) from err
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a UTF-8 text file whole or not at all."""
    with atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_frame_atomic(path: Path, frame: pd.DataFrame, metadata: Optional[dict[str, Any]] = None) -> None:
    """Write a frame as parquet (zstd) or CSV, by the file's suffix, whole or not at all.
    `metadata` ({key: JSON-able value}) goes into a parquet file's schema metadata, each value
    as JSON (`metric_metadata`: every metric's label, unit, kind and family)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic(path) as tmp:
        if path.suffix == ".parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if metadata:
                table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                       **{k.encode(): json.dumps(v, default=str).encode()
                                                          for k, v in metadata.items()}})
            pq.write_table(table, tmp, compression="zstd")
        elif not _write_csv(frame, tmp):
            frame.to_csv(tmp, index=False, lineterminator="\n")


#: Characters that make Python's csv writer (pandas' `to_csv`) quote a field: the delimiter and the
#: quote character, which `_write_csv` quotes as it does, and line ends, which it leaves to pandas.
_CSV_QUOTED = re.compile('[,"]')
_CSV_LINE_END = re.compile("[\r\n]")
_CSV_CHUNK_CELLS = 200_000


def _write_csv(frame: pd.DataFrame, path: Path) -> bool:
    """Write `frame` as `frame.to_csv(path, index=False, lineterminator="\\n")` does, byte for
    byte, in about half its time; False (nothing written) unless every column is int64, float64,
    bool or text and no column name or text holds a line end or a name needs quotes.

    Each column becomes text as pandas makes it for a CSV file: floats by numpy's `astype(str)`,
    NaN and missing text empty, integers and booleans as `str` writes them, and a text with a
    comma or a quote quoted as the csv module quotes it (within quotes, a quote doubled)."""
    import pandas as pd

    names = list(frame.columns)
    if len(names) < 2 or not frame.columns.is_unique or not all(isinstance(n, str) for n in names) \
            or any(_CSV_QUOTED.search(n) or _CSV_LINE_END.search(n) for n in names):
        return False
    columns = []
    for name in names:
        col = frame[name]
        if isinstance(col.dtype, pd.StringDtype):
            if col.str.contains(_CSV_LINE_END.pattern, regex=True, na=False).any():
                return False
            columns.append(("text", col.array))
        elif isinstance(col.dtype, np.dtype) and col.dtype in (np.dtype("int64"), np.dtype("float64"), np.dtype(bool)):
            columns.append((col.dtype.kind, col.to_numpy()))
        else:
            return False
    step = max(1, _CSV_CHUNK_CELLS // len(names))
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(names) + "\n")
        for lo in range(0, len(frame), step):
            cells = [_csv_cells(kind, values[lo:lo + step]) for kind, values in columns]
            out.write("\n".join(map(",".join, zip(*cells))) + "\n")
    return True


def _csv_cells(kind: str, values: Any) -> list[str]:
    """One column's fields, as pandas' `to_csv` writes them (na_rep="", quotes where needed);
    each distinct value is made text once (a float's by its bits, so that -0.0 stays "-0.0")."""
    if kind == "text":
        text = values.to_numpy(dtype=object, na_value="").tolist()
        quoted = {t: '"' + t.replace('"', '""') + '"' for t in set(text) if _CSV_QUOTED.search(t)}
        return [quoted.get(t, t) for t in text] if quoted else text
    distinct, where = np.unique(values.view(np.int64) if kind == "f" else values, return_inverse=True)
    if kind == "f":
        numbers = distinct.view(np.float64)
        fields = numbers.astype(str).astype(object)
        fields[np.isnan(numbers)] = ""
    else:   # int64 and bool: Python's int and bool, as the csv module writes them
        fields = np.array(list(map(str, distinct.tolist())), dtype=object)
    return fields[where].tolist()


def make_dir(path: Path, parents: bool = False) -> None:
    """`Path.mkdir` (an existing folder is fine), with a refusal becoming `WriteFailed`."""
    try:
        path.mkdir(parents=parents, exist_ok=True)
    except OSError as err:
        raise WriteFailed(path, err, "create") from err


def new_folder(name: str, outputs_dir: Path) -> Path:
    """A new folder `<outputs_dir>/<name>-<YYYYmmdd-HHMMSS>[-i]`: a run never overwrites another."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = outputs_dir / f"{name}-{stamp}"
    make_dir(outputs_dir, parents=True)
    for i in itertools.count(1):
        folder = base if i == 1 else base.with_name(f"{base.name}-{i}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
        except OSError as err:
            raise WriteFailed(folder, err, "create") from err
    raise AssertionError("unreachable")


def local_path(path: str | os.PathLike) -> Path:
    """`path` as a local path that pyarrow cannot mistake for a URI.

    pyarrow reads a relative path whose first part holds a ':' (`--out t12:30`) as a URI with
    a scheme ("Unrecognized filesystem type in URI"); the same path made absolute is read as
    the local file it is. Other paths are returned as given (messages show them as typed)."""
    path = Path(path)
    if ":" in str(path) and not path.is_absolute():
        return path.absolute()
    return path


def short_path(path: str | os.PathLike) -> str:
    """A path for a message: as given, or its start and length when it is very long."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}... ({len(text):,} characters)"


def _busy(folder: Path, resume: bool) -> str:
    verb = "finish" if resume else "write"
    return (f"'{folder}' is in use: another pcnsim run holds it (a run folder has one writer at a time, "
            f"and that run holds the folder's lock until it ends), so this one cannot {verb} it. Wait for "
            "the other run to end, or choose another folder with --out.")


def check_out(out: Path, resume: bool, probe: bool = True) -> None:
    """Refuse an `--out` folder we must not write to, before anything is written. A folder
    another run holds is refused as such (`probe`: look for its lock; False when this process
    holds it)."""
    try:
        out.exists()
    except OSError as err:   # a name too long, a folder not searchable
        raise RunFolderError(f"--out '{short_path(out)}' cannot be used as a folder: "
                             f"{os.strerror(err.errno) if err.errno else err}; choose another folder.") from None
    if resume:
        if not (out / "manifest.json").is_file():
            if probe and out.is_dir() and folder_in_use(out):
                raise RunFolderError(_busy(out, resume))
            raise RunFolderError(f"--resume: '{out}' is not a pcnsim run folder (no manifest.json); give the "
                                 "--out folder of the run to finish")
        return
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out '{out}' is a file, not a folder; choose a new folder")
    if out.exists() and any(out.iterdir()):
        if probe and folder_in_use(out):
            raise RunFolderError(_busy(out, resume))
        raise RunFolderError(f"--out '{out}' exists and is not empty; choose a new folder, or add --resume to "
                             "finish the run in it")


# --------------------------------------------------------------------------- one writer per folder
#: The lock file on systems without `fcntl` (Windows), where a folder itself cannot be locked.
LOCK_FILE = ".pcnsim-lock"


class FolderLock:
    """An exclusive lock on a run folder, held by the one run writing it (`lock_folder`).

    On Unix it is `fcntl.flock` on the folder itself (no file is added to the folder); on
    Windows `msvcrt.locking` on a `.pcnsim-lock` file in it. The system releases it when the
    process ends, however it ends (kill -9 included), so a lock is never left behind;
    `release` releases it at once."""

    def __init__(self, folder: Path, fd: int | None) -> None:
        self.folder, self.fd = folder, fd

    def release(self) -> None:
        """Release the lock (closing its descriptor releases it); safe to call twice."""
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_folder(folder: Path) -> Optional[FolderLock]:
    """Take the folder's exclusive lock without waiting: a `FolderLock`, or None when another
    process holds it. On a system with neither `fcntl` nor `msvcrt` no lock is taken (the
    folder's atomic claim, `claim_folder`, still keeps two new runs apart)."""
    try:
        import fcntl   # not at the top: Windows has no fcntl
    except ImportError:
        fcntl = None
    if fcntl is not None:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:   # BlockingIOError: another process holds it
            os.close(fd)
            return None
        return FolderLock(folder, fd)
    try:
        import msvcrt
    except ImportError:
        return FolderLock(folder, None)
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise WriteFailed(folder / LOCK_FILE, err, "create") from err
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        os.close(fd)
        return None
    return FolderLock(folder, fd)


def folder_in_use(folder: Path) -> bool:
    """Whether another process holds the folder's lock (a run writing it now)."""
    try:
        lock = lock_folder(folder)
    except OSError:
        return False
    if lock is None:
        return True
    lock.release()
    return False


def claim_folder(out: Path, resume: bool) -> tuple[FolderLock, bool]:
    """Claim the run folder `out` for this run: (its lock, whether this run created the folder).

    The claim is atomic: the folder is created with `mkdir` (which one process alone can do)
    if it does not exist, then locked, and only then checked (`check_out`: empty for a new
    run, a run folder for a resume). Of two runs started together into one `--out`, one
    holds the lock and writes; the other finds the folder locked, or no longer empty, and is
    refused (`RunFolderError`, exit status 2) having written nothing. The lock is held until
    `release` (the run's end) or the process's end. A folder that cannot be created raises
    `WriteFailed` naming it."""
    created = False
    if not resume:
        try:
            out.mkdir(parents=True)
            created = True
        except FileExistsError:
            pass
        except OSError as err:
            raise WriteFailed(out, err, "create") from err
    try:
        lock = lock_folder(out)
    except NotADirectoryError:
        raise RunFolderError(f"--out '{out}' is a file, not a folder; choose a new folder") from None
    except FileNotFoundError:
        raise RunFolderError(f"--resume: '{out}' does not exist; give the --out folder of the run to finish") \
            from None
    except OSError as err:
        raise WriteFailed(out, err, "open") from err
    if lock is None:   # never remove a folder another run holds, even one this run created
        raise RunFolderError(_busy(out, resume))
    try:
        check_out(out, resume, probe=False)
    except BaseException:
        lock.release()
        raise
    return lock, created


# --------------------------------------------------------------------------- reading
@dataclass
class RunData:
    """A run: its folder, manifest, scenario and frames; returned by `pcnsim.run()` and `load_run`.

    `results` (long form: point, swept keys, replication, metric, value), `summary` (95%
    t-intervals), `sensitivity` (Sobol sweeps, else None). `failed` lists the cells that raised
    (point, replication, type, message, traceback). Weekly series stay on disk: `weekly()`
    reads them, filtered. Parts a folder lacks are None; problems met while reading go to `notes`.
    """

    folder: Path
    manifest: dict
    scenario: dict
    summary: pd.DataFrame
    results: Optional[pd.DataFrame]
    sensitivity: Optional[pd.DataFrame]
    swept_keys: list[str]
    notes: list[str] = field(default_factory=list)
    _first_rows: Any = field(default=None, init=False, repr=False, compare=False)

    # -- the run's outcome
    @property
    def swept(self) -> tuple[str, ...]:
        """The swept dotted keys (a tuple)."""
        return tuple(self.swept_keys)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The cells that raised, as recorded in the manifest."""
        return self.manifest.get("failed_cells") or []

    @property
    def exit_code(self) -> int:
        """0 when every cell finished, 1 when a cell failed (the command line's exit status)."""
        return 1 if self.failed else 0

    @property
    def warmup(self) -> Optional[dict[str, Any]]:
        """The MSER-5 warm-up suggestion recorded in the manifest."""
        return self.manifest.get("warmup_suggestion")

    # -- convenient views
    @property
    def name(self) -> str:
        return str(self.scenario.get("name") or self.manifest.get("name") or self.folder.name)

    @property
    def description(self) -> str:
        return str(self.scenario.get("description") or "")

    @property
    def changes(self) -> list[str]:
        """The run's changes from the scenario it starts from, in words (the manifest's `changes`,
        from `--set`s or the app's controls); [] for a scenario run as it is."""
        got = self.manifest.get("changes")
        return [str(c) for c in got] if isinstance(got, list) else []

    @property
    def based_on(self) -> str:
        """The name of the scenario the run starts from (the manifest's `based_on`, else its name)."""
        return str(self.manifest.get("based_on") or self.name)

    @property
    def title(self) -> str:
        """The run in words: its scenario's name, and its changes when it has any ("baseline with
        62,000 patients in 7 practices; ARRS budget 90% of baseline")."""
        if not self.changes:
            return self.name
        return f"{self.based_on} with " + "; ".join(self.changes)

    @property
    def stated_description(self) -> str:
        """What the run is, as every output says it: the scenario's description, or, when the
        run changes the scenario, "Based on baseline, with these changes: ..." and never the
        base's description, which the changes may make untrue ("Five GP practices of 9,000
        patients" for a run of 62,000 patients in 7 practices)."""
        if self.changes:   # the wording of pcnsim.scenario.changes.changes_sentence (not imported: a report layer)
            return (f"Based on {self.based_on}, with these changes: " + "; ".join(self.changes)
                    + f". The description of {self.based_on} is not repeated here: these changes may make it untrue.")
        return self.description

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
        cached = self._first_rows   # each point's first summary row, found once (reports ask per point)
        if cached is None or cached[0] is not self.summary:
            first = self.summary.drop_duplicates("point")
            cached = self._first_rows = (self.summary, dict(zip(first["point"], range(len(first)))), first)
        _, where, first = cached
        if point not in where:
            return {}
        row = first.iloc[where[point]]
        return {k: row[k] for k in self.swept_keys if k in first}

    def point_summary(self, point: Optional[int] = None) -> pd.DataFrame:
        """Summary rows of one point (the first by default), indexed by metric, in metric order."""
        p = self.first_point if point is None else point
        rows = self.summary[self.summary["point"] == p].set_index("metric")
        return rows.loc[order_metrics(rows.index)]

    def weekly(self, point: int | Iterable[int] | None = None, metrics: Iterable[str] | str | None = None,
               replication: int | Iterable[int] | None = None) -> Optional[pd.DataFrame]:
        """Weekly series (point, replication, week, metric, value) read from disk, filtered by
        point(s), metric(s) and replication(s) (every one when None); None without weekly.parquet.

        Columns beyond these (e.g. a `pcn` column) are averaged over (metrics are per PCN)."""
        import pandas as pd

        path = self.folder / "weekly.parquet"
        if not path.exists():
            return None
        wanted = {column: [want] if isinstance(want, (str, int)) else list(want)
                  for column, want in (("metric", metrics), ("point", point), ("replication", replication))
                  if want is not None}
        try:
            df = pd.read_parquet(path, filters=[(c, "in", v) for c, v in wanted.items()] or None)
        except Exception:  # noqa: BLE001 - an old pyarrow, or a missing column: read it all, then filter
            try:
                df = pd.read_parquet(path)
            except Exception as err:  # noqa: BLE001
                self.notes.append(f"weekly.parquet could not be read ({err}).")
                return None
            for column, values in wanted.items():
                if column in df:
                    df = df[df[column].isin(values)]
        needed = {"replication", "week", "metric", "value"}
        if not needed <= set(df.columns):
            self.notes.append("weekly.parquet lacks the columns replication, week, metric, value.")
            return None
        extra = [c for c in df.columns if c not in needed | {"point"}]
        if extra:  # e.g. a `pcn` column for an ICS: average over it (metrics are per PCN)
            df = df.groupby(["replication", "week", "metric"], as_index=False)["value"].mean()
        return df


#: The name `pcnsim.run()` has always returned; the same class.
RunResult = RunData


def metric_metadata(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """{metric: {label, unit, kind, family}} from the catalogue, a share's unit "fraction (0 to 1)"
    as the files hold it: the `pcnsim.metrics` key of results.parquet's and weekly.parquet's
    schema metadata, so that a researcher's file says what each number is."""
    from pcnsim import metrics as catalogue

    out = {}
    for m in sorted({str(n) for n in names}):
        entry = catalogue.lookup(m)
        unit = "fraction (0 to 1)" if catalogue.kind(m) == "share" else catalogue.unit(m)
        out[m] = {"label": catalogue.label(m), "unit": unit, "kind": catalogue.kind(m),
                  "family": entry.family if entry else ""}
    return out


def order_metrics(names: Iterable[str]) -> list[str]:
    """Metric names in the catalogue's order (`pcnsim.metrics.order`), each once."""
    return metrics.order(dict.fromkeys(names))


def load_run(folder: str | os.PathLike) -> RunData:
    """Read a run folder. Raises `RunFolderError` if it is not one (no manifest.json, or no
    summary.csv and no results)."""
    import pandas as pd

    folder = local_path(folder)
    what = ("a run folder holds manifest.json, summary.csv and results.parquet, as written by "
            "`pcnsim run`")
    try:
        is_dir = folder.is_dir()
    except OSError as err:   # a name too long, a folder not searchable
        raise RunFolderError(f"'{short_path(folder)}' cannot be read: "
                             f"{os.strerror(err.errno) if err.errno else err}; {what}.") from None
    if not is_dir:
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
    if results is not None:
        _check_numbers(results, _results_path(folder), ("point", "replication", "metric", "value"), "value")
    if summary is not None:
        _check_numbers(summary, summary_path, ("point", "metric", "mean", "ci_low", "ci_high"), "mean")

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
    if "p10" not in summary and results is not None:   # a folder written before summary.csv had them
        summary = _with_spread(summary, results)

    sensitivity = None
    sens_path = folder / "sensitivity.csv"
    if sens_path.exists():
        try:
            sensitivity = pd.read_csv(sens_path)
        except Exception:  # noqa: BLE001 - a figure is skipped, not the report
            sensitivity = None
    return RunData(folder, manifest, scenario, summary, results, sensitivity, swept)


def _results_path(folder: Path) -> Path:
    parquet = folder / "results.parquet"
    return parquet if parquet.exists() else folder / "results.csv"


def _check_numbers(frame: pd.DataFrame, path: Path, columns: tuple[str, ...], values: str) -> None:
    """Refuse a results or summary file that would let a report conclude things from nothing:
    missing columns, non-numeric points or values, or values that are all missing (NaN)."""
    import pandas as pd

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RunFolderError(f"{path} lacks the column(s) {', '.join(missing)} (it should hold "
                             f"{', '.join(columns)}, as `pcnsim run` writes it); it cannot be used.")
    for column in ("point", *(["replication"] if "replication" in columns else []), values):
        if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            raise RunFolderError(f"{path}: the column `{column}` should hold numbers, not "
                                 f"{frame[column].dtype} values; it cannot be used.")
    if len(frame) and frame["point"].isna().any():
        raise RunFolderError(f"{path}: the column `point` has missing values; it cannot be used.")
    if len(frame) and frame[values].isna().all():
        raise RunFolderError(f"{path}: every `{values}` is missing (NaN), so there is nothing to report; "
                             "rerun the scenario (or resume it if it did not finish).")


def _read_table(folder: Path, stem: str) -> Optional[pd.DataFrame]:
    import pandas as pd

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
    from pcnsim.analysis import summarise

    ordered = results.sort_values(["point", "metric"], kind="stable")
    return summarise(ordered, by=["point", *keys], spread=True)


def _with_spread(summary: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """summary with the p10, p50 and p90 columns worked out from the results (by point and metric)."""
    from pcnsim.analysis import SPREAD_COLUMNS, SPREAD_QUANTILES

    grouped = results.groupby(["point", "metric"])["value"]
    spread = {col: grouped.quantile(q).rename(col) for col, q in zip(SPREAD_COLUMNS, SPREAD_QUANTILES)}
    import pandas as pd

    table = pd.concat(spread.values(), axis=1).reset_index()
    return summary.merge(table, on=["point", "metric"], how="left")


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


def scenario_object(run: RunData):
    """The run's `pcnsim.config.Scenario`, or None if it cannot be rebuilt from the folder."""
    from pcnsim.config import Scenario

    # scenario.yaml is parsed only if the manifest's copy fails (pure-Python YAML: 0.1-0.3 s)
    candidates = (lambda: run.scenario, lambda: _read_scenario_yaml(run.folder))
    for read in candidates:
        data = read()
        if not data:
            continue
        data = {k: v for k, v in data.items() if k != "extends"}
        try:  # JSON mode: strict models accept arrays for tuples there
            return Scenario.model_validate_json(json.dumps(data, default=str))
        except Exception:  # noqa: BLE001
            continue
    return None
