"""Readers for NHS Digital's open CSVs, as users download them: the General Practice Workforce
practice-level file, the Appointments in General Practice (GPAD) practice-level files, and
optionally the patients-registered-at-a-practice and PCN workforce files.

Each reader maps the column names of the publications' known variants onto one set of names
(`WORKFORCE_COLUMNS`, `GPAD_COLUMNS`, ...), turns "ND" (not disclosed) and the other
placeholders into missing values, and refuses a file lacking a column it needs in one paragraph
naming the file, the column and the variants tried (`DataFileError`, exit status 2).
The layouts were checked against public pipelines that read the same files (docs/data.md).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from pcnsim.errors import PcnsimError

__all__ = ["DataFileError", "WORKFORCE_COLUMNS", "GPAD_COLUMNS", "PATIENTS_COLUMNS", "PCN_WORKFORCE_COLUMNS",
           "LEAD_BINS", "ARRS_ROLE_WORDS", "read_workforce", "read_gpad", "read_patients", "read_pcn_workforce",
           "lead_bin", "appt_status", "hcp_type", "parse_month", "Table"]


class DataFileError(PcnsimError):
    """A published data file that cannot be read as expected (exit status 2)."""

    exit_code = 2


#: Placeholders the publications write where a number is not given: "ND" not disclosed (GP
#: workforce), "EST"/"NS" in older releases, "." and blanks.
MISSING = ("ND", "EST", "NS", ".", "", "NA", "N/A", "-")

# --------------------------------------------------------------------------- column variants
#: our name -> (required, [published names, first the current one]). General Practice Workforce,
#: practice level ("1 General Practice - <Month> <Year> Practice Level - Detailed.csv" and the
#: older "... Practice Level.csv"): CCG_* before July 2022, SUB_ICB_* after; STP_* before ICB_*.
WORKFORCE_COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "practice": (True, ("PRAC_CODE", "PRACTICE_CODE")),
    "practice_name": (False, ("PRAC_NAME", "PRACTICE_NAME")),
    "pcn": (True, ("PCN_CODE",)),
    "pcn_name": (False, ("PCN_NAME",)),
    "sub_icb": (False, ("SUB_ICB_CODE", "SUB_ICB_LOCATION_CODE", "CCG_CODE")),
    "sub_icb_name": (False, ("SUB_ICB_NAME", "SUB_ICB_LOCATION_NAME", "CCG_NAME")),
    "icb": (False, ("ICB_CODE", "ICB_ONS_CODE", "STP_CODE")),
    "icb_name": (False, ("ICB_NAME", "STP_NAME")),
    "patients": (True, ("TOTAL_PATIENTS",)),
    "gp_fte": (True, ("TOTAL_GP_FTE",)),
    "gp_extgl_fte": (False, ("TOTAL_GP_EXTGL_FTE", "TOTAL_GP_EXRRL_FTE")),
    "nurse_fte": (True, ("TOTAL_NURSES_FTE", "TOTAL_NURSE_FTE")),
    "dpc_fte": (True, ("TOTAL_DPC_FTE", "DIRECT_PATIENT_CARE_FTE")),
    "admin_fte": (False, ("TOTAL_ADMIN_FTE", "ADMIN_FTE")),
    "extract_date": (False, ("EXTRACT_DATE", "CENSUS_DATE")),
}

#: Appointments in General Practice, practice level ("Practice_Level_Crosstab_<Mon>_<YY>.csv",
#: one file per month): CCG_CODE before July 2022, APPOINTMENT_STATUS in some re-publications.
GPAD_COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "month": (True, ("APPOINTMENT_MONTH_START_DATE", "APPOINTMENT_MONTH", "APPOINTMENT_DATE")),
    "practice": (True, ("GP_CODE", "PRACTICE_CODE", "PRAC_CODE")),
    "practice_name": (False, ("GP_NAME", "PRACTICE_NAME", "PRAC_NAME")),
    "pcn": (False, ("PCN_CODE",)),
    "pcn_name": (False, ("PCN_NAME",)),
    "sub_icb": (False, ("SUB_ICB_LOCATION_CODE", "SUB_ICB_CODE", "CCG_CODE")),
    "icb": (False, ("ICB_ONS_CODE", "ICB_CODE", "STP_CODE")),
    "icb_name": (False, ("ICB_NAME", "STP_NAME")),
    "hcp": (True, ("HCP_TYPE",)),
    "mode": (False, ("APPT_MODE", "APPOINTMENT_MODE")),
    "category": (False, ("NATIONAL_CATEGORY",)),
    "lead": (True, ("TIME_BETWEEN_BOOK_AND_APPT", "TIME_BETWEEN_BOOKING_AND_APPOINTMENT")),
    "count": (True, ("COUNT_OF_APPOINTMENTS", "COUNT_OF_APPTS", "APPOINTMENTS")),
    "status": (True, ("APPT_STATUS", "APPOINTMENT_STATUS")),
}

#: Patients Registered at a GP Practice, "gp-reg-pat-prac-all.csv" (one row per practice; in
#: the sex/age files, the SEX = ALL, AGE = ALL rows).
PATIENTS_COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "practice": (True, ("CODE", "PRACTICE_CODE", "PRAC_CODE", "ORG_CODE")),
    "patients": (True, ("NUMBER_OF_PATIENTS", "TOTAL_PATIENTS", "NUMBER_OF_PATIENTS_TOTAL")),
    "extract_date": (False, ("EXTRACT_DATE",)),
    "sex": (False, ("SEX",)),
    "age": (False, ("AGE",)),
    "type": (False, ("TYPE", "ORG_TYPE")),
}

#: Primary Care Network Workforce, individual level ("PCN Workforce Individual Level.csv"): one
#: row per member of staff with their role and FTE.
PCN_WORKFORCE_COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "pcn": (True, ("PCN_CODE",)),
    "pcn_name": (False, ("PCN_NAME",)),
    "role": (True, ("STAFF_ROLE", "DETAILED_STAFF_ROLE", "JOB_ROLE")),
    "detailed_role": (False, ("DETAILED_STAFF_ROLE",)),
    "fte": (True, ("FTE", "FULL_TIME_EQUIVALENT", "STAFF_FTE")),
    "year": (False, ("CENSUS_YEAR",)),
    "month": (False, ("CENSUS_MONTH",)),
}

#: GPAD's TIME_BETWEEN_BOOK_AND_APPT values (spaces collapsed, case ignored) -> pcnsim's seven bins
#: (`booked_share.<bin>`); "Unknown / Data Quality" -> "unknown" (left out of the shares' denominator).
LEAD_BINS = ("same_day", "1_day", "2_7_days", "8_14_days", "15_21_days", "22_28_days", "over_28_days")
_LEAD_TEXT = {"same day": "same_day", "1 day": "1_day", "2 to 7 days": "2_7_days", "8 to 14 days": "8_14_days",
              "15 to 21 days": "15_21_days", "22 to 28 days": "22_28_days", "more than 28 days": "over_28_days",
              "over 28 days": "over_28_days", "28 days or more": "over_28_days"}

#: STAFF_ROLE words -> pcnsim's ARRS role (`arrs.mix`), first match wins; roles matching none are
#: not ARRS roles the model has (directors, managers, admin) and are listed, not used.
ARRS_ROLE_WORDS: tuple[tuple[str, str], ...] = (
    ("pharmacy technician", "pharmacy_technician"),
    ("pharmacist", "clinical_pharmacist"),
    ("physio", "first_contact_physio"),
    ("paramedic", "paramedic"),
    ("physician associate", "physician_associate"),
    ("advanced", "advanced_practitioner"),
    ("mental health", "mental_health_practitioner"),
    ("social prescrib", "social_prescribing_link_worker"),
    ("wellbeing coach", "health_wellbeing_coach"),
    ("care co", "care_coordinator"),
    ("nurse associate", "general_practice_nurse"),
    ("nurse", "general_practice_nurse"),
    ("gp", "arrs_gp"),
)


@dataclass(frozen=True)
class Table:
    """One file read: its rows under our column names, where it came from, and its month(s)."""

    frame: pd.DataFrame
    files: tuple[Path, ...]
    months: tuple[str, ...]          # "YYYY-MM", sorted; empty when the file does not say

    @property
    def period(self) -> str:
        """The months as the `calibration.period` text: "2024-04" or "2024-04/2024-06"."""
        if not self.months:
            return "month not stated in the file"
        return self.months[0] if len(self.months) == 1 else f"{self.months[0]}/{self.months[-1]}"

    @property
    def names(self) -> str:
        return ", ".join(p.name for p in self.files)


# --------------------------------------------------------------------------- helpers
def _norm(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", str(name).strip().upper().lstrip("\ufeff"))


def _read_csv(path: Path, kind: str) -> pd.DataFrame:
    """A CSV as strings (no guessing of types: codes keep their leading zeros)."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file; expected the {kind} CSV as downloaded from NHS Digital "
                            "(docs/data.md says where).")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", low_memory=False)
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1", low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataFileError(f"{path}: cannot be read as a CSV ({str(e).splitlines()[0]}); expected the {kind} "
                            "CSV as downloaded from NHS Digital (docs/data.md).") from None


def _columns(frame: pd.DataFrame, path: Path, spec: Mapping[str, tuple[bool, tuple[str, ...]]], kind: str,
             need: Iterable[str] = ()) -> pd.DataFrame:
    """The columns of `spec` under our names; a required one missing is an error naming the variants tried."""
    have = {_norm(c): c for c in frame.columns}
    out = {}
    need = set(need)
    for ours, (required, variants) in spec.items():
        found = next((have[_norm(v)] for v in variants if _norm(v) in have), None)
        if found is None:
            if required or ours in need:
                shown = ", ".join(list(frame.columns)[:12]) + (", ..." if len(frame.columns) > 12 else "")
                raise DataFileError(
                    f"{path}: the {kind} file has no column {variants[0]} (tried {', '.join(variants)}; case and "
                    f"spaces ignored). Its columns are: {shown or 'none'}. Is this the right file? docs/data.md "
                    f"lists the files `pcnsim build` reads and their columns.")
            continue
        out[ours] = frame[found].astype(str).str.strip()
    return pd.DataFrame(out)


def _numbers(frame: pd.DataFrame, cols: Sequence[str], path: Path, kind: str, spec) -> None:
    """Columns made numbers in place: the placeholders (`MISSING`) become NaN; other text is an error."""
    for col in cols:
        if col not in frame:
            continue
        text = frame[col].str.replace(",", "", regex=False)
        missing = text.str.upper().isin(MISSING)
        values = pd.to_numeric(text.where(~missing), errors="coerce")
        bad = values.isna() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFileError(
                f"{path}: the {kind} file's column {spec[col][1][0]} holds '{frame[col].iloc[row]}' on data row "
                f"{row + 1}, not a number (or ND, not disclosed). Is the file complete and unedited?")
        frame[col] = values.astype(float)


_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                                       "DEC"), start=1)}


def parse_month(text: str) -> Optional[str]:
    """A month as "YYYY-MM" from the dates the files write: 01APR2024, 01APRIL2024, 01-Apr-2024,
    2024-04-01, 01/04/2024, Apr-24; None if it is none of them."""
    t = str(text).strip().upper()
    m = re.fullmatch(r"(\d{1,2})[-/ ]?([A-Z]{3})[A-Z]*[-/ ]?(\d{4}|\d{2})", t)
    if m and m.group(2) in _MONTHS:
        year = int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)
        return f"{year:04d}-{_MONTHS[m.group(2)]:02d}"
    m = re.fullmatch(r"([A-Z]{3})[A-Z]*[-/ ](\d{4}|\d{2})", t)
    if m and m.group(1) in _MONTHS:
        year = int(m.group(2)) + (2000 if len(m.group(2)) == 2 else 0)
        return f"{year:04d}-{_MONTHS[m.group(1)]:02d}"
    m = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-\d{1,2})?(?:[ T].*)?", t)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", t)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(3)):04d}-{int(m.group(2)):02d}"
    return None


def _month_from_name(path: Path) -> Optional[str]:
    """The month a file's name gives ("... March 2024 Practice Level.csv", "..._Apr_24.csv")."""
    stem = Path(path).stem.upper()
    m = re.search(r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*[ _-]?(\d{4}|\d{2})\b", stem)
    if m:
        year = int(m.group(2)) + (2000 if len(m.group(2)) == 2 else 0)
        return f"{year:04d}-{_MONTHS[m.group(1)]:02d}"
    return None


def lead_bin(text: str) -> Optional[str]:
    """GPAD's time between booking and appointment as one of `LEAD_BINS`, "unknown", or None if unrecognised.
    Spaces are collapsed ("8  to 14 Days" appears with two in some months)."""
    t = re.sub(r"\s+", " ", str(text).strip().lower())
    if t in _LEAD_TEXT:
        return _LEAD_TEXT[t]
    if "unknown" in t or "data quality" in t or t in ("", "not known"):
        return "unknown"
    return None


def appt_status(text: str) -> str:
    """GPAD's APPT_STATUS as attended / dna / unknown ("Appt Status Not Provided" and the like: unknown)."""
    t = str(text).strip().lower()
    if t == "attended":
        return "attended"
    if t in ("dna", "did not attend"):
        return "dna"
    return "unknown"


def hcp_type(text: str) -> str:
    """GPAD's HCP_TYPE as gp / other / unknown."""
    t = str(text).strip().lower()
    if t == "gp":
        return "gp"
    if t.startswith("other"):
        return "other"
    return "unknown"


# --------------------------------------------------------------------------- readers
def read_workforce(path: str | Path, need: Iterable[str] = ()) -> Table:
    """The GP workforce practice-level CSV: one row per practice, FTEs as numbers (NaN where "ND").

    `need`: optional columns the caller cannot do without (e.g. "icb_name" for England)."""
    path = Path(path)
    kind = "General Practice Workforce practice-level"
    frame = _columns(_read_csv(path, kind), path, WORKFORCE_COLUMNS, kind, need)
    _numbers(frame, ["patients", "gp_fte", "gp_extgl_fte", "nurse_fte", "dpc_fte", "admin_fte"], path, kind,
             WORKFORCE_COLUMNS)
    frame = frame[frame["practice"] != ""].reset_index(drop=True)
    month = None
    if "extract_date" in frame and len(frame):
        month = parse_month(frame["extract_date"].iloc[0])
    month = month or _month_from_name(path)
    return Table(frame, (path,), (month,) if month else ())


def read_gpad(paths: str | Path | Sequence[str | Path]) -> Table:
    """One or more GPAD practice-level CSVs (one a month) as one table: our names, `lead` one of
    `LEAD_BINS` or "unknown", `status` attended/dna/unknown, `hcp` gp/other/unknown, `count` a number,
    `month` "YYYY-MM". Rows of COVID-19 vaccination categories, where the file has them, are dropped
    (GPAD's headline figures leave them out)."""
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not paths:
        raise DataFileError("no Appointments in General Practice CSV given; expected one a month "
                            "(Practice_Level_Crosstab_<Mon>_<YY>.csv, docs/data.md).")
    kind = "Appointments in General Practice practice-level"
    frames = []
    for path in paths:
        frame = _columns(_read_csv(path, kind), path, GPAD_COLUMNS, kind)
        _numbers(frame, ["count"], path, kind, GPAD_COLUMNS)
        months = frame["month"].map(parse_month)
        if months.isna().any():
            row = int(np.flatnonzero(months.isna().to_numpy())[0])
            raise DataFileError(f"{path}: APPOINTMENT_MONTH_START_DATE holds '{frame['month'].iloc[row]}' on data row "
                                f"{row + 1}, not a date such as 01APR2024 or 2024-04-01.")
        frame["month"] = months
        lead = frame["lead"].map(lead_bin)
        if lead.isna().any():
            row = int(np.flatnonzero(lead.isna().to_numpy())[0])
            raise DataFileError(
                f"{path}: TIME_BETWEEN_BOOK_AND_APPT holds '{frame['lead'].iloc[row]}' on data row {row + 1}; "
                "expected one of Same Day, 1 Day, 2 to 7 Days, 8 to 14 Days, 15 to 21 Days, 22 to 28 Days, "
                "More than 28 Days, Unknown / Data Quality.")
        frame["lead"] = lead
        frame["status"] = frame["status"].map(appt_status)
        frame["hcp"] = frame["hcp"].map(hcp_type)
        frame["count"] = frame["count"].fillna(0.0)
        if "category" in frame:
            frame = frame[~frame["category"].str.lower().str.contains("covid", regex=False)]
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return Table(frame, tuple(paths), tuple(sorted(frame["month"].unique())))


def read_patients(path: str | Path) -> Table:
    """Patients registered at a GP practice (all ages, both sexes): practice code and patients."""
    path = Path(path)
    kind = "Patients Registered at a GP Practice"
    frame = _columns(_read_csv(path, kind), path, PATIENTS_COLUMNS, kind)
    for col, keep in (("sex", "ALL"), ("age", "ALL")):
        if col in frame:
            frame = frame[frame[col].str.upper() == keep]
    if "type" in frame:
        frame = frame[frame["type"].str.upper().isin(("GP", "PRACTICE", ""))]
    frame = frame.reset_index(drop=True)
    _numbers(frame, ["patients"], path, kind, PATIENTS_COLUMNS)
    month = parse_month(frame["extract_date"].iloc[0]) if "extract_date" in frame and len(frame) else None
    month = month or _month_from_name(path)
    return Table(frame[["practice", "patients"]], (path,), (month,) if month else ())


def arrs_role(text: str) -> Optional[str]:
    """A STAFF_ROLE as one of pcnsim's ARRS roles, or None (`ARRS_ROLE_WORDS`)."""
    t = str(text).strip().lower()
    if "director" in t or "manager" in t or "admin" in t:
        return None
    for words, role in ARRS_ROLE_WORDS:
        if (words == "gp" and re.search(r"\bgps?\b", t)) or (words != "gp" and words in t):
            return role
    return None


def read_pcn_workforce(path: str | Path) -> Table:
    """The PCN workforce individual-level CSV: PCN, role (and pcnsim's ARRS role, `arrs_role`), FTE."""
    path = Path(path)
    kind = "Primary Care Network Workforce"
    frame = _columns(_read_csv(path, kind), path, PCN_WORKFORCE_COLUMNS, kind)
    _numbers(frame, ["fte"], path, kind, PCN_WORKFORCE_COLUMNS)
    frame["fte"] = frame["fte"].fillna(0.0)
    role_text = frame["detailed_role"].where(frame.get("detailed_role", "") != "", frame["role"]) \
        if "detailed_role" in frame else frame["role"]
    frame["arrs_role"] = [arrs_role(d) or arrs_role(r) for d, r in zip(role_text, frame["role"])]
    month = None
    if "year" in frame and "month" in frame and len(frame):
        try:
            month = f"{int(float(frame['year'].iloc[0])):04d}-{int(float(frame['month'].iloc[0])):02d}"
        except ValueError:
            month = None
    month = month or _month_from_name(path)
    return Table(frame, (path,), (month,) if month else ())


def today() -> str:
    """Today's date (the build's record)."""
    return dt.date.today().isoformat()
