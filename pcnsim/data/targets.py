"""What GPAD says a set of practices delivered, in pcnsim's metric names and units (the
`calibration.targets` of a built scenario), and the reverse: a simulated PCN's figures written
as a GPAD practice-level CSV (`write_gpad_like`), for round-trip tests of calibration.

Definitions (docs/data.md):
- `appointments_per_year`: appointments with APPT_STATUS Attended, x 12 / months read;
- `dna_per_year`: appointments with status DNA, x 12 / months read;
- `gp_appointment_share`: HCP_TYPE GP over GP + Other Practice staff, every status (as GPAD
  counts booked appointments); Unknown HCP type left out of both;
- `booked_share.<bin>`: every status, each of the seven TIME_BETWEEN_BOOK_AND_APPT bins over
  the seven; "Unknown / Data Quality" left out of the denominator.
Annualising a few months ignores the season: a winter month reads high (docs/data.md).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pandas as pd

from pcnsim.data.readers import LEAD_BINS, DataFileError

__all__ = ["gpad_targets", "write_gpad_like", "LEAD_TEXT_OUT"]

#: The bins as GPAD writes them (with the double space some months have: the reader collapses it).
LEAD_TEXT_OUT = {"same_day": "Same Day", "1_day": "1 Day", "2_7_days": "2 to 7 Days",
                 "8_14_days": "8  to 14 Days", "15_21_days": "15  to 21 Days", "22_28_days": "22  to 28 Days",
                 "over_28_days": "More than 28 Days", "unknown": "Unknown / Data Quality"}


def gpad_targets(frame: pd.DataFrame, months: int) -> dict[str, float]:
    """Targets from GPAD rows (`read_gpad`'s frame, already limited to the practices wanted)
    read over `months` months. Raises `DataFileError` when there are no appointments."""
    if months < 1:
        raise ValueError("months must be at least 1")
    count = frame["count"]
    total = float(count.sum())
    if total <= 0:
        raise DataFileError("the Appointments in General Practice files hold no appointments for these practices")
    per_year = 12.0 / months
    out = {"appointments_per_year": round(float(count[frame["status"] == "attended"].sum()) * per_year, 1),
           "dna_per_year": round(float(count[frame["status"] == "dna"].sum()) * per_year, 1)}
    gp, other = float(count[frame["hcp"] == "gp"].sum()), float(count[frame["hcp"] == "other"].sum())
    if gp + other > 0:
        out["gp_appointment_share"] = round(gp / (gp + other), 4)
    by_bin = count.groupby(frame["lead"]).sum()
    known = float(sum(by_bin.get(b, 0.0) for b in LEAD_BINS))
    if known > 0:
        for b in LEAD_BINS:
            out[f"booked_share.{b}"] = round(float(by_bin.get(b, 0.0)) / known, 4)
    return out


def _split(total: float, shares: Sequence[float]) -> list[int]:
    """`total` split into whole counts in proportion to `shares` (largest remainder: they sum to it)."""
    n = int(round(total))
    s = sum(shares)
    if n <= 0 or s <= 0:
        return [0] * len(shares)
    raw = [n * x / s for x in shares]
    out = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[:n - sum(out)]:
        out[i] += 1
    return out


def write_gpad_like(metrics: Mapping[str, Mapping[str, float]], path: str | Path, month: str,
                    pcn_code: str = "U00001", pcn_name: str = "SIMULATED PCN") -> Path:
    """Write one month of simulated figures as a GPAD practice-level CSV that `read_gpad` reads.

    `metrics`: practice (or PCN) code -> its figures in pcnsim's names and units, as
    `gpad_targets` returns them: `appointments_per_year`, `dna_per_year` (default 0),
    `gp_appointment_share` (default 0.45) and `booked_share.<bin>` (default all same day).
    `month`: "YYYY-MM". A month is a twelfth of a year's counts, rounded to whole appointments
    (so reading the file back gives the figures to within rounding). Refuses to overwrite a file.
    Returns the path written."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: write_gpad_like does not overwrite files")
    year, mon = (int(x) for x in month.split("-"))
    stamp = f"01{('JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC')[mon - 1]}{year:04d}"
    header = ["APPOINTMENT_MONTH_START_DATE", "GP_CODE", "GP_NAME", "SUPPLIER", "PCN_CODE", "PCN_NAME",
              "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "ICB_ONS_CODE", "ICB_NAME", "REGION_ONS_CODE",
              "REGION_NAME", "HCP_TYPE", "APPT_MODE", "NATIONAL_CATEGORY", "TIME_BETWEEN_BOOK_AND_APPT",
              "COUNT_OF_APPOINTMENTS", "APPT_STATUS"]
    rows = []
    for code, m in metrics.items():
        shares = [float(m.get(f"booked_share.{b}", 1.0 if b == "same_day" else 0.0)) for b in LEAD_BINS]
        gp_share = float(m.get("gp_appointment_share", 0.45))
        for status, key in (("Attended", "appointments_per_year"), ("DNA", "dna_per_year")):
            month_count = float(m.get(key, 0.0)) / 12.0
            for hcp, n in zip(("GP", "Other Practice staff"), _split(month_count, [gp_share, 1 - gp_share])):
                for b, k in zip(LEAD_BINS, _split(n, shares)):
                    if k:
                        rows.append([stamp, code, f"SIMULATED PRACTICE {code}", "SIMULATED", pcn_code, pcn_name,
                                     "00X", "SIMULATED SUB-ICB", "E54000000", "SIMULATED ICB", "E40000000",
                                     "SIMULATED REGION", hcp, "Face-to-Face", "General Consultation Routine",
                                     LEAD_TEXT_OUT[b], k, status])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def months_text(months: Sequence[str], source: Optional[str] = None) -> str:
    """"April-June 2024" from ("2024-04", ..., "2024-06")."""
    names = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")

    def one(m: str) -> str:
        y, k = m.split("-")
        return f"{names[int(k) - 1]} {y}"
    if not months:
        return source or "month not stated"
    if len(months) == 1:
        return one(months[0])
    return f"{one(months[0])} to {one(months[-1])} ({len(months)} months)"
