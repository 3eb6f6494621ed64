"""Representation as governance (docs/model.md 2.9): whose view the system's decisions hear.

Each test compares paired runs (the same seed and replication, so common random numbers):
what changes between them is the seat, the seats, the forum or the CD's absence.
"""
from __future__ import annotations

import pytest

from pcnsim.config import DEFAULT_MEETINGS, Scenario
from pcnsim.model import simulate

pytestmark = pytest.mark.integration

SHORT = {"run": {"horizon_weeks": 60, "warmup_weeks": 8}}


def run(data: dict, replication: int = 0) -> dict[str, float]:
    return simulate(Scenario.model_validate({**SHORT, **data}), replication).metrics


def meetings(**seats: int) -> tuple[dict, ...]:
    """The default calendar with some series' seats changed (by series name, spaces as underscores)."""
    out = []
    for m in DEFAULT_MEETINGS:
        d = m.model_dump()
        d["seats"] = seats.get(m.name.replace(" ", "_").replace("-", "_"), d["seats"])
        out.append(d)
    return tuple(out)


@pytest.mark.parametrize("replication", [0, 1])
def test_a_seated_cd_is_involved_and_an_unseated_one_only_as_an_observer(replication):
    # an ICS of one PCN: its CD holds every seat; an ICS of 2,000: the single PCN almost surely holds none
    seated = run({"ics": {"system_pcns": 1}}, replication)
    unseated = run({"ics": {"system_pcns": 2000}}, replication)
    assert seated["cd_always_involved_share"] == 1.0       # at every meeting held while at work
    assert seated["cd_involved_share"] > 0.75               # less the meetings of leave weeks
    observer = Scenario.model_validate({}).ics.observer_voice_share
    assert unseated["cd_involved_share"] < observer + 0.01  # an observer's voice at most
    assert unseated["cd_always_involved_share"] < 0.01
    # attendance is the same: only the seat differs
    assert seated["meetings_attended_share"] == unseated["meetings_attended_share"]
    assert seated["cd_meeting_hours_per_week"] == unseated["cd_meeting_hours_per_week"]


def test_the_baseline_pcn_is_always_involved_only_with_a_committee_seat():
    """Baseline (30 PCNs in the ICS): the three CDs of 30 with a primary care sub-committee seat are the
    ones always involved (docs/model.md 7: against 12% of PCN leaders, NHS Confederation 2021)."""
    m = run({})
    assert m["cd_always_involved_share"] == pytest.approx(3 / 30)
    assert 0.2 < m["cd_involved_share"] < 0.35
    # by seat: the three positions with a seat, and the 27 without (an observer's voice at most)
    assert m["cd_involved_share.seated"] > 0.75
    assert m["cd_involved_share.unseated"] <= Scenario.model_validate({}).ics.observer_voice_share + 1e-9


def test_more_seats_raise_involvement():
    base = run({})
    more = run({"ics": {"meetings": meetings(Place_board=6, Primary_care_sub_committee=6)}})
    assert more["cd_involved_share"] > base["cd_involved_share"] + 0.05
    assert more["cd_always_involved_share"] == pytest.approx(6 / 30)
    assert more["meetings_attended_share"] == base["meetings_attended_share"]   # seats are not attendance


def test_a_forum_raises_involvement_for_the_cds_without_a_seat_who_attend_it():
    ics = {"pcns": 5, "forum_representatives": 2}
    every = run({"ics": ics})
    forum = run({"ics": {**ics, "representation": "forum"}})
    no_carry = run({"ics": {**ics, "representation": "forum", "forum_carry_share": 0.0}})
    observer = Scenario.model_validate({}).ics.observer_voice_share
    # with every CD at the table, the CDs without a seat (PCNs 3 and 4 of 5) have an observer's voice at most
    assert every["cd_involved_share.unseated"] <= observer + 1e-9
    assert every["cd_involved_share.seated"] > 0.75
    # with a forum, the unseated CDs' views go in through the representatives who carry them
    assert forum["cd_involved_share.unseated"] > 0.5 > observer
    assert forum["cd_involved_share"] > every["cd_involved_share"]
    assert forum["cd_involved_share.seated"] > 0.75
    # the mechanism: without carrying, the unseated are not involved at all (they do not go to system meetings)
    assert no_carry["cd_involved_share.unseated"] == 0.0
    # a forum of two holds two seats: fewer CDs are always involved than the three seated with everyone there
    assert forum["cd_always_involved_share"] == pytest.approx(2 / 5)
    assert every["cd_always_involved_share"] == pytest.approx(3 / 5)
    # the forum's cost: the representatives' meeting hours
    assert forum["cd_meeting_hours_per_week.representative"] > every["cd_meeting_hours_per_week"]


def test_a_cd_away_puts_no_view_in():
    present = run({"ics": {"system_pcns": 1}})
    away = run({"ics": {"system_pcns": 1}, "calendar": {"leave_weeks_per_year": 26}})
    assert away["cd_involved_share"] < present["cd_involved_share"] - 0.15
    assert away["cd_involved_share"] == pytest.approx(away["meetings_attended_share"], abs=0.1)
    assert away["cd_always_involved_share"] == 1.0     # "always" is judged on the weeks at work


def test_no_meetings_no_decisions():
    m = run({"ics": {"meeting_load": 0.0}})
    assert m["cd_involved_share"] == 1.0                # nothing was decided without the PCN
