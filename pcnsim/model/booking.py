"""Booking requests into the diaries' first free slots: the rules of docs/model.md 2.3, on plain lists.

A day's booking works on a few dozen small integers, where plain Python is several times
faster than numpy calls. The rules: requests of several queues, in order, take the first free
slots of a diary (a queue q of practice p occupies the positions between the cumulative counts
of the queues before it and its own; day d offers the positions between the cumulative free
slots before it and its own; the requests of q offered day d are the overlap); a count shared
over practices is taken practice by practice in an order that rotates by day; an offer d days
ahead is taken with probability exp(-d / tolerance), one uniform per
offered patient, in the order of the offers, from the day's uniforms; a patient who declines a
preferred role's offer is offered the earliest slot of the roles after it (a second offer, its own
block of uniforms); planned requests take the first free slot at or after their desired day and are
never declined (docs/model.md 2.3). This is
the reference the compiled day (`pcnsim.model.daybook`) must match number for number, and the
day that runs where numba is missing.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from pcnsim.config import DEMAND_TYPES
from pcnsim.model.tallies import BY_TYPE, N_BINS, WEEK_COUNTS


class Staffing(NamedTuple):
    """What the staff in post give a day: slots by pool, supervision hours needed and wanted, and the
    GP slots blocked for it (`Practices.staffing`)."""

    slots: np.ndarray
    needed: float
    wanted: float
    protected: float


class Diary:
    """The practices' booking diaries and the day's tallies, owned here: the arrays both day engines
    work on, and the list reference of a day (opening a day's slots, booking, the day's end).

    The rules are fixed at construction: P practices, an H-day horizon, returners after
    `return_after_days`; the demand types ARRS pools serve (`arrs_types`, one pool each) and the
    nursing type; the GPs' type order; acceptance of an offer by lead (`accept_p`, drawn only if
    `draw`); the booking passes' reach (the last is routine requests' horizon); the share of
    returners, of slots held for the day, and a GP appointment's minutes.

    Pools (rows of `free`, `held`, `capacity`): P GP rows, P practice-nurse rows, P direct-patient-care
    rows, then the K ARRS pools; `booked_pref` has the nurse, DPC and ARRS rows (pool row - P).
    """

    def __init__(self, P: int, H: int, return_after_days: int, arrs_types: list[int], nursing: int,
                 gp_order: np.ndarray, accept_p: np.ndarray, draw: bool, passes: np.ndarray,
                 return_share: float, on_the_day_share: float, gp_minutes: float):
        NT, K = len(DEMAND_TYPES), len(arrs_types)
        self.P, self.H, self.K = P, H, K
        self.arrs_types, self.nursing = arrs_types, nursing
        self.arrs_type_slice = np.array(arrs_types, dtype=np.int64)
        self.nursing_in_arrs = nursing in arrs_types
        self.nursing_pool = arrs_types.index(nursing) if self.nursing_in_arrs else -1
        self.gp_order, self.gp_order_py = gp_order, gp_order.tolist()
        self.accept_p, self.accept_p_py = accept_p, accept_p.tolist()
        self.draw, self.passes = draw, passes
        self.return_share, self.on_the_day_share, self.gp_minutes = return_share, on_the_day_share, gp_minutes
        # the order practices take a shared count in, rotating by day (row k: practice k first)
        self.rotation = np.array([np.roll(np.arange(P), -k) for k in range(P)], np.int64).reshape(P, P)
        self.rotation_py = self.rotation.tolist()

        # one int block whose last axis is the open day ahead (0 = today), moved on a day at once: free and
        # held slots and capacity by pool row (P GP, P nurse, P DPC rows, K ARRS pools), GP bookings by type,
        # nurse, DPC and ARRS bookings by pool row
        nF = 3 * P + K
        spans = {"free": nF, "held": nF, "capacity": nF, "booked_gp": NT, "booked_pref": 2 * P + K}
        self.block = np.zeros((sum(spans.values()), H), np.int64)
        at = 0
        for name, n in spans.items():
            setattr(self, name, self.block[at:at + n])
            at += n
        self.free_gp = self.free[:P]
        # flat views of the diaries (rows x days) for writing back the cells a day's booking changed
        self._free_flat, self._pref_flat, self._gp_flat = (a.reshape(-1) for a in (self.free, self.booked_pref,
                                                                                  self.booked_gp))
        assert all(np.shares_memory(f, self.block) for f in (self._free_flat, self._pref_flat, self._gp_flat))
        self.sup = np.zeros((3, H))                    # GP supervision hours wanted, needed, blocked ahead, by day
        self.carry_open = np.zeros(nF + 1)             # the fractions of a slot carried: the pools', supervision's
        # requests not yet booked: arrived (before the day's triage: urgent, routine, then planned by desired
        # lead 0..H-1), urgent from yesterday, returners
        self.arrived = np.zeros((2 + H, P, NT), np.int64)
        self.carried = np.zeros((P, NT), np.int64)
        self.returns = np.zeros((P, NT, return_after_days), np.int64)
        self.unbooked_today = np.zeros((P, NT), np.int64)   # no eligible slot in the horizon (read by verification)

        # the tallies: the open days' counts this week, bookings by lead in working days (urgent and routine,
        # as made), and (after warm-up) bookings by type and GPAD lead bin, totals by type and slots used and
        # offered by pool (GP, nurse, DPC, then the ARRS pools)
        self.week_counts = np.zeros(1, WEEK_COUNTS)
        self.served_by_age = np.zeros(H + 1)
        self.planned_by_age = np.zeros(H + 1)          # planned bookings by lead (not waits: Little's law reads them)
        self.lead_bins = np.zeros((NT, N_BINS))
        self.by_type = np.zeros(NT, BY_TYPE)
        self.used = np.zeros(3 + K)
        self.offered = np.zeros(3 + K)

    def open_day(self, k: int, staffing: Staffing) -> None:
        """Open diary day k: the clinicians' slots, the share held for the day, and protected supervision."""
        P = self.P
        # whole slots from fractional capacity, the fraction carried to the next day (`carry_open`, the
        # pools' then supervision's), on plain floats: the same IEEE arithmetic as `daybook.open_day`
        carry, share = self.carry_open.tolist(), self.on_the_day_share
        cap = []
        for i, x in enumerate(staffing.slots.tolist()):
            total = x + carry[i]
            w = math.floor(total + 1e-9)
            carry[i] = total - w
            cap.append(w)
        held = [math.floor(c * share) for c in cap]
        free = [c - h for c, h in zip(cap, held)]
        # supervision: the staff working that day need it; a share is blocked before any patient books
        total = staffing.protected + carry[-1]
        block = math.floor(total + 1e-9)
        carry[-1] = total - block
        self.carry_open[:] = carry
        block = min(block, sum(free[:P]))
        if block:
            got = self._split(free[:P], block, k)
            for p in range(P):
                free[p] -= got[p]
                cap[p] -= got[p]
        self.held[:, k] = held
        self.free[:, k] = free
        self.capacity[:, k] = cap
        self.sup[:, k] = (staffing.wanted, staffing.needed, block * self.gp_minutes / 60.0)

    # ------------------------------------------------------------------ the day
    def _draw(self, offers: list) -> list:
        """The offers taken: `offers` is [(..., day, n)]; each offered patient takes a slot d days ahead
        if their uniform (`_u`, consumed in offer order) is below exp(-d / tolerance)."""
        if not self.draw or not offers:
            return None
        ap, u, i = self.accept_p_py, self._u, self._u_at
        took = []
        for o in offers:
            a, n = ap[o[-2]], o[-1]
            took.append(sum(1 for x in u[i:i + n] if x < a))
            i += n
        self._u_at = i
        return took

    def _split(self, counts: list, total: int, day_index: int) -> list:
        """`total` taken from `counts` (by practice) in the order that rotates by day (`_share`)."""
        P = self.P
        out = [0] * P
        if total <= 0:
            return out
        for p in self.rotation_py[day_index % P]:
            c = counts[p]
            if c > 0:
                n = c if c < total else total
                out[p] = n
                total -= n
                if not total:
                    break
        return out

    def _pref_py(self, need: list, lo: int, L: int, day_index: int, draw: bool, lead, fl: list, d: tuple,
                 dec2, nurses: bool, dpc: bool, arrs: bool) -> None:
        """The preferred pools' first free slots on days lo..L-1, on lists: `need` [P][T] is reduced; the
        practice nurses' (`nurses`), DPC staff's (`dpc`) for nursing and the ARRS pools' (`arrs`) rows. With
        `draw`, offers are drawn and decliners go to `dec2` [nurse, DPC, ARRS][P][T] for a second offer;
        bookings go to `lead` [T][H] unless it is None; `fl` the free slots [3P + K][H], `d` the deltas."""
        P, nur, a = self.P, self.nursing, self.arrs_types
        PR = range(P)
        want = ([need[p][nur] for p in PR] if nurses else [0] * P) + ([need[p][nur] for p in PR] if dpc else [0] * P)
        if arrs:
            by_pool = [[need[p][t] for p in PR] for t in a]
            want += [sum(b) for b in by_pool]
        else:
            by_pool = None
            want += [0] * len(a)
        if not any(want):
            return
        offers = []
        asked = [0] * len(want)
        for r, w in enumerate(want):
            if w > 0:
                row = fl[P + r]
                left = w
                for l in range(lo, L):
                    f = row[l]
                    if f > 0:
                        n = f if f < left else left
                        offers.append((r, l, n))
                        left -= n
                        if not left:
                            break
                asked[r] = w - left
        took = self._draw(offers) if draw else None
        bpl, tf, tp, H = d[1], d[4], d[5], self.H
        for i, (r, l, n) in enumerate(offers):
            k = n if took is None else took[i]
            if k:
                fl[P + r][l] -= k
                bpl[r][l] += k
                tf.append((P + r) * H + l)
                tp.append(r * H + l)
                if lead is not None:
                    lead[nur if r < 2 * P else a[r - 2 * P]][l] += k
        for p in PR:
            need[p][nur] -= asked[p] + asked[P + p]
        splits = []
        if by_pool is not None:
            for k, t in enumerate(a):
                split = self._split(by_pool[k], asked[2 * P + k], day_index)
                splits.append(split)
                for p in PR:
                    need[p][t] -= split[p]
        if took is not None:
            no = asked[:]
            for i, (r, l, n) in enumerate(offers):
                no[r] -= took[i]
            for p in PR:
                dec2[0][p][nur] += no[p]
                dec2[1][p][nur] += no[P + p]
            for k, t in enumerate(a if by_pool is not None else ()):
                back = self._split(splits[k], no[2 * P + k], day_index + 1)
                for p in PR:
                    dec2[2][p][t] += back[p]

    def _pref_all(self, need, lo, L, day_index, draw, lead, fl, d, dec2) -> None:
        """The preferred pools in preference order: practice nurses (with the ARRS pools unless one serves
        nursing), then DPC staff, then an ARRS pool serving nursing."""
        if self.nursing_in_arrs:
            self._pref_py(need, lo, L, day_index, draw, lead, fl, d, dec2, True, False, False)
            self._pref_py(need, lo, L, day_index, draw, lead, fl, d, dec2, False, True, False)
            self._pref_py(need, lo, L, day_index, draw, lead, fl, d, dec2, False, False, True)
        else:
            self._pref_py(need, lo, L, day_index, draw, lead, fl, d, dec2, True, False, True)
            self._pref_py(need, lo, L, day_index, draw, lead, fl, d, dec2, False, True, False)

    def _gp_py(self, need: list, lo: int, L: int, draw: bool, lead, fl: list, d: tuple, declined) -> None:
        """The GPs' first free slots on days lo..L-1 (see `_pref_py`): types most constrained first."""
        offers = []
        for p in range(self.P):
            row, q = fl[p], need[p]
            l, rem = lo, row[lo]
            for t in self.gp_order_py:
                left = q[t]
                while left > 0:
                    while rem <= 0:
                        l += 1
                        if l == L:
                            break
                        rem = row[l]
                    if l == L:
                        break
                    n = rem if rem < left else left
                    offers.append((p, t, l, n))
                    left -= n
                    rem -= n
                if l == L:
                    break
        took = self._draw(offers) if draw else None
        bgl, tf, tg, H = d[2], d[4], d[6], self.H
        for i, (p, t, l, n) in enumerate(offers):
            k = n if took is None else took[i]
            need[p][t] -= n
            if k:
                fl[p][l] -= k
                bgl[t][l] += k
                tf.append(p * H + l)
                tg.append(t * H + l)
                lead[t][l] += k
            if k != n:
                declined[p][t] += n - k

    def _second_py(self, dec2: list, R: int, lead: list, fl: list, d: tuple, declined: list) -> None:
        """Second offers: a patient who declined a preferred role's slot is offered the earliest free slots
        (days 0..R-1) of the eligible roles after it, in preference order on each day (GPs last), and takes
        one by the same rule; declined again, or no slot, they are not booked."""
        P, nur, H = self.P, self.nursing, self.H
        bpl, bgl, tf, tp, tg = d[1], d[2], d[4], d[5], d[6]
        arrs_nur = [3 * P + self.nursing_pool] if self.nursing_in_arrs else []
        for s in range(3):
            for p in range(P):
                row = dec2[s][p]
                for t in range(len(row)):
                    n = row[t]
                    if not n:
                        continue
                    if t == nur:
                        cands = ([2 * P + p] + arrs_nur + [p]) if s == 0 else (arrs_nur + [p]) if s == 1 else [p]
                    else:
                        cands = [p]
                    offers, left = [], n
                    for l in range(R):
                        for c in cands:
                            f = fl[c][l]
                            if f > 0:
                                m = f if f < left else left
                                offers.append((c, l, m))
                                left -= m
                                if not left:
                                    break
                        if not left:
                            break
                    took = self._draw(offers)
                    for i, (c, l, m) in enumerate(offers):
                        k = took[i]
                        if k:
                            fl[c][l] -= k
                            tf.append(c * H + l)
                            if c < P:
                                bgl[t][l] += k
                                tg.append(t * H + l)
                            else:
                                bpl[c - P][l] += k
                                tp.append((c - P) * H + l)
                            lead[t][l] += k
                        left += m - k
                    declined[p][t] += left

    # ------------------------------------------------------------------ the day's booking, the reference
    def book_day_lists(self, day_index: int, u: list, measuring: bool, gpad_bin: list, back_bin: int
                       ) -> tuple[list, list, list]:
        """Urgent care, planned and routine booking, second offers and return decisions of one open day, on
        plain lists; bookings tallied by lead (and, measuring, by type and GPAD bin: `gpad_bin[l]` is the bin
        of a lead of l working days from today, `back_bin` that of an urgent request carried from the last
        open day).

        `u` holds the day's uniforms: n for first offers, n for second offers, n for returns, n the routine
        and planned requests. Returns the requests diverted, gone elsewhere and returning today, by type.
        `pcnsim.model.daybook.book_day` is its compiled twin.
        """
        H, P = self.H, self.P
        PR = range(P)
        NT = self.carried.shape[1]
        # working copies of the diary (free slots, bookings), written back below; bookings by type and lead
        fl, bgl, bpl = self.free.tolist(), self.booked_gp.tolist(), self.booked_pref.tolist()
        lead, lead_pl = [[0] * H for _ in range(NT)], [[0] * H for _ in range(NT)]
        tf, tp, tg = [], [], []                       # the cells changed, as flat indices
        d = (fl, bpl, bgl, None, tf, tp, tg)

        # triage has split the arrivals into urgent, routine and planned; returners due today are routine
        arrived = self.arrived.tolist()
        urgent, routine, planned = arrived[0], arrived[1], arrived[2:]
        self.arrived.fill(0)
        ret = self.returns
        back = ret[:, :, 0].tolist()
        ret[:, :, :-1] = ret[:, :, 1:]
        back_by_type = [sum(col) for col in zip(*back)]
        for p in PR:
            rp, bp = routine[p], back[p]
            for t, b in enumerate(bp):
                if b:
                    rp[t] += b
        n = sum(map(sum, routine)) + sum(sum(map(sum, x)) for x in planned)
        self._u, self._u_at = u, 0

        # urgent, today only: yesterday's first, preferred pools then GPs (most constrained types first)
        carried = self.carried.tolist()
        both = [[c + u for c, u in zip(cr, ur)] for cr, ur in zip(carried, urgent)]
        before = sum(map(sum, both))
        seen_carried = [0] * NT
        if before:
            before_t = [sum(col) for col in zip(*both)]
            self._pref_all(both, 0, 1, day_index, False, None, fl, d, None)
            for p in PR:
                cap = fl[p][0]
                if cap <= 0:
                    continue
                bp, tot = both[p], 0
                for t in self.gp_order_py:
                    g = bp[t]
                    if g > 0:
                        if g > cap:
                            g = cap
                        bp[t] -= g
                        cap -= g
                        tot += g
                        bgl[t][0] += g
                        tg.append(t * H)
                        if not cap:
                            break
                if tot:
                    fl[p][0] -= tot
                    tf.append(p * H)
            # yesterday's urgent requests were seen first: of those left, the newest are today's
            urgent = [[b if b < u else u for b, u in zip(br, ur)] for br, ur in zip(both, urgent)]
            left_carried = [[b - u for b, u in zip(br, ur)] for br, ur in zip(both, urgent)]
            after_t = [sum(col) for col in zip(*both)]
            carried_t, left_t = [sum(col) for col in zip(*carried)], [sum(col) for col in zip(*left_carried)]
            for t in range(NT):
                seen_carried[t] = carried_t[t] - left_t[t]
                lead[t][0] += before_t[t] - after_t[t] - seen_carried[t]
            carried = left_carried
        diverted = [sum(col) for col in zip(*carried)]    # urgent since yesterday and still not seen
        self.carried[:] = urgent

        # planned: by desired day, the first free slot of an eligible role at or after it; never declined
        planned_left = [[0] * NT for _ in PR]
        for lo in range(H):
            need = planned[lo]
            if not any(map(any, need)):
                continue
            self._pref_all(need, lo, H, day_index, False, lead_pl, fl, d, None)
            if any(map(any, need)):
                self._gp_py(need, lo, H, False, lead_pl, fl, d, None)
                for p in PR:
                    for t in range(NT):
                        planned_left[p][t] += need[p][t]

        # routine: a preferred role's first free slot within reach, else a GP's; then the same within the horizon
        declined = [[0] * NT for _ in PR]
        dec2 = [[[0] * NT for _ in PR] for _ in range(3)]
        for L in self.passes:
            if not any(map(any, routine)):
                break
            self._pref_all(routine, 0, L, day_index, True, lead, fl, d, dec2)
            if any(map(any, routine)):
                self._gp_py(routine, 0, L, True, lead, fl, d, declined)
        # second offers, from their own block of uniforms
        if self.draw:
            self._u_at = n
            self._second_py(dec2, int(self.passes[-1]), lead, fl, d, declined)
        # the working copies written back
        for flat, rows, cells in ((self._free_flat, fl, tf), (self._pref_flat, bpl, tp), (self._gp_flat, bgl, tg)):
            if cells:
                cells = list(set(cells))
                flat[cells] = [rows[i // H][i % H] for i in cells]
        # the day's bookings by lead (urgent and routine: waits in working days) and, measuring, by GPAD bin
        sba = self.served_by_age
        for l in range(H):
            tot = sum(lead[t][l] for t in range(NT))
            if tot:
                sba[l] += tot
        sc = sum(seen_carried)
        if sc:
            sba[1] += sc
        for l in range(H):
            tot = sum(lead_pl[t][l] for t in range(NT))
            if tot:
                self.planned_by_age[l] += tot
        if measuring:
            bins = self.lead_bins
            for t in range(NT):
                for l in range(H):
                    x = lead[t][l] + lead_pl[t][l]
                    if x:
                        bins[t, gpad_bin[l]] += x
                if seen_carried[t]:
                    bins[t, back_bin] += seen_carried[t]
        self.unbooked_today[:] = routine   # routine requests with no eligible slot in reach (read by verification)
        unbooked = [[a + b for a, b in zip(rr, pl)] for rr, pl in zip(routine, planned_left)]
        # not booked (declined, or no eligible slot in the horizon): contact again later, or go elsewhere
        lost = [[a + b for a, b in zip(dr, rr)] for dr, rr in zip(declined, unbooked)]
        elsewhere = [sum(col) for col in zip(*lost)]
        if self.return_share > 0:
            last = ret[:, :, -1]
            last.fill(0)
            i, a = 2 * n, self.return_share
            for p, row in enumerate(lost):
                for t, m in enumerate(row):
                    if m:
                        g = sum(1 for x in u[i:i + m] if x < a)
                        i += m
                        if g:
                            last[p, t] = g
                            elsewhere[t] -= g
        else:
            ret[:, :, -1] = 0
        return diverted, elsewhere, back_by_type

    def end_day_lists(self, diverted: list, elsewhere: list, back_by_type: list, measuring: bool,
                      staffing: Staffing) -> None:
        """Supervision given, today's appointments counted (into the tallies), the diary moved a day and
        the new horizon day opened: the reference of `daybook.end_day`."""
        H, P, wk = self.H, self.P, self.week_counts[0]
        fl0 = self.free[:P, 0].tolist()
        # supervision not blocked ahead (or released under GP pressure) is given from GP slots still free
        # today; no more than the day wanted is counted given (a block rounded up to a whole slot idles the rest)
        gp_min = self.gp_minutes
        wanted, needed, blocked = self.sup[:, 0].tolist()
        given = min(max(wanted - blocked, 0.0) * 60.0 / gp_min, float(sum(fl0))) * gp_min / 60.0
        wk["supervision"] += min(blocked + given, wanted)
        wk["supervision_needed"] += needed

        # today's appointments
        gp_today = self.booked_gp[:, 0].tolist()
        pref_today = self.booked_pref[:, 0].tolist()
        nurse_today = sum(pref_today[:P])
        dpc_today = sum(pref_today[P:2 * P])
        arrs_today = pref_today[2 * P:]
        gp_sum = sum(gp_today)
        wk["gp"] += gp_sum
        wk["nurse"] += nurse_today
        wk["dpc"] += dpc_today
        wk["arrs"] += sum(arrs_today)
        if measuring:
            bt = self.by_type
            today = [float(g) for g in gp_today]
            today[self.nursing] += nurse_today + dpc_today
            for t, n in zip(self.arrs_types, arrs_today):
                today[t] += n
            bt["appointments"] += today
            bt["gp"] += gp_today
            bt["unmet"] += [a + b for a, b in zip(diverted, elsewhere)]
            bt["diverted"] += diverted
            bt["returned"] += back_by_type
            used, offered = self.used, self.offered
            used[0] += gp_sum
            used[1] += nurse_today
            used[2] += dpc_today
            used[3:] += arrs_today
            cap = self.capacity[:, 0].tolist()
            offered[0] += sum(cap[:P])
            offered[1] += sum(cap[P:2 * P])
            offered[2] += sum(cap[2 * P:3 * P])
            offered[3:] += cap[3 * P:]

        # the diary moves on a day; a new day opens at the horizon
        b = self.block
        b[:, :-1] = b[:, 1:]
        b[:, -1] = 0
        self.sup[:, :-1] = self.sup[:, 1:]
        self.open_day(H - 1, staffing)

    def serve_lists(self, day_index: int, arrivals: np.ndarray, u: list, extra: int, measuring: bool,
                    staffing: Staffing, gpad_bin: list, back_bin: int) -> int:
        """One open day on lists, the reference of `daybook.serve`: the day's arrivals (urgent, routine, planned
        by desired lead, by practice and type), held slots released and `extra` GP slots at practice 0, the
        booking (`u` the day's uniforms), the day's end; returns the returners due on the next open day."""
        self.arrived += arrivals
        if measuring:
            self.by_type["requests"] += arrivals.sum(axis=(0, 1))
        self.free[:, 0] += self.held[:, 0]
        if extra:
            self.free[0, 0] += extra
            self.capacity[0, 0] += extra
        diverted, elsewhere, back_by_type = self.book_day_lists(day_index, u, measuring, gpad_bin, back_bin)
        wk = self.week_counts[0]
        wk["requests"] += arrivals.sum()
        wk["returned"] += sum(back_by_type)
        wk["diverted"] += sum(diverted)
        wk["elsewhere"] += sum(elsewhere)
        self.end_day_lists(diverted, elsewhere, back_by_type, measuring, staffing)
        return int(self.returns[:, :, 0].sum())
