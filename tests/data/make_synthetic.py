"""Writes tests/data/published/: SYNTHETIC files in the layouts of NHS Digital's published CSVs
(made up by the project, not NHS data). Run `python -m tests.data.make_synthetic` to remake them."""
from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent / "published"

#: practice, name, PCN, PCN name, sub-ICB, ICB code, ICB name, patients, GP FTE, EXTGL FTE, nurse FTE, DPC FTE.
#: The North PCN's GPs (11.9 fully qualified FTE, 4.7 per 10,000 patients) are enough for its
#: GPAD volume (about 6 appointments a patient a year) at a plausible demand, so `pcnsim
#: calibrate` finds a fit (10.3 FTE could not deliver it at any demand: GPs 100% busy throughout).
PRACTICES = [
    ("Z00001", "SYNTHETIC SURGERY ONE", "U00001", "SYNTHETIC NORTH PCN", "01X", "QXA", "NHS Synthetic North ICB",
     "12000", "7.2", "6.0", "3.2", "2.4"),
    ("Z00002", "SYNTHETIC SURGERY TWO", "U00001", "SYNTHETIC NORTH PCN", "01X", "QXA", "NHS Synthetic North ICB",
     "8000", "4.4", "3.6", "2.1", "1.5"),
    ("Z00003", "SYNTHETIC SURGERY THREE", "U00001", "SYNTHETIC NORTH PCN", "01X", "QXA", "NHS Synthetic North ICB",
     "5000", "2.6", "2.3", "1.4", "ND"),
    ("Z00011", "SYNTHETIC MEDICAL CENTRE", "U00002", "SYNTHETIC SOUTH PCN", "02Y", "QXB", "NHS Synthetic South ICB",
     "15000", "7.0", "6.0", "4.5", "3.0"),
    ("Z00012", "SYNTHETIC HEALTH CENTRE", "U00002", "SYNTHETIC SOUTH PCN", "02Y", "QXB", "NHS Synthetic South ICB",
     "9000", "4.1", "3.3", "ND", "1.0"),
    ("Z00013", "SYNTHETIC VILLAGE PRACTICE", "U00002", "SYNTHETIC SOUTH PCN", "02Y", "QXB", "NHS Synthetic South ICB",
     "4000", "1.6", "1.6", "1.0", "0.5"),
    ("Z00021", "SYNTHETIC NEW PRACTICE", "U00003", "SYNTHETIC EAST PCN", "02Y", "QXB", "NHS Synthetic South ICB",
     "ND", "ND", "ND", "ND", "ND"),
]
BINS = ["Same Day", "1 Day", "2 to 7 Days", "8  to 14 Days", "15  to 21 Days", "22  to 28 Days", "More than 28 Days",
        "Unknown / Data Quality"]
NORTH = [0.40, 0.07, 0.20, 0.13, 0.08, 0.06, 0.05, 0.01]      # the North ICB books further ahead
SOUTH = [0.50, 0.08, 0.20, 0.11, 0.06, 0.03, 0.015, 0.005]


def _workforce() -> None:
    cols = ["PRAC_CODE", "PRAC_NAME", "PCN_CODE", "PCN_NAME", "SUB_ICB_CODE", "ICB_CODE", "ICB_NAME",
            "TOTAL_PATIENTS", "TOTAL_GP_FTE", "TOTAL_GP_EXTGL_FTE", "TOTAL_NURSES_FTE", "TOTAL_DPC_FTE"]
    with (HERE / "1 General Practice - March 2024 Practice Level - Detailed (SYNTHETIC).csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*cols[:5], "SUB_ICB_NAME", *cols[5:], "TOTAL_ADMIN_FTE"])
        for p in PRACTICES:
            w.writerow([*p[:5], f"SYNTHETIC SUB-ICB {p[4]}", *p[5:], "5.0"])


def _gpad(month: str, stamp: str, factor: float, status_col: str, lead_text) -> None:
    """One month; `status_col` and `lead_text` vary the layout as publications do."""
    cols = ["APPOINTMENT_MONTH_START_DATE", "GP_CODE", "GP_NAME", "SUPPLIER", "PCN_CODE", "PCN_NAME",
            "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "ICB_ONS_CODE", "ICB_NAME", "REGION_ONS_CODE",
            "REGION_NAME", "HCP_TYPE", "APPT_MODE", "NATIONAL_CATEGORY", "TIME_BETWEEN_BOOK_AND_APPT",
            "COUNT_OF_APPOINTMENTS", status_col]
    with (HERE / f"Practice_Level_Crosstab_{month}.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for p in PRACTICES:
            if p[0] == "Z00013":            # a practice with no GPAD rows (not yet submitting)
                continue
            patients = 3000 if p[7] == "ND" else int(p[7])
            month_total = patients * 0.5 * factor            # about 6 appointments a patient a year
            shares = NORTH if p[5] == "QXA" else SOUTH
            ons = "E54000901" if p[5] == "QXA" else "E54000902"
            for hcp, hs in (("GP", 0.45), ("Other Practice staff", 0.53), ("Unknown", 0.02)):
                for b, bs in zip(BINS, shares):
                    for status, ss in (("Attended", 0.93), ("DNA", 0.05), ("Unknown", 0.02)):
                        n = int(round(month_total * hs * bs * ss))
                        if n:
                            w.writerow([stamp, p[0], p[1], "SYNTHETIC", p[2], p[3], p[4], f"SYNTHETIC SUB-ICB {p[4]}",
                                        ons, p[6], "E40000000", "SYNTHETIC REGION", hcp, "Face-to-Face",
                                        "General Consultation Routine", lead_text(b), n, status])
            # COVID vaccination rows, as some months carry them: left out by the reader
            w.writerow([stamp, p[0], p[1], "SYNTHETIC", p[2], p[3], p[4], "", ons, p[6], "E40000000", "", "Other Practice staff",
                        "Face-to-Face", "COVID 19 Vaccination", "Same Day", 999, "Attended"])


def _patients() -> None:
    with (HERE / "gp-reg-pat-prac-all (SYNTHETIC).csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["PUBLICATION", "EXTRACT_DATE", "TYPE", "SUB_ICB_LOCATION_CODE", "ONS_SUB_ICB_LOCATION_CODE",
                    "CODE", "POSTCODE", "SEX", "AGE", "NUMBER_OF_PATIENTS"])
        for p, n in (("Z00001", 12100), ("Z00002", 8050), ("Z00003", 5010), ("Z00011", 15020), ("Z00012", 9100),
                     ("Z00013", 4010), ("Z00021", 3000)):
            w.writerow(["GP_PRAC_PAT_LIST", "01APR2024", "GP", "01X", "E38000000", p, "ZZ1 1ZZ", "ALL", "ALL", n])


def _pcn_workforce() -> None:
    with (HERE / "PCN Workforce Individual Level March 2024 (SYNTHETIC).csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Data_source", "CENSUS_YEAR", "CENSUS_MONTH", "PCN_CODE", "PCN_NAME", "SUB_ICB_CODE",
                    "SUB_ICB_NAME", "ICB_CODE", "ICB_NAME", "COMM_REGION_CODE", "COMM_REGION_NAME", "STAFF_GROUP",
                    "STAFF_ROLE", "DETAILED_STAFF_ROLE", "FTE", "UNIQUE_IDENTIFIER"])
        rows = [("U00001", "Direct Patient Care", "Clinical Pharmacist", "Clinical Pharmacist", "1.0"),
                ("U00001", "Direct Patient Care", "Clinical Pharmacist", "Clinical Pharmacist", "0.6"),
                ("U00001", "Direct Patient Care", "Social Prescribing Link Worker", "Social Prescribing Link Worker", "1.0"),
                ("U00001", "Direct Patient Care", "Care Co-ordinator", "Care Co-ordinator", "1.4"),
                ("U00001", "Direct Patient Care", "First Contact Physiotherapist", "First Contact Physiotherapist", "1.0"),
                ("U00001", "Directors", "Clinical Director (GP)", "Clinical Director (GP)", "0.25"),
                ("U00002", "Direct Patient Care", "Pharmacy Technician", "Pharmacy Technician", "1.0"),
                ("U00002", "Direct Patient Care", "Paramedic", "Paramedic", "ND")]
        for i, (pcn, group, role, detailed, fte) in enumerate(rows):
            w.writerow(["NWRS Staff", 2024, 3, pcn, f"SYNTHETIC PCN {pcn}", "01X", "", "QXA", "", "Y00", "", group,
                        role, detailed, fte, 1000 + i])


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    _workforce()
    _gpad("Apr_24", "01APR2024", 1.0, "APPT_STATUS", lambda b: b)
    _gpad("May_24", "01-May-2024", 1.05, "APPOINTMENT_STATUS", lambda b: " ".join(b.split()))  # the variants
    _patients()
    _pcn_workforce()


if __name__ == "__main__":
    main()
