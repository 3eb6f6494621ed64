"""A PCN's day compiled with numba: the rules of `pcnsim.model.booking`, number for number.

`serve` is one open day in one call: the day's arrivals, `book_day` (urgent care, planned
requests row by row, the routine booking passes, who contacts again), `end_day` (supervision
given, the day's appointments counted, the diary moved a day) and `open_day` (the new horizon
day). They work on a `Diary`'s arrays in place, with the same first-free-slot rules, the same
rotation of shared counts and the same uniforms consumed in the same order as the list code in
`booking.py`, which stays the reference (tests/test_daybook.py) and runs where numba is missing
(`engine.py`).

`serve` has an explicit signature and numba's cache (`cache=True`): compiled once per machine on
first import, loaded from the cache afterwards; `entry` hands `Practices` its compiled entry point,
which skips numba's typing of the bundles on every call. That cache is checked against this file's
timestamp only, so nothing the kernel reads comes from another module's constants: the bundles
(`Rules`, `Books`, `Day`) are defined here, and the shared tallies (`tallies.WEEK_COUNTS`,
`tallies.BY_TYPE`) are record types read by field name, so their layout is part of the signature
that keys the cache. A change to either compiles the day again.
"""
from __future__ import annotations

import sys
from collections import namedtuple
from typing import Callable

import numpy as np
from numba import from_dtype, njit, typeof, types
from numba.core.registry import cpu_target

from pcnsim.model.booking import Diary
from pcnsim.model.tallies import BY_TYPE, WEEK_COUNTS

I1, I2, I3 = types.int64[::1], types.int64[:, ::1], types.int64[:, :, ::1]
F1, F2 = types.float64[::1], types.float64[:, ::1]

#: A PCN's booking rules, fixed for the run: practices, the nursing type, whether an ARRS pool serves it and which,
#: whether offers are drawn, the returning share, the share of slots held for the day, a GP appointment's
#: minutes; acceptance by lead, the GPs' type order, the practices' rotation by day, the ARRS pools' types and
#: the booking passes' reach.
_RULES = {"P": types.int64, "nursing": types.int64, "nursing_in_arrs": types.boolean, "nursing_pool": types.int64,
          "draw": types.boolean,
          "return_share": types.float64, "on_the_day_share": types.float64, "gp_minutes": types.float64,
          "accept_p": F1, "gp_order": I1, "rotation": I2, "arrs_type_slice": I1, "passes": I1}
#: The diary and the day's tallies, written in place (`booking.Diary`, whose attributes they are).
_BOOKS = {"free": I2, "held": I2, "capacity": I2, "booked_gp": I2, "booked_pref": I2, "sup": F2,
          "arrived": I3, "carried": I2, "returns": I3, "unbooked_today": I2, "carry_open": F1,
          "week_counts": from_dtype(WEEK_COUNTS)[::1], "by_type": from_dtype(BY_TYPE)[::1], "used": F1,
          "offered": F1, "served_by_age": F1, "planned_by_age": F1, "lead_bins": F2}
#: One open day: its urgent and routine arrivals (P, T) and planned ones by desired lead (H, P, T), the
#: booking stream's uniforms from `u0` on, the day's index, extra GP slots at practice 0, whether the run is
#: measuring, the staff's slots by pool and supervision hours (`booking.Staffing`), and GPAD's lead bin of a
#: booking l open days ahead of today and of an urgent request carried from the last open day.
_DAY = {"urgent": I2, "routine": I2, "planned": I3, "u": F1, "u0": types.int64,
        "day_index": types.int64, "extra": types.int64, "measuring": types.boolean, "slots": F1,
        "protected": types.float64, "wanted": types.float64, "needed": types.float64, "gpad_bin": I1,
        "back_bin": types.int64}

Rules = namedtuple("Rules", _RULES)
Books = namedtuple("Books", _BOOKS)
Day = namedtuple("Day", _DAY)

# the day's counts `book_day` returns, rows of `stats` (by type)
DIVERTED, ELSEWHERE, BACK = 0, 1, 2


def bundles(diary: Diary) -> tuple[Rules, Books]:
    """A diary's rules and arrays as the kernel takes them (views: the kernel writes the diary)."""
    return (Rules(*(getattr(diary, name) for name in _RULES)), Books(*(getattr(diary, name) for name in _BOOKS)))


# numba's CPU target, which loading `serve` from the cache needs, imports every numba implementation, and one of them
# checks for BLAS by importing scipy.linalg: about 0.1 s of every run's start, for `np.dot` and `np.linalg` in
# compiled code, which nothing here uses. With scipy.linalg hidden numba records that BLAS is missing.
if "scipy.linalg" in sys.modules:
    cpu_target.target_context.refresh()
else:
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]   # `import scipy.linalg` raises ImportError
    try:
        cpu_target.target_context.refresh()
    finally:
        del sys.modules["scipy.linalg"]          # it imports normally afterwards

# the helpers compile into `serve` (and into its cache entry) for the types it calls them with
_jit = dict(nogil=True)


@njit(**_jit)
def _split(counts, total, order, out):
    """`total` taken from `counts` (by practice) in the rotating `order` (`Diary._split`)."""
    for p in range(out.shape[0]):
        out[p] = 0
    if total <= 0:
        return
    for o in range(order.shape[0]):
        p = order[o]
        c = counts[p]
        if c > 0:
            n = c if c < total else total
            out[p] = n
            total -= n
            if total == 0:
                break


# A helper called with arrays costs a few dozen nanoseconds a call (numba counts references to each array it is
# passed), so the loops run many times a day are written out where they are needed: an offer's draws
# (`Diary._draw`), a count shared out over the practices (`_split`), a row's first free slots. Arrays are
# walked by index: `for x in array` builds an iterator each time, several times the cost of the loop here.


@njit(**_jit)
def _pref_all(rules, books, u, need, lo, L, day_index, draw, lead, tally, dec2, ucur, sc):
    """`Diary._pref_all`: the preferred pools' first free slots on days lo..L-1, in `Diary._pref_py`'s calls:
    practice nurses (with the ARRS pools unless one serves nursing), DPC staff, then an ARRS pool serving
    nursing. `sc` is `_scratch`'s buffers, reused (each is written here before it is read) and, last, each
    row's first day that may be free: days from `lo` to it were full when last looked at, and stay full
    (`_from_start`)."""
    P, nur, atypes, free, booked_pref = rules.P, rules.nursing, rules.arrs_type_slice, books.free, books.booked_pref
    K = atypes.shape[0]
    nr = 2 * P + K
    want, by_pool, o_r, o_l, o_n, asked, took, splits, left_over, first = sc
    took_any = draw and rules.draw
    in_arrs = rules.nursing_in_arrs
    for call in range(3 if in_arrs else 2):
        nurses, dpc, arrs = call == 0, call == 1, (call == 2) if in_arrs else (call == 0)
        for r in range(nr):
            want[r] = 0
        for p in range(P):
            if nurses:
                want[p] = need[p, nur]
            if dpc:
                want[P + p] = need[p, nur]
        if arrs:
            for k in range(K):
                tot = 0
                for p in range(P):
                    by_pool[k, p] = need[p, atypes[k]]
                    tot += need[p, atypes[k]]
                want[2 * P + k] = tot
        anyw = False
        for r in range(nr):
            if want[r] != 0:
                anyw = True
                break
        if not anyw:
            continue
        no = 0
        for r in range(nr):
            asked[r] = 0
        for r in range(nr):
            w = want[r]
            if w > 0:
                left = w
                s = first[r] if first[r] > lo else lo       # the days before are full: the offers are the same
                while s < L and free[P + r, s] <= 0:
                    s += 1
                first[r] = s
                for l in range(s, L):
                    f = free[P + r, l]
                    if f > 0:
                        n = f if f < left else left
                        o_r[no] = r
                        o_l[no] = l
                        o_n[no] = n
                        no += 1
                        left -= n
                        if left == 0:
                            break
                asked[r] = w - left
        for i in range(no):
            if took_any:                                # the offered patients' uniforms, in offer order
                a, k = rules.accept_p[o_l[i]], 0
                for j in range(ucur, ucur + o_n[i]):
                    if u[j] < a:
                        k += 1
                took[i] = k
                ucur += o_n[i]
            else:
                took[i] = o_n[i]
        for i in range(no):
            k = took[i]
            if k:
                r, l = o_r[i], o_l[i]
                free[P + r, l] -= k
                booked_pref[r, l] += k
                if tally:
                    t = nur if r < 2 * P else atypes[r - 2 * P]
                    lead[t, l] += k
        for p in range(P):
            need[p, nur] -= asked[p] + asked[P + p]
        if arrs:
            order = rules.rotation[day_index % P]
            for k in range(K):                          # `_split`: each pool's bookings over the practices
                total = asked[2 * P + k]
                for p in range(P):
                    splits[k, p] = 0
                for o in range(order.shape[0]):
                    p = order[o]
                    if total == 0:
                        break
                    c = by_pool[k, p]
                    if c > 0:
                        n = c if c < total else total
                        splits[k, p] = n
                        total -= n
                for p in range(P):
                    need[p, atypes[k]] -= splits[k, p]
        if took_any:
            for r in range(nr):
                left_over[r] = asked[r]
            for i in range(no):
                left_over[o_r[i]] -= took[i]
            for p in range(P):
                dec2[0, p, nur] += left_over[p]
                dec2[1, p, nur] += left_over[P + p]
            if arrs:
                order2 = rules.rotation[(day_index + 1) % P]
                for k in range(K):                      # `_split`: each pool's decliners over the practices
                    total = left_over[2 * P + k]
                    for o in range(order2.shape[0]):
                        p = order2[o]
                        if total <= 0:
                            break
                        c = splits[k, p]
                        if c > 0:
                            n = c if c < total else total
                            dec2[2, p, atypes[k]] += n
                            total -= n
    return ucur


@njit(**_jit)
def _gp(rules, free, booked_gp, u, need, lo, L, draw, lead, declined, ucur, gs):
    """`Diary._gp_py`: the types most constrained first into each practice's GP days lo..L-1.
    `gs` is `_scratch`'s offer buffers, reused (written here before they are read)."""
    P = rules.P
    o_p, o_t, o_l, o_n = gs
    no = 0
    for p in range(P):
        l = lo
        rem = free[p, lo]
        for o in range(rules.gp_order.shape[0]):
            t = rules.gp_order[o]
            left = need[p, t]
            while left > 0:
                while rem <= 0:
                    l += 1
                    if l == L:
                        break
                    rem = free[p, l]
                if l == L:
                    break
                n = rem if rem < left else left
                o_p[no] = p
                o_t[no] = t
                o_l[no] = l
                o_n[no] = n
                no += 1
                left -= n
                rem -= n
            if l == L:
                break
    drawn = draw and rules.draw
    for i in range(no):
        n = o_n[i]
        if drawn:
            a, k = rules.accept_p[o_l[i]], 0
            for j in range(ucur, ucur + n):
                if u[j] < a:
                    k += 1
            ucur += n
        else:
            k = n
        p, t, l = o_p[i], o_t[i], o_l[i]
        need[p, t] -= n
        if k:
            free[p, l] -= k
            booked_gp[t, l] += k
            lead[t, l] += k
        if k != n:
            declined[p, t] += n - k
    return ucur


@njit(**_jit)
def _planned(rules, books, cells, lead, left, day_index):
    """`Diary`'s planned booking (`book_day_lists`): for each desired day lo with requests, the
    preferred pools then the GPs (`_pref_all` then `_gp_py`, never declined, no draws), row by row: practice
    nurses then DPC staff for nursing, the ARRS pools (each pool's bookings shared out over the practices in
    the day's rotation), then each practice's GPs, types most constrained first. Each row's slots go in the
    order the reference's offers take them, so the same cells. `cells[lo, p]` has a bit for each type with
    requests (`arrived[2 + lo, p]`); those rows are emptied, the requests no slot took added to `left`."""
    P, nur, atypes = rules.P, rules.nursing, rules.arrs_type_slice
    free, booked_gp, booked_pref, arrived = books.free, books.booked_gp, books.booked_pref, books.arrived
    K = atypes.shape[0]
    NT = arrived.shape[2]
    H = free.shape[1]
    rotation = rules.rotation[day_index % P]       # the practices' order today (`_split`)
    first = np.zeros(free.shape[0], np.int64)      # each row's first day that may be free (`_pref_all`)

    def fill(row, gp, brow, lo, w, t):
        """Up to `w` requests of type `t` into row `row`'s first free slots from day `lo` (booked in GP row
        or preferred row `brow`); returns those left."""
        l = first[row] if first[row] > lo else lo
        while l < H:
            f = free[row, l]
            if f > 0:
                n = f if f < w else w
                free[row, l] -= n
                if gp:
                    booked_gp[brow, l] += n
                else:
                    booked_pref[brow, l] += n
                lead[t, l] += n
                w -= n
                if w == 0:
                    break
            l += 1
        first[row] = l
        return w

    for lo in range(H):
        kinds = 0                                   # the types with requests for day lo
        for p in range(P):
            kinds |= cells[lo, p]
        if kinds == 0:
            continue
        need = arrived[2 + lo]
        for p in range(P):
            w = need[p, nur]
            if w > 0:
                w = fill(P + p, False, p, lo, w, nur)
                if w > 0:
                    w = fill(2 * P + p, False, P + p, lo, w, nur)
                need[p, nur] = w
        for k in range(K):
            t = atypes[k]
            if not (kinds >> t) & 1:
                continue
            tot = 0
            for p in range(P):
                tot += need[p, t]
            if tot > 0:
                asked = tot - fill(3 * P + k, False, 2 * P + k, lo, tot, t)
                for o in range(P):                          # `_split`
                    p = rotation[o]
                    if asked == 0:
                        break
                    c = need[p, t]
                    if c > 0:
                        m = c if c < asked else asked
                        need[p, t] = c - m
                        asked -= m
        for p in range(P):
            if cells[lo, p] == 0:                       # nothing asked: nothing left either
                continue
            for o in range(rules.gp_order.shape[0]):
                t = rules.gp_order[o]
                w = need[p, t]
                if w > 0:
                    need[p, t] = fill(p, True, t, lo, w, t)
            for t in range(NT):
                left[p, t] += need[p, t]
                need[p, t] = 0


@njit(**_jit)
def _second(rules, books, u, dec2, R, lead, declined, ucur):
    """`Diary._second_py`: decliners of a preferred role offered the earliest slots of the roles after it."""
    P, nur, free = rules.P, rules.nursing, books.free
    NT = dec2.shape[2]
    cands = np.empty(3, np.int64)
    o_c = np.empty(3 * R, np.int64)
    o_l = np.empty(3 * R, np.int64)
    o_n = np.empty(3 * R, np.int64)
    for s in range(3):
        for p in range(P):
            for t in range(NT):
                n = dec2[s, p, t]
                if n == 0:
                    continue
                nc = 0
                if t == nur and s == 0:
                    cands[nc] = 2 * P + p
                    nc += 1
                if t == nur and s < 2 and rules.nursing_in_arrs:
                    cands[nc] = 3 * P + rules.nursing_pool
                    nc += 1
                cands[nc] = p
                nc += 1
                no = 0
                left = n
                for l in range(R):
                    for j in range(nc):
                        c = cands[j]
                        f = free[c, l]
                        if f > 0:
                            m = f if f < left else left
                            o_c[no] = c
                            o_l[no] = l
                            o_n[no] = m
                            no += 1
                            left -= m
                            if left == 0:
                                break
                    if left == 0:
                        break
                for i in range(no):
                    c, l, m = o_c[i], o_l[i], o_n[i]
                    a, k = rules.accept_p[l], 0
                    for j in range(ucur, ucur + m):
                        if u[j] < a:
                            k += 1
                    ucur += m
                    if k:
                        free[c, l] -= k
                        if c < P:
                            books.booked_gp[t, l] += k
                        else:
                            books.booked_pref[c - P, l] += k
                        lead[t, l] += k
                    left += m - k
                declined[p, t] += left
    return ucur


@njit(**_jit)
def _scratch(rules, P, NT):
    """Buffers for `_pref_all` (`sc`) and `_gp` (`gs`), allocated once a day and reused by every call: offers
    sized for the booking passes' longest reach."""
    K = rules.arrs_type_slice.shape[0]
    nr = 2 * P + K
    reach = 1
    for L in rules.passes:
        if L > reach:
            reach = L
    no = nr * reach
    sc = (np.empty(nr, np.int64), np.empty((K, P), np.int64), np.empty(no, np.int64), np.empty(no, np.int64),
          np.empty(no, np.int64), np.empty(nr, np.int64), np.empty(no, np.int64), np.empty((K, P), np.int64),
          np.empty(nr, np.int64), np.zeros(nr, np.int64))
    ng = P * (NT + reach)          # each GP offer ends a type's requests or a day's free slots
    gs = (np.empty(ng, np.int64), np.empty(ng, np.int64), np.empty(ng, np.int64), np.empty(ng, np.int64))
    return sc, gs


@njit(**_jit)
def _from_start(sc):
    """`_pref_all`'s first possibly free days forgotten: for a booking pass that starts again from an earlier
    day. Between two of these, `lo` never goes down and slots are only taken, never freed, so a full day stays
    full."""
    first = sc[9]
    for r in range(first.shape[0]):
        first[r] = 0


@njit(**_jit)
def _any(a):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] != 0:
                return True
    return False


@njit(**_jit)
def book_day(rules, books, day, stats):
    """Urgent care, planned and routine booking, second offers and return decisions of one open day, in place
    (`Diary.book_day_lists`).

    `arrived` (urgent, routine, planned by desired lead, by practice and type) is emptied, `carried` becomes
    today's urgent requests not seen, `returns` moves a day and gains today's returners, `unbooked_today` gets
    the routine and planned requests no diary could take; `stats` rows (DIVERTED, ...) get the day's counts by
    type; the day's bookings are tallied by lead (`served_by_age`) and, measuring, by type and GPAD bin.
    """
    free, booked_gp, carried, returns, arrived = (books.free, books.booked_gp, books.carried, books.returns,
                                                  books.arrived)
    u, u0, day_index = day.u, day.u0, day.day_index
    P, NT = carried.shape
    H = free.shape[1]
    R = returns.shape[2]
    for i in range(stats.shape[0]):
        for t in range(stats.shape[1]):
            stats[i, t] = 0
    lead = np.zeros((NT, H), np.int64)
    lead_pl = np.zeros((NT, H), np.int64)
    declined = np.zeros((P, NT), np.int64)
    dec2 = np.zeros((3, P, NT), np.int64)
    urgent = np.empty((P, NT), np.int64)
    routine = np.empty((P, NT), np.int64)
    both = np.empty((P, NT), np.int64)
    sc, gs = _scratch(rules, P, NT)
    ga = (rules, free, booked_gp)
    n = 0
    for p in range(P):
        for t in range(NT):
            urgent[p, t] = arrived[0, p, t]
            routine[p, t] = arrived[1, p, t]
            both[p, t] = carried[p, t] + urgent[p, t]
            arrived[0, p, t] = 0
            arrived[1, p, t] = 0
    cells = np.zeros((H, P), np.int64)             # planned requests by desired day and practice: a bit a type
    for l in range(H):
        for p in range(P):
            c = 0
            for t in range(NT):
                x = arrived[2 + l, p, t]
                n += x
                c |= (x != 0) << t
            cells[l, p] = c
    # returners due today are routine
    for p in range(P):
        for t in range(NT):
            b = returns[p, t, 0]
            stats[BACK, t] += b
            routine[p, t] += b
            for j in range(R - 1):
                returns[p, t, j] = returns[p, t, j + 1]
    for p in range(P):
        for t in range(NT):
            n += routine[p, t]

    # urgent, today only: yesterday's first, preferred pools then GPs (most constrained types first)
    seen_carried = np.zeros(NT, np.int64)
    before = both.sum()
    if before:
        before_t = np.zeros(NT, np.int64)
        for p in range(P):
            for t in range(NT):
                before_t[t] += both[p, t]
        _from_start(sc)
        _pref_all(rules, books, u, both, 0, 1, day_index, False, lead, False, dec2, 0, sc)
        for p in range(P):
            cap = free[p, 0]
            if cap <= 0:
                continue
            tot = 0
            for o in range(rules.gp_order.shape[0]):
                t = rules.gp_order[o]
                g = both[p, t]
                if g > 0:
                    if g > cap:
                        g = cap
                    both[p, t] -= g
                    cap -= g
                    tot += g
                    booked_gp[t, 0] += g
                    if cap == 0:
                        break
            if tot:
                free[p, 0] -= tot
        for p in range(P):
            for t in range(NT):
                new = both[p, t] if both[p, t] < urgent[p, t] else urgent[p, t]   # of those left, today's newest
                left = both[p, t] - new                                              # yesterday's, not seen
                seen_carried[t] += carried[p, t] - left
                before_t[t] -= both[p, t]
                stats[DIVERTED, t] += left
                carried[p, t] = new
        for t in range(NT):
            lead[t, 0] += before_t[t] - seen_carried[t]
    else:
        for p in range(P):
            for t in range(NT):
                stats[DIVERTED, t] += carried[p, t]
                carried[p, t] = urgent[p, t]

    # planned: by desired day, the first free slot of an eligible role at or after it; never declined
    planned_left = np.zeros((P, NT), np.int64)
    _planned(rules, books, cells, lead_pl, planned_left, day_index)

    # routine: a preferred role's first free slot within reach, else a GP's; then the same within the horizon
    ucur = u0
    _from_start(sc)
    for L in rules.passes:
        if not _any(routine):
            break
        ucur = _pref_all(rules, books, u, routine, 0, L, day_index, True, lead, True, dec2, ucur, sc)
        if _any(routine):
            ucur = _gp(*ga, u, routine, 0, L, True, lead, declined, ucur, gs)
    # second offers, from their own block of uniforms
    if rules.draw:
        _second(rules, books, u, dec2, rules.passes[rules.passes.shape[0] - 1], lead, declined, u0 + n)
    # the day's bookings by lead (urgent and routine: waits in working days) and, measuring, by GPAD bin
    sba = books.served_by_age
    for l in range(H):
        tot = 0
        for t in range(NT):
            tot += lead[t, l]
        if tot:
            sba[l] += tot
    sc = seen_carried.sum()
    if sc:
        sba[1] += sc
    for l in range(H):
        tot = 0
        for t in range(NT):
            tot += lead_pl[t, l]
        if tot:
            books.planned_by_age[l] += tot
    if day.measuring:
        bins, gb = books.lead_bins, day.gpad_bin
        for t in range(NT):
            for l in range(H):
                x = lead[t, l] + lead_pl[t, l]
                if x:
                    bins[t, gb[l]] += x
            if seen_carried[t]:
                bins[t, day.back_bin] += seen_carried[t]
    for p in range(P):
        for t in range(NT):
            books.unbooked_today[p, t] = routine[p, t]      # routine requests no eligible diary could take
            routine[p, t] += planned_left[p, t]
    # not booked (declined, or no eligible slot in the horizon): contact again later, or go elsewhere
    at = u0 + 2 * n
    for p in range(P):
        for t in range(NT):
            m = declined[p, t] + routine[p, t]
            stats[ELSEWHERE, t] += m
            g = 0
            if rules.return_share > 0 and m:
                for j in range(at, at + m):
                    if u[j] < rules.return_share:
                        g += 1
                at += m
                stats[ELSEWHERE, t] -= g
            returns[p, t, R - 1] = g


@njit(**_jit)
def open_day(rules, books, k, day_index, slots, protected, wanted, needed):
    """`Diary.open_day` of diary day k: slots by pool, the share held for the day, supervision blocked."""
    P, carry, free = rules.P, books.carry_open, books.free
    nF = slots.shape[0]
    cap = np.empty(nF, np.int64)
    for i in range(nF):
        total = slots[i] + carry[i]
        w = np.floor(total + 1e-9)
        carry[i] = total - w
        cap[i] = np.int64(w)
    total = protected + carry[nF]
    w = np.floor(total + 1e-9)
    carry[nF] = total - w
    blk = np.int64(w)
    free_gp = 0
    for i in range(nF):
        held = np.int64(np.floor(cap[i] * rules.on_the_day_share))
        books.held[i, k] = held
        free[i, k] = cap[i] - held
        if i < P:
            free_gp += cap[i] - held
    if free_gp < blk:
        blk = free_gp
    if blk:
        got = np.zeros(P, np.int64)
        _split(free[:P, k].copy(), blk, rules.rotation[day_index % P], got)
        for p in range(P):
            free[p, k] -= got[p]
            cap[p] -= got[p]
    for i in range(nF):
        books.capacity[i, k] = cap[i]
    books.sup[0, k] = wanted
    books.sup[1, k] = needed
    books.sup[2, k] = blk * rules.gp_minutes / 60.0


@njit(**_jit)
def _move(a):
    """Diary rows moved on a day: day l takes day l + 1's values, the last day zero."""
    H = a.shape[1]
    for r in range(a.shape[0]):
        for l in range(H - 1):
            a[r, l] = a[r, l + 1]
        a[r, H - 1] = 0


@njit(**_jit)
def end_day(rules, books, day, stats):
    """`Diary.end_day_lists`: supervision given, today's appointments counted, the diary moved a day
    and a new day opened at the horizon; the day's counts go to `week_counts`."""
    P, atypes, gp_min = rules.P, rules.arrs_type_slice, rules.gp_minutes
    free, capacity, booked_gp, booked_pref, sup = (books.free, books.capacity, books.booked_gp, books.booked_pref,
                                                   books.sup)
    week = books.week_counts[0]
    K = atypes.shape[0]
    NT = booked_gp.shape[0]
    H = free.shape[1]
    # supervision not blocked ahead (or released under GP pressure) is given from GP slots still free
    # today; no more than the day wanted is counted given (a block rounded up to a whole slot idles the rest)
    fl0 = 0
    for p in range(P):
        fl0 += free[p, 0]
    wanted0, needed0, blocked0 = sup[0, 0], sup[1, 0], sup[2, 0]
    given = min(max(wanted0 - blocked0, 0.0) * 60.0 / gp_min, float(fl0)) * gp_min / 60.0
    week.supervision += min(blocked0 + given, wanted0)
    week.supervision_needed += needed0
    # today's appointments
    gp_sum = 0
    for t in range(NT):
        gp_sum += booked_gp[t, 0]
    nurse = 0
    dpc = 0
    for p in range(P):
        nurse += booked_pref[p, 0]
        dpc += booked_pref[P + p, 0]
    arrs = 0
    for k in range(K):
        arrs += booked_pref[2 * P + k, 0]
    week.gp += gp_sum
    week.nurse += nurse
    week.dpc += dpc
    week.arrs += arrs
    if day.measuring:
        by_type = books.by_type
        today = np.empty(NT)
        for t in range(NT):
            today[t] = float(booked_gp[t, 0])
        today[rules.nursing] += nurse + dpc
        for k in range(K):
            today[atypes[k]] += booked_pref[2 * P + k, 0]
        for t in range(NT):
            row = by_type[t]
            row.appointments += today[t]
            row.gp += booked_gp[t, 0]
            row.unmet += stats[DIVERTED, t] + stats[ELSEWHERE, t]
            row.diverted += stats[DIVERTED, t]
            row.returned += stats[BACK, t]
        used, offered = books.used, books.offered
        used[0] += gp_sum
        used[1] += nurse
        used[2] += dpc
        for k in range(K):
            used[3 + k] += booked_pref[2 * P + k, 0]
        c0 = 0
        c1 = 0
        c2 = 0
        for p in range(P):
            c0 += capacity[p, 0]
            c1 += capacity[P + p, 0]
            c2 += capacity[2 * P + p, 0]
        offered[0] += c0
        offered[1] += c1
        offered[2] += c2
        for k in range(K):
            offered[3 + k] += capacity[3 * P + k, 0]
    # the diary moves on a day; a new day opens at the horizon
    for a in (free, books.held, capacity, booked_gp, booked_pref):
        _move(a)
    for r in range(3):
        for l in range(H - 1):
            sup[r, l] = sup[r, l + 1]
    open_day(rules, books, H - 1, H - 1, day.slots, day.protected, day.wanted, day.needed)


@njit(types.UniTuple(types.int64, 2)(types.NamedTuple(tuple(_RULES.values()), Rules),
                                     types.NamedTuple(tuple(_BOOKS.values()), Books),
                                     types.NamedTuple(tuple(_DAY.values()), Day)), cache=True, **_jit)
def serve(rules, books, day):
    """One open day of `Practices.serve_day` in one call: the day's arrivals, held slots released and the
    CD's or a locum's extra GP slots, `book_day`, then `end_day`. Adds the day's counts to `week_counts`
    (in the order that adding them a day at a time in Python would) and returns the returners due on the
    next open day and the GP slots offered today (the practices' GP capacity, extra slots included)."""
    P = rules.P
    NT = books.carried.shape[1]
    free, arrived = books.free, books.arrived
    by_type = np.zeros(NT, np.int64)
    for p in range(P):
        for t in range(NT):
            a, b = day.urgent[p, t], day.routine[p, t]
            arrived[0, p, t] += a
            arrived[1, p, t] += b
            by_type[t] += a + b
    planned = day.planned
    for l in range(planned.shape[0]):                # mostly zeros: added without a branch
        for p in range(P):
            for t in range(NT):
                x = planned[l, p, t]
                arrived[2 + l, p, t] += x
                by_type[t] += x
    total = 0
    for t in range(NT):
        total += by_type[t]
        if day.measuring:                   # whole numbers: the same sums in any order
            books.by_type[t].requests += by_type[t]
    for i in range(free.shape[0]):
        free[i, 0] += books.held[i, 0]              # the day's held slots are released
    if day.extra:
        free[0, 0] += day.extra
        books.capacity[0, 0] += day.extra
    offered = 0
    for p in range(P):
        offered += books.capacity[p, 0]
    stats = np.zeros((3, NT), np.int64)
    book_day(rules, books, day, stats)
    end_day(rules, books, day, stats)
    week = books.week_counts[0]
    week.requests += total
    week.returned += stats[BACK].sum()
    week.diverted += stats[DIVERTED].sum()
    week.elsewhere += stats[ELSEWHERE].sum()
    due = 0
    for p in range(P):
        for t in range(NT):
            due += books.returns[p, t, 0]
    return due, offered


def entry(rules: Rules, books: Books, day: Day) -> Callable:
    """`serve` without numba's dispatch, for a diary's days: its compiled entry point once `rules`, `books` and
    a first `day` are of the types it was compiled for, else `serve` itself (which says what does not match).
    The dispatcher types every field of the three bundles on each call, a few microseconds a day; the entry
    point trusts that later days' arrays are of the same types, as they are when built the same way."""
    (signature,) = serve.signatures
    if (typeof(rules), typeof(books), typeof(day)) != tuple(signature):
        return serve
    return serve.overloads[signature].entry_point
