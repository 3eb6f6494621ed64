"""The finish step's pieces (pcnsim.experiment.combine and the run folder's CSV writer): each gives
what the plainer form it replaced gave, to the last bit and byte."""
from __future__ import annotations

import errno
import math
import threading
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pcnsim import analysis
from pcnsim.experiment import combine as cb
from pcnsim.experiment import folder
from pcnsim.experiment.cells import CellOutcome, read_cell, schemas, write_cell
from pcnsim.experiment.folder import WriteFailed, atomic, write_frame_atomic

pytestmark = pytest.mark.unit


# --------------------------------------------------------------------------- results.csv, summary.csv, ...
def _floats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Floats of every kind numpy's and Python's formatting treat apart."""
    x = rng.normal(0, 1, n) * 10.0 ** rng.integers(-320, 308, n)
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e16, 1e-4, 9.999e-5, 0.1, 1 / 3, 5e-324, 1.7976931348623157e308,
               123456789012345678.0, 0.30000000000000004, 100.0, -2.5]
    x[: len(special)] = special
    return x


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    texts = np.array(["plain", "a, with comma", 'a "quoted" word', "", "é ü ✓", "x" * 40, '"', ",", "semi;colon"],
                     dtype=object)
    text = pd.array(texts[rng.integers(0, len(texts), n)], dtype="str")
    text[rng.random(n) < 0.1] = None
    return pd.DataFrame({"point": rng.integers(-5, 2**62, n), "x.swept": rng.choice([0.0, 0.0556, 1.5, -0.0], n),
                         "metric": text, "value": _floats(rng, n), "cut": rng.random(n) < 0.5,
                         "n": rng.integers(0, 10, n)})


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


@pytest.mark.parametrize("chunk_cells", [7, 200_000])
def test_the_csv_writer_writes_what_pandas_to_csv_writes(tmp_path, monkeypatch, chunk_cells):
    monkeypatch.setattr(folder, "_CSV_CHUNK_CELLS", chunk_cells)
    frame = _frame(np.random.default_rng(30), 5_000)
    assert folder._write_csv(frame, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == _pandas_csv(frame)
    write_frame_atomic(tmp_path / "atomic.csv", frame)
    assert (tmp_path / "atomic.csv").read_bytes() == _pandas_csv(frame)
    empty = frame.iloc[:0]
    assert folder._write_csv(empty, tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_bytes() == _pandas_csv(empty)


@pytest.mark.parametrize("case", ["line end in a text", "carriage return", "object column", "name with a comma",
                                  "one column", "float32"])
def test_the_csv_writer_leaves_what_it_does_not_cover_to_pandas(tmp_path, case):
    frame = _frame(np.random.default_rng(1), 50)
    if case == "line end in a text":
        frame.loc[3, "metric"] = "two\nlines"
    elif case == "carriage return":
        frame.loc[3, "metric"] = "two\rlines"
    elif case == "object column":
        frame["x.swept"] = pd.Series([None, 1.5, "a"] * 16 + [2, 3], dtype=object)
    elif case == "name with a comma":
        frame = frame.rename(columns={"value": "value, raw"})
    elif case == "one column":
        frame = frame[["metric"]]
    else:
        frame["value"] = np.linspace(-1, 1, len(frame), dtype="float32")
    assert not folder._write_csv(frame, tmp_path / "fast.csv")
    assert not (tmp_path / "fast.csv").exists()
    write_frame_atomic(tmp_path / "atomic.csv", frame)
    assert (tmp_path / "atomic.csv").read_bytes() == _pandas_csv(frame)


# --------------------------------------------------------------------------- summary.csv's bounded interval
def test_summary_file_bounds_each_row_as_bounded_interval_does():
    rng = np.random.default_rng(5)
    names = ["appointments_per_year", "demand_met_share", "leadership_tasks_overdue_share", "wait_days_mean",
             "requests_per_year.msk", "zzz_unknown_share", "zzz_unknown", "cd_resignations_per_year"]
    n = 4_000
    mean = rng.normal(0.5, 1.0, n)
    low, high = mean - rng.exponential(1.0, n), mean + rng.exponential(1.0, n)
    for x in (mean, low, high):
        x[rng.random(n) < 0.05] = np.nan
    low[rng.random(n) < 0.02] = -np.inf
    low[:3], mean[:3], high[:3] = 0.0, 0.0, 1.0          # on a bound: nothing cut
    summary = pd.DataFrame({"point": np.arange(n) % 7, "metric": pd.array(rng.choice(names, n), dtype="str"),
                            "mean": mean, "std": 1.0, "ci_low": low, "ci_high": high, "n": 5})
    out = cb.summary_file(summary)
    expected = [analysis.bounded_interval(float(m), float(lo), float(hi), metric=str(name))
                if all(np.isfinite(v) for v in (m, lo, hi)) else (lo, hi)
                for name, m, lo, hi in zip(summary["metric"], mean, low, high)]
    same = lambda a, b: np.array_equal(np.asarray(a, float).view(np.int64), np.asarray(b, float).view(np.int64))
    assert same(out["ci_low_bounded"], [e[0] for e in expected])
    assert same(out["ci_high_bounded"], [e[1] for e in expected])
    assert out["ci_cut"].tolist() == [bool((e[0] != lo) or (e[1] != hi)) and math.isfinite(lo) and math.isfinite(hi)
                                      for e, lo, hi in zip(expected, low, high)]
    meta = folder.metric_metadata(names)
    assert list(out.columns[2:5]) == ["label", "unit", "kind"]
    assert out["label"].tolist() == [meta[m]["label"] for m in summary["metric"]]
    assert out["unit"].tolist() == [meta[m]["unit"] for m in summary["metric"]]


# --------------------------------------------------------------------------- the MSER-5 sums
def _cell_rows(tmp_path, point: int, rep: int, weekly: dict[str, np.ndarray]):
    """A cell's weekly rows as `combine` reads them from its file."""
    write_cell(tmp_path, CellOutcome(point, rep, {"a_metric": 1.0, "pcns_simulated": 1.0}, weekly))
    table, _ = read_cell(tmp_path / f"p{point:05d}-r{rep:04d}.parquet")
    return cb._split_cell(table)[1]


def _truncation_series_by_series(cells: list[tuple[int, dict[str, np.ndarray]]]) -> dict[str, int]:
    """What the warm-up suggestion was before the block sums: each series summed over a point's
    replications on its own (one of another length than the point's first left out), then MSER-5."""
    out: dict[str, int] = {}
    for point in sorted({p for p, _ in cells}):
        sums: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for _, weekly in (c for c in cells if c[0] == point):
            for name, series in weekly.items():
                if not series.size:
                    continue
                if name not in sums:
                    sums[name], counts[name] = series.astype(float), 1
                elif sums[name].size == series.size:
                    sums[name] = sums[name] + series
                    counts[name] += 1
        for name, total in sums.items():
            out[name] = max(out.get(name, 0), analysis.mser5(total / counts[name]))
    return out


def test_the_warmup_sums_give_the_truncation_of_each_series_summed_on_its_own(tmp_path):
    rng = np.random.default_rng(11)
    t = np.arange(60.0)
    shapes = {"backlog": 100 + 80 * np.exp(-t / 10), "wait_days_mean": np.full(60, 3.0),
              "cd_strain": 50 - 50 * np.exp(-t / 25)}

    def weekly(names=("backlog", "wait_days_mean", "cd_strain"), weeks=60, gap=False) -> dict[str, np.ndarray]:
        out = {n: shapes[n][:weeks] + rng.normal(0, 1, weeks) for n in names}
        if gap:
            out[names[0]][5] = np.nan
        return out

    cells = [(0, weekly()), (0, weekly()), (0, weekly()),                      # one layout: one block
             (1, weekly()), (1, weekly(("cd_strain", "backlog", "wait_days_mean"))),   # another order
             (2, weekly()), (2, weekly(("backlog", "cd_strain"))), (2, weekly()),      # a series missing
             (3, weekly(weeks=40)), (3, weekly()),                             # a shorter first, then longer
             (4, weekly()), (4, weekly(weeks=40)),                             # a longer first, then shorter
             (5, weekly(gap=True)), (5, weekly()), (6, {"backlog": np.arange(3.0)})]
    sums = cb._WarmupSums()
    for i, (point, series) in enumerate(cells):
        sums.add(_cell_rows(tmp_path, point, i, series))
        if i + 1 == len(cells) or cells[i + 1][0] != point:
            sums.end_point()
    assert sums.truncation == _truncation_series_by_series(cells)
    assert sums.truncation["backlog"] > 0


# --------------------------------------------------------------------------- weekly.parquet's writing thread
def _weekly_rows(tmp_path, n_cells: int):
    return [_cell_rows(tmp_path, 0, rep, {"backlog": np.arange(50.0) + rep, "cd_strain": np.ones(50)})
            for rep in range(n_cells)]


def test_weekly_file_writes_the_rows_in_order_in_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(cb, "_WEEKLY_ROWS_PER_GROUP", 250)
    rows = _weekly_rows(tmp_path, 9)
    path = tmp_path / "weekly.parquet"
    with atomic(path) as tmp, cb._WeeklyFile(tmp, schemas()[1]) as weekly:
        for rep, r in enumerate(rows):
            weekly.add(0, rep, r)
        weekly.flush(last=True)
    table = pq.read_table(path)
    assert table.column("replication").to_pylist() == [rep for rep in range(9) for _ in range(100)]
    assert table.column("value").to_pylist() == [v for r in rows for v in r.column("value").to_pylist()]
    assert [pq.ParquetFile(path).metadata.row_group(i).num_rows for i in range(3)] == [300, 300, 300]
    assert not [t for t in threading.enumerate() if t.name.startswith("pcnsim-weekly")]


def test_a_full_disk_while_the_thread_writes_is_a_write_failed_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(cb, "_WEEKLY_ROWS_PER_GROUP", 250)

    def full(self, table, row_group_size=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    rows = _weekly_rows(tmp_path, 9)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    path = tmp_path / "weekly.parquet"
    with pytest.raises(WriteFailed, match="No space left"):
        with atomic(path) as tmp, cb._WeeklyFile(tmp, schemas()[1]) as weekly:
            for rep, r in enumerate(rows):
                weekly.add(0, rep, r)
    assert [p.name for p in tmp_path.iterdir() if "weekly" in p.name] == []


def test_a_signal_while_the_thread_writes_waits_for_the_write_then_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(cb, "_WEEKLY_ROWS_PER_GROUP", 250)
    real = pq.ParquetWriter.write_table
    writes: list[str] = []
    rows = _weekly_rows(tmp_path, 3)

    def slow(self, table, row_group_size=None):
        time.sleep(0.2)
        real(self, table, row_group_size=row_group_size)
        writes.append(threading.current_thread().name.split("_")[0])

    monkeypatch.setattr(pq.ParquetWriter, "write_table", slow)
    path = tmp_path / "weekly.parquet"
    with pytest.raises(KeyboardInterrupt):
        with atomic(path) as tmp, cb._WeeklyFile(tmp, schemas()[1]) as weekly:
            for rep, r in enumerate(rows):   # the third cell's rows make a row group: to the thread
                weekly.add(0, rep, r)
            raise KeyboardInterrupt   # Ctrl-C while the row group is being written
    assert writes == ["pcnsim-weekly"]   # the write ended before the file was closed and removed
    assert [p.name for p in tmp_path.iterdir() if "weekly" in p.name] == []
