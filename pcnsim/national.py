"""National totals of a run whose points are ICSs: moved to `pcnsim.report.national` (kept for the README's import)."""
from pcnsim.report.national import COLUMNS, aggregate_of, national_totals  # noqa: F401
