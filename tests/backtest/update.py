"""Regenerate the back-test's expected numbers: run tests/backtest/baseline_small.yaml and write expected.csv.

Run it from the repository root, on purpose, after a deliberate change of the model or of
its defaults:

    python -m tests.backtest.update        # or: python tests/backtest/update.py

It prints every metric that changed (old, new, relative change) so that the change can be
explained; review `git diff tests/backtest/expected.csv` before committing it.
`python -m tests.backtest.update --check` only reports the differences and exits 1 if any.
"""
from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "baseline_small.yaml"
EXPECTED = HERE / "expected.csv"
RTOL, ATOL = 1e-9, 1e-12


def compute() -> list[tuple[int, str, float]]:
    """(replication, metric, value) for every replication of the back-test scenario, sorted."""
    from pcnsim.model import simulate
    from pcnsim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    rows = []
    for r in range(scenario.run.replications):
        metrics = simulate(scenario, r).metrics
        rows += [(r, k, float(metrics[k])) for k in sorted(metrics)]
    return rows


def read_expected(path: Path = EXPECTED) -> list[tuple[int, str, float]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(int(row["replication"]), row["metric"], float(row["value"])) for row in csv.DictReader(f)]


def write_expected(rows: list[tuple[int, str, float]], path: Path = EXPECTED) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["replication", "metric", "value"])
        for r, k, v in rows:
            out.writerow([r, k, repr(v)])   # repr: the shortest text that reads back as the same float


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def differences(old: list[tuple[int, str, float]], new: list[tuple[int, str, float]]) -> list[str]:
    """One line per metric that differs, appears or disappears."""
    a = {(r, k): v for r, k, v in old}
    b = {(r, k): v for r, k, v in new}
    lines = []
    for key in sorted(set(a) | set(b)):
        r, k = key
        if key not in a:
            lines.append(f"  new      replication {r} {k} = {b[key]!r}")
        elif key not in b:
            lines.append(f"  removed  replication {r} {k} (was {a[key]!r})")
        elif not same(a[key], b[key]):
            rel = (b[key] - a[key]) / abs(a[key]) if a[key] else math.inf
            lines.append(f"  changed  replication {r} {k}: {a[key]!r} -> {b[key]!r} ({rel:+.3g} relative)")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    new = compute()
    old = read_expected() if EXPECTED.exists() else []
    lines = differences(old, new)
    print(f"Back-test {SCENARIO.name}: {len(lines)} difference(s) from {EXPECTED.name}.")
    print("\n".join(lines))
    if "--check" in argv:
        return 1 if lines else 0
    write_expected(new)
    print(f"Wrote {EXPECTED}. Review `git diff {EXPECTED.relative_to(HERE.parent.parent)}` before committing.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
