"""`pcnsim build`: a scenario file from NHS Digital's published CSVs in a folder.

`build_pcn` writes one PCN (its practices, lists, GP, nurse and DPC WTE, ARRS mix where the PCN
workforce file is given, and the `calibration:` targets from GPAD); `build_england` writes the
England scenario, one sweep point per ICB, each with its PCNs' lists, its staffing per 10,000
patients and its demand from the same files. Both return the YAML text and the notes to print
(practices dropped, values not disclosed); the caller writes the file. No network, no model.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from pcnsim.config import ARRS_ROLES
from pcnsim.data.readers import (GPAD_COLUMNS, PATIENTS_COLUMNS, PCN_WORKFORCE_COLUMNS, WORKFORCE_COLUMNS,
                                 DataFileError, Table, _norm, read_gpad, read_patients, read_pcn_workforce,
                                 read_workforce)
from pcnsim.data.targets import gpad_targets, months_text

__all__ = ["DataFiles", "find_files", "build_pcn", "build_england", "Built", "BASELINE_DEMAND",
           "DEMAND_PER_APPOINTMENT"]

#: The baseline's requests per patient a year (`demand.appointments_per_patient_year`) and the
#: ratio of requests to the appointments GPAD would count (every status) that the baseline model
#: gives: 6.3 requests for 5.97 booked appointments (attended and DNA) a patient (docs/model.md 7):
#: a built scenario's demand starts at the data's appointments a patient times this ratio, for
#: `pcnsim calibrate` to refine.
BASELINE_DEMAND = 6.3
DEMAND_PER_APPOINTMENT = 6.3 / 5.97


@dataclass(frozen=True)
class DataFiles:
    """The CSVs of a data folder, recognised by their columns."""

    folder: Path
    workforce: Path
    gpad: tuple[Path, ...]
    patients: Optional[Path] = None
    pcn_workforce: Optional[Path] = None


@dataclass
class Built:
    """A built scenario: its YAML text and the notes the terminal shows."""

    text: str
    notes: list[str] = field(default_factory=list)


def _header(path: Path) -> set[str]:
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as f:
            return {_norm(c) for c in f.readline().split(",")}
    except OSError:
        return set()


def _has(cols: set[str], spec, keys) -> bool:
    return all(any(_norm(v) in cols for v in spec[k][1]) for k in keys)


def find_files(folder: str | Path) -> DataFiles:
    """The published CSVs in `folder`, told apart by their header row (file names vary by month)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(f"{folder}: no such folder; --data names the folder holding the CSVs downloaded from "
                            "NHS Digital (docs/data.md).")
    workforce, gpad, patients, pcn_wf = [], [], [], []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        cols = _header(path)
        if _has(cols, GPAD_COLUMNS, ("lead", "count", "status")):
            gpad.append(path)
        elif _has(cols, WORKFORCE_COLUMNS, ("practice", "gp_fte")):
            workforce.append(path)
        elif _has(cols, PCN_WORKFORCE_COLUMNS, ("pcn", "role", "fte")):
            pcn_wf.append(path)
        elif _has(cols, PATIENTS_COLUMNS, ("practice", "patients")):
            patients.append(path)
    zips = sorted(p.name for p in folder.glob("*.zip"))
    hint = f" The folder holds {', '.join(zips[:3])}: unzip them there first." if zips else ""
    if not workforce:
        raise DataFileError(
            f"{folder}: no General Practice Workforce practice-level CSV (a file with columns PRAC_CODE and "
            f"TOTAL_GP_FTE).{hint} docs/data.md says where to download it.")
    if not gpad:
        raise DataFileError(
            f"{folder}: no Appointments in General Practice practice-level CSV (a file with columns "
            f"TIME_BETWEEN_BOOK_AND_APPT, COUNT_OF_APPOINTMENTS and APPT_STATUS).{hint} docs/data.md says where "
            "to download it.")
    for kind, found in (("General Practice Workforce practice-level", workforce),
                        ("Patients Registered at a GP Practice", patients), ("PCN workforce", pcn_wf)):
        if len(found) > 1:
            raise DataFileError(
                f"{folder}: {len(found)} {kind} CSVs ({', '.join(p.name for p in found)}); keep the one month "
                "to build from in the folder (GPAD files may be several months).")
    return DataFiles(folder, workforce[0], tuple(gpad), patients[0] if patients else None,
                     pcn_wf[0] if pcn_wf else None)


# --------------------------------------------------------------------------- text helpers
def _q(text: str) -> str:
    """A YAML double-quoted string (JSON's escapes are YAML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def _flow(values, digits: Optional[int] = None) -> str:
    if digits is None:
        return "[" + ", ".join(str(int(v)) for v in values) + "]"
    return "[" + ", ".join(_num(v, digits) for v in values) + "]"


def _num(v: float, digits: int = 2) -> str:
    """`v` to `digits` decimals without trailing zeros after the point (3900 stays 3900, 2.50 is 2.5)."""
    text = f"{v:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _staff(frame: pd.DataFrame, col: str) -> tuple[pd.Series, list[str]]:
    """A practice FTE column with the not-disclosed values filled: the disclosed practices' rate
    per 10,000 patients times the practice's list (the whole file's rate if none is disclosed)."""
    v = frame[col]
    missing = list(frame.loc[v.isna(), "practice"])
    if not missing:
        return v, []
    known = v.notna()
    rate = (v[known].sum() / frame.loc[known, "patients"].sum()) if known.any() else math.nan
    return v.fillna(frame["patients"] * rate), missing


def _ensure_numbers(frame: pd.DataFrame, rates: dict[str, float]) -> None:
    """Staff columns with no value left (a PCN with none disclosed) take the file's national rate."""
    for col, rate in rates.items():
        frame[col] = frame[col].fillna(frame["patients"] * rate)


def _rates(wf: pd.DataFrame) -> dict[str, float]:
    out = {}
    for col in ("gp_fte", "nurse_fte", "dpc_fte"):
        ok = wf[col].notna() & wf["patients"].notna()
        out[col] = float(wf.loc[ok, col].sum() / wf.loc[ok, "patients"].sum()) if ok.any() else 0.0
    return out


def _fully_qualified_gps(wf: pd.DataFrame) -> str:
    """GP capacity as the baseline counts it: fully qualified GPs (TOTAL_GP_EXTGL_FTE, trainees and
    locums out; the baseline's 4.5 per 10,000 is England's fully qualified FTE), in `gp_fte`; every
    GP (TOTAL_GP_FTE) kept in `gp_all_fte`. A practice without the column's figure takes its
    TOTAL_GP_FTE times the file's ratio of the two. Returns the column the GP WTE came from."""
    wf["gp_all_fte"] = wf["gp_fte"]
    if "gp_extgl_fte" not in wf or not wf["gp_extgl_fte"].notna().any():
        return "TOTAL_GP_FTE (every GP: trainees and locums included; the file has no TOTAL_GP_EXTGL_FTE)"
    both = wf["gp_extgl_fte"].notna() & wf["gp_fte"].notna()
    ratio = float(wf.loc[both, "gp_extgl_fte"].sum() / wf.loc[both, "gp_fte"].sum()) if both.any() else 1.0
    wf["gp_fte"] = wf["gp_extgl_fte"].fillna(wf["gp_fte"] * ratio)
    return "TOTAL_GP_EXTGL_FTE (fully qualified GPs, trainees and locums out, as the baseline counts GPs)"


# --------------------------------------------------------------------------- one PCN
def build_pcn(pcn_code: str, files: DataFiles) -> Built:
    """The scenario of one PCN from the folder's files (see the module docstring)."""
    code = pcn_code.strip().upper()
    wf_table = read_workforce(files.workforce)
    wf = wf_table.frame
    gp_source = _fully_qualified_gps(wf)
    rows = wf[wf["pcn"].str.upper() == code].copy()
    if rows.empty:
        known = sorted(wf["pcn"].unique())
        import difflib

        close = difflib.get_close_matches(code, known, n=3, cutoff=0.6)
        hint = f" Closest: {', '.join(close)}." if close else f" It lists {len(known)} PCNs, e.g. {', '.join(known[:3])}."
        raise DataFileError(f"{files.workforce}: no practice has PCN_CODE {code}.{hint} The PCN code is the "
                            "U-code in the file's PCN_CODE column (the Network Contract DES lists them).")
    notes: list[str] = []
    comments: list[str] = []
    pcn_name = rows["pcn_name"].iloc[0] if "pcn_name" in rows else code
    wf_month = months_text(wf_table.months, "month not stated in the file")

    # lists: the patients file where it has the practice, else TOTAL_PATIENTS
    list_source = f"{files.workforce.name} (TOTAL_PATIENTS, {wf_month})"
    if files.patients is not None:
        pat = read_patients(files.patients)
        lists = pat.frame.drop_duplicates("practice").set_index("practice")["patients"]
        from_file = rows["practice"].map(lists)
        n_from = int(from_file.notna().sum())
        rows["patients"] = from_file.fillna(rows["patients"])
        list_source = (f"{files.patients.name} (NUMBER_OF_PATIENTS, {months_text(pat.months)}) for {n_from} of "
                       f"{len(rows)} practices, else {files.workforce.name} TOTAL_PATIENTS")
    dropped = rows[rows["patients"].isna() | (rows["patients"] < 1)]
    if len(dropped):
        msg = (f"left out {len(dropped)} practice(s) with no list size (not disclosed or 0): "
               f"{', '.join(dropped['practice'])}")
        notes.append(msg)
        comments.append(msg)
    rows = rows[rows["patients"].notna() & (rows["patients"] >= 1)]
    if rows.empty:
        raise DataFileError(f"{files.workforce}: PCN {code}'s practices have no list size (TOTAL_PATIENTS not "
                            "disclosed); give the Patients Registered at a GP Practice CSV in the folder too.")
    rows = rows.sort_values("patients", ascending=False, kind="stable").reset_index(drop=True)

    national = _rates(wf)
    filled = {}
    for col in ("gp_fte", "nurse_fte", "dpc_fte"):
        rows[col], missing = _staff(rows, col)
        filled[col] = missing
    _ensure_numbers(rows, national)
    for col, label in (("gp_fte", "GP"), ("nurse_fte", "nurse"), ("dpc_fte", "DPC")):
        if filled[col]:
            msg = (f"{label} FTE not disclosed (ND) for {', '.join(filled[col])}: filled with the PCN's other "
                   f"practices' {label} FTE per patient (England's if none) times the practice's list")
            notes.append(msg)
            comments.append(msg)

    practices = list(rows["practice"])
    sizes = [max(1, int(round(x))) for x in rows["patients"]]
    total = sum(sizes)

    # GPAD for the same practices
    gpad = read_gpad(files.gpad)
    g = gpad.frame[gpad.frame["practice"].str.upper().isin([p.upper() for p in practices])]
    months = sorted(g["month"].unique()) if len(g) else list(gpad.months)
    without = [p for p in practices if p.upper() not in set(g["practice"].str.upper())]
    if len(g) == 0:
        raise DataFileError(f"{gpad.names}: no appointments for PCN {code}'s practices ({', '.join(practices)}); "
                            "are the GPAD files for the same months and England?")
    if without:
        msg = (f"no GPAD appointments for {', '.join(without)}: the targets cover the other "
               f"{len(practices) - len(without)} practices only (their lists: "
               f"{sum(s for p, s in zip(practices, sizes) if p not in without):,} of {total:,} patients)")
        notes.append(msg)
        comments.append(msg)
    targets = gpad_targets(g, len(months))
    booked = (targets["appointments_per_year"] + targets["dna_per_year"])
    covered = sum(s for p, s in zip(practices, sizes) if p not in without)
    per_patient = booked / covered if covered else 0.0
    demand = round(min(100.0, max(0.1, per_patient * DEMAND_PER_APPOINTMENT)), 2)
    period = months_text(months)

    # ARRS
    arrs_lines: list[str] = []
    if files.pcn_workforce is not None:
        pw = read_pcn_workforce(files.pcn_workforce)
        mine = pw.frame[pw.frame["pcn"].str.upper() == code]
        by_role = mine.groupby("arrs_role")["fte"].sum() if len(mine) else pd.Series(dtype=float)
        other = sorted(set(mine.loc[mine["arrs_role"].isna(), "role"]))
        arrs_total = float(by_role.sum())
        if arrs_total > 0:
            arrs_lines.append(f"arrs:                       # ARRS staff in post, {files.pcn_workforce.name} "
                              f"({months_text(pw.months)}): {_num(arrs_total, 1)} FTE by role")
            arrs_lines.append("  mix:                      # role shares of the staff in post (the count still "
                              "follows the budget rule, funding.arrs_per_patient)")
            for r in ARRS_ROLES:
                fte = float(by_role.get(r, 0.0))
                arrs_lines.append(f"    {r + ':':<31} {_num(fte / arrs_total, 4):<7} # {_num(fte, 2)} FTE")
            if other:
                arrs_lines.append(f"  # roles in the file pcnsim does not model as ARRS staff, left out: "
                                  f"{', '.join(other)[:300]}")
        else:
            msg = (f"{files.pcn_workforce.name} has no ARRS staff for {code}: ARRS staff follow the budget rule "
                   "(funding.arrs_per_patient x list, the baseline mix)")
            notes.append(msg)
            arrs_lines.append(f"# {msg}")
    else:
        arrs_lines.append("# ARRS staff: no PCN workforce CSV in the folder, so they follow the budget rule: "
                          "funding.arrs_per_patient (the baseline's £22.89)")
        arrs_lines.append(f"# x the PCN's {total:,} patients buys the baseline's role mix (arrs.mix).")

    every_gp = f"; every GP, trainees and locums included (TOTAL_GP_FTE): {_num(float(rows['gp_all_fte'].sum()), 1)} FTE"

    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", f"pcn-{code}")[:100]
    L = [
        f"# PCN {code} ({pcn_name}), built by `pcnsim build {code}` from NHS Digital's published files.",
        "#",
        f"# Practices, lists and staff: {files.workforce.name} (General Practice Workforce, practice level,",
        f"#   {wf_month}). Lists: {list_source}.",
        f"# Targets (calibration:): {gpad.names} (Appointments in General Practice, practice level, {period}).",
        "# Practice 0 is the largest (the clinical director's practice in the model).",
    ]
    L += [f"# NOTE: {c}." for c in comments]
    L += [
        "#",
        "#   pcnsim calibrate FILE.yaml      # fit demand and booking to the targets below",
        "#   pcnsim run FILE.yaml            # simulate it",
        "",
        f"name: {name}",
        "description: >-",
        f"  PCN {code} ({pcn_name}): {len(practices)} practices, {total:,} registered patients, with their GP,",
        f"  nurse and direct patient care staff as published for {wf_month}, and GPAD's appointments for",
        f"  {period} as calibration targets.",
        "extends: baseline",
        "",
        "pcn:",
        f"  practices: {len(practices)}",
        f"  # practice codes, in order: {', '.join(practices)}",
        f"  list_sizes: {_flow(sizes)}    # registered patients, {list_source.split(' (')[0]}",
        f"  gp_wte: {_flow(rows['gp_fte'], 2)}    # {gp_source}: {_num(float(rows['gp_fte'].sum()), 1)} FTE"
        f"{every_gp if gp_source.startswith('TOTAL_GP_EXTGL') else ''}",
        f"  nurse_wte: {_flow(rows['nurse_fte'], 2)}    # TOTAL_NURSES_FTE",
        f"  dpc_wte: {_flow(rows['dpc_fte'], 2)}    # TOTAL_DPC_FTE: practice-employed direct patient care "
        "staff (HCAs, pharmacists, ...)",
        "",
        "demand:",
        f"  appointments_per_patient_year: {_num(demand, 2)}   # a first guess: GPAD's {_num(per_patient, 2)} "
        f"appointments a patient a year (attended + DNA, {period}, annualised)",
        f"                                       # x {_num(DEMAND_PER_APPOINTMENT, 3)}, the baseline's requests "
        "per appointment; `pcnsim calibrate` fits it",
        "",
        *arrs_lines,
        "",
        "calibration:",
        f"  source: {_q(f'NHS Digital Appointments in General Practice, practice level, {period}; General Practice Workforce, practice level, {wf_month}')}",
        f"  period: {_q(months[0] if len(months) == 1 else months[0] + '/' + months[-1])}",
        f"  practices: [{', '.join(practices)}]",
        "  targets:                   # per PCN a year; shares of every booked appointment (attended, DNA, unknown)",
        f"    appointments_per_year: {_num(targets['appointments_per_year'], 0)}   # APPT_STATUS Attended, "
        f"x 12 / {len(months)} month(s)",
        f"    dna_per_year: {_num(targets['dna_per_year'], 0)}   # APPT_STATUS DNA, x 12 / {len(months)} month(s)",
    ]
    if "gp_appointment_share" in targets:
        L.append(f"    gp_appointment_share: {_num(targets['gp_appointment_share'], 4)}   # HCP_TYPE GP over GP + "
                 "Other Practice staff (Unknown left out)")
    for key, v in targets.items():
        if key.startswith("booked_share."):
            L.append(f"    {key}: {_num(v, 4)}")
    if any(k.startswith("booked_share.") for k in targets):
        L.append("    # booked_share.*: TIME_BETWEEN_BOOK_AND_APPT over the seven bins; 'Unknown / Data "
                 "Quality' left out of the denominator")
    notes.insert(0, f"PCN {code} ({pcn_name}): {len(practices)} practices, {total:,} patients; "
                    f"targets from {len(g):,} GPAD rows, {period}")
    return Built("\n".join(L) + "\n", notes)


# --------------------------------------------------------------------------- England
def build_england(files: DataFiles) -> Built:
    """The England scenario: one sweep point per ICB with its PCNs' lists, staff per 10,000 patients
    and demand from the folder's files (see the module docstring)."""
    wf_table = read_workforce(files.workforce, need=("icb_name",))
    wf = wf_table.frame.copy()
    gp_source = _fully_qualified_gps(wf)
    notes: list[str] = []
    comments: list[str] = []
    if files.patients is not None:
        pat = read_patients(files.patients)
        lists = pat.frame.drop_duplicates("practice").set_index("practice")["patients"]
        wf["patients"] = wf["practice"].map(lists).fillna(wf["patients"])
    no_list = wf["patients"].isna() | (wf["patients"] < 1)
    no_pcn = wf["pcn"].str.upper().isin(("", "NA", "UNALLOCATED"))
    for mask, why in ((no_list, "no list size (not disclosed)"), (no_pcn & ~no_list, "no PCN code")):
        if mask.any():
            msg = f"left out {int(mask.sum())} practice(s) with {why}: {', '.join(wf.loc[mask, 'practice'][:10])}" + \
                  (" ..." if mask.sum() > 10 else "")
            notes.append(msg)
            comments.append(msg)
    wf = wf[~no_list & ~no_pcn]
    national = _rates(wf)
    for col, label in (("gp_fte", "GP"), ("nurse_fte", "nurse"), ("dpc_fte", "DPC")):
        nd = int(wf[col].isna().sum())
        if nd:
            msg = (f"{label} FTE not disclosed (ND) at {nd} practice(s): their ICB's rate is that of its "
                   "practices that disclose it (patients of undisclosed practices left out of the rate)")
            notes.append(msg)
            comments.append(msg)

    gpad = read_gpad(files.gpad)
    months = list(gpad.months)
    g = gpad.frame
    per_practice = g.groupby("practice")["count"].sum()
    wf["booked"] = wf["practice"].map(per_practice)
    per_year = 12.0 / len(months)
    has_gpad = wf["booked"].notna()
    england_rate = float(wf.loc[has_gpad, "booked"].sum() / wf.loc[has_gpad, "patients"].sum()) * per_year
    period = months_text(months)
    wf_month = months_text(wf_table.months, "month not stated in the file")

    points = []
    for icb, grp in sorted(wf.groupby("icb_name"), key=lambda kv: kv[0]):
        pcns = grp.groupby("pcn")["patients"].sum().sort_values(ascending=False)
        practices = len(grp)
        patients = float(grp["patients"].sum())
        rate = {}
        for col in ("gp_fte", "nurse_fte", "dpc_fte"):
            ok = grp[col].notna()
            rate[col] = (float(grp.loc[ok, col].sum() / grp.loc[ok, "patients"].sum()) if ok.any()
                         else national[col]) * 10_000
        ok = grp["booked"].notna()
        appts = float(grp.loc[ok, "booked"].sum() / grp.loc[ok, "patients"].sum()) * per_year if ok.any() \
            else england_rate
        demand = BASELINE_DEMAND * appts / england_rate if england_rate > 0 else BASELINE_DEMAND
        gi = g[g["practice"].isin(set(grp["practice"]))]
        known = gi[gi["lead"] != "unknown"]["count"].sum()
        over21 = (gi[gi["lead"].isin(("22_28_days", "over_28_days"))]["count"].sum() / known) if known else math.nan
        point = {"ics.name": str(icb), "ics.pcns": int(len(pcns)),
                 "ics.pcn_list_sizes": [max(100, int(round(x))) for x in pcns],
                 "pcn.list_size_per_practice": max(100, int(round(patients / practices))),
                 "gps.wte_per_10k": round(rate["gp_fte"], 2), "nurses.wte_per_10k": round(rate["nurse_fte"], 2),
                 "dpc.wte_per_10k": round(rate["dpc_fte"], 2),
                 "demand.appointments_per_patient_year": round(min(100.0, demand), 2)}
        note = (f"{practices} practices, {patients / 1e6:.2f}m patients; {appts:.2f} GPAD appointments a patient "
                f"a year; {over21 * 100:.1f}% over 21 days; DPC {rate['dpc_fte']:.2f} per 10k")
        points.append((point, note))

    total_patients = float(wf["patients"].sum())
    total_booked = float(g["count"].sum()) * per_year
    attended = float(g.loc[g["status"] == "attended", "count"].sum()) * per_year
    targets = gpad_targets(g, len(months))
    n_pcns = int(wf["pcn"].nunique())
    L = [
        "# England from published data, built by `pcnsim build england`: one sweep point per ICB, each with",
        "# its own PCNs (their lists), staff per 10,000 patients and demand, so the ICBs differ for data reasons.",
        "#",
        f"# Practices, PCNs, lists and staff: {files.workforce.name} (General Practice Workforce, practice level,",
        f"#   {wf_month}); GP = {gp_source}, nurses = TOTAL_NURSES_FTE, DPC = TOTAL_DPC_FTE.",
        f"# Demand: {gpad.names} (Appointments in General Practice, practice level, {period}): each ICB's",
        f"#   appointments a patient a year (every status, annualised) over England's ({england_rate:.2f}) times",
        f"#   the baseline's {BASELINE_DEMAND} requests a patient.",
    ]
    L += [f"# NOTE: {c}." for c in comments]
    L += [
        "#",
        "#   pcnsim run FILE.yaml        # about a minute on two cores",
        "",
        "name: england-data",
        "description: >-",
        f"  England from NHS Digital's files: {len(points)} ICBs, {n_pcns:,} PCNs, {total_patients / 1e6:.1f}m "
        f"registered patients ({wf_month}), staff and demand by ICB, GPAD {period}.",
        "extends: england",
        "report:",
        "  published:",
        "    - metric: registered_patients",
        f"      value: {int(round(total_patients))}",
        f"      source: {_q(f'{files.workforce.name}, TOTAL_PATIENTS summed ({wf_month})')}",
        "      note: \"an input\"",
        "    - metric: pcns_simulated",
        f"      value: {n_pcns}",
        f"      source: {_q(f'{files.workforce.name}, PCN_CODE ({wf_month})')}",
        "      note: \"an input\"",
        "    - metric: appointments_per_year",
        f"      value: {int(round(total_booked))}",
        f"      source: {_q(f'{gpad.names}: every status, x 12 / {len(months)} month(s) ({period})')}",
        f"      note: {_q(f'attended only: {int(round(attended)):,}')}",
    ]
    if "gp_appointment_share" in targets:
        L += ["    - metric: gp_appointment_share", f"      value: {targets['gp_appointment_share']}",
              f"      source: {_q(f'{gpad.names}, HCP_TYPE GP over GP + Other Practice staff ({period})')}"]
    if "booked_share.same_day" in targets:
        L += ["    - metric: booked_same_day_share", f"      value: {targets['booked_share.same_day']}",
              f"      source: {_q(f'{gpad.names}, Same Day over the seven known bins ({period})')}"]
    L += ["sweep:", "  points:"]
    for point, note in points:
        body = ", ".join(f"{k}: {_q(v) if isinstance(v, str) else (_flow(v) if isinstance(v, list) else v)}"
                         for k, v in point.items())
        L.append(f"    # {note}")
        L.append(f"    - {{{body}}}")
    notes.insert(0, f"England: {len(points)} ICBs, {n_pcns:,} PCNs, {total_patients:,.0f} patients; GPAD {period}")
    return Built("\n".join(L) + "\n", notes)
