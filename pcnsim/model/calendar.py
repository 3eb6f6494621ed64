"""The model's clock and working calendar: when each day's and week's events happen.

Time is in hours from Monday 00:00 of the first week of April; a week has ten session slots
(Mon AM, Mon PM, ..., Fri PM). Bank holidays close practices; winter raises demand.
"""
from __future__ import annotations

import functools

from pcnsim.config import DAYS_PER_WEEK, SESSION_HOURS, WEEKS_PER_YEAR, Scenario

WEEK = 168.0
DAY = 24.0
SESSION_START = (8.0, 13.0)           # AM and PM session start, hours after midnight
ARRIVALS_AT, SERVICE_AT = 7.0, 18.0   # when a day's requests arrive and its capacity serves them
WEEK_PLAN_AT, WEEK_CLOSE_AT = 0.5, 5 * DAY + 1.0  # Monday 00:30 plan; Saturday 01:00 books close
FRIDAY_EVENING = 4 * DAY + 19.0       # the CD's overtime and the week's strain
# Events due on the same Monday or Saturday run in this order (SimPy runs equal times in the order
# scheduled; these distinct times make the order explicit): the ICS lays out the week's meetings
# (00:00), ARRS leave and leavers (WEEK_PLAN_AT), then the CD plans the week (CD_PLAN_AT); on
# Saturday the ICS books representation (WEEK_CLOSE_AT), then the PCN closes its books.
CD_PLAN_AT = WEEK_PLAN_AT + 0.1       # Monday 00:36, after the ARRS week is known
BOOKS_CLOSE_AT = WEEK_CLOSE_AT + 0.5  # Saturday 01:30, after representation is booked
SLOTS = DAYS_PER_WEEK * 2             # session slots in a week: Mon AM, Mon PM, ..., Fri PM
SESSION_MINUTES = SESSION_HOURS * 60.0

# Bank holidays of England as (week of the April-start year, weekday): Good Friday, Easter Monday,
# early May, spring, summer, Christmas Day, Boxing Day, New Year's Day (dates fixed; assumed).
BANK_HOLIDAYS = frozenset({(0, 4), (1, 0), (4, 0), (8, 0), (21, 0), (38, 3), (38, 4), (39, 0)})
WINTER_WEEKS = range(35, 48)          # December to February in an April-start year


def is_open(scenario: Scenario, week: int, day: int) -> bool:
    """Whether practices open (and meetings are held) on `day` of `week`: not a bank holiday."""
    return _is_open(scenario.calendar.bank_holidays, week, day)


def _is_open(bank_holidays: bool, week: int, day: int) -> bool:
    return not (bank_holidays and (week % WEEKS_PER_YEAR, day) in BANK_HOLIDAYS)


def open_days(scenario: Scenario) -> tuple[tuple[bool, ...], ...]:
    """`is_open` for every week of the year and weekday, `open_days(s)[week % WEEKS_PER_YEAR][day]`: worked
    out once (per setting of `calendar.bank_holidays`), for the loops that ask several times a simulated week."""
    return _open_days(bool(scenario.calendar.bank_holidays))


@functools.cache
def _open_days(bank_holidays: bool) -> tuple[tuple[bool, ...], ...]:
    return tuple(tuple(_is_open(bank_holidays, w, d) for d in range(DAYS_PER_WEEK)) for w in range(WEEKS_PER_YEAR))


def leave_share(scenario: Scenario) -> float:
    """The share of a person's weeks spent on annual and study leave."""
    return scenario.calendar.leave_weeks_per_year / WEEKS_PER_YEAR
