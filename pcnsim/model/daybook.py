"""A PCN's day compiled with numba: the rules of `pcnsim.model.booking`, number for number.

`serve` is one open day in one call: the day's arrivals, `book_day` (urgent care, the routine
booking passes, who contacts again), `end_day` (supervision given, the day's appointments
counted, the diary moved a day) and `open_day` (the new horizon day). They work on the
practices' int64 diaries in place, with the same first-free-slot rules, the same rotation of
shared counts and the same uniforms consumed in the same order as the list code in
`booking.py`, which stays the reference: tests/test_daybook.py checks the two agree on random
scenarios, and `PCNSIM_ENGINE=python` selects it (`engine.py`, docs/performance.md).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from pcnsim.model.booking import (OUT_ARRS, OUT_DIVERTED, OUT_ELSEWHERE, OUT_GP, OUT_NEEDED, OUT_NURSE,
                                  OUT_REQUESTS, OUT_RETURNED, OUT_SUP)

# the day's counts `book_day` returns, rows of `stats` (by type)
DIVERTED, ELSEWHERE, BACK = 0, 1, 2


I2, I1, F1 = "int64[:, ::1]", "int64[::1]", "float64[::1]"
# explicit signatures: one compiled body each (numba would otherwise compile one per literal argument)
_jit = dict(cache=True, nogil=True)


@njit(f"void({I1}, int64, {I1}, {I1})", **_jit)
def _split(counts, total, order, out):
    """`total` taken from `counts` (by practice) in the rotating `order` (`Booking._split`)."""
    for p in range(out.shape[0]):
        out[p] = 0
    if total <= 0:
        return
    for p in order:
        c = counts[p]
        if c > 0:
            n = c if c < total else total
            out[p] = n
            total -= n
            if total == 0:
                break


@njit(f"int64({F1}, int64, int64, float64)", **_jit)
def _taken(u, at, n, a):
    """Patients of an offer of `n` who take it: uniforms u[at:at + n] below `a`."""
    k = 0
    for i in range(at, at + n):
        if u[i] < a:
            k += 1
    return k


@njit(f"int64({I2}, int64, int64, boolean, {I2}, {I2}, {I1}, {I2}, boolean, boolean, int64, int64, {I1}, {I2},"
      f" boolean, {F1}, {F1}, int64)", **_jit)
def _pref(need, L, day_index, urgent, free, booked_pref, lead, declined, nurses, arrs,
          P, nur, atypes, rotation, draw, accept_p, u, ucur):
    """`Booking._pref_py`: practice nurses' and ARRS pools' first free slots within L days."""
    K = atypes.shape[0]
    want = np.zeros(P + K, np.int64)
    if nurses:
        for p in range(P):
            want[p] = need[p, nur]
    by_pool = np.zeros((K, P), np.int64)
    if arrs:
        for k in range(K):
            tot = 0
            for p in range(P):
                by_pool[k, p] = need[p, atypes[k]]
                tot += need[p, atypes[k]]
            want[P + k] = tot
    anyw = False
    for r in range(P + K):
        if want[r] != 0:
            anyw = True
            break
    if not anyw:
        return ucur
    nr = P + K
    o_r = np.empty(nr * L, np.int64)
    o_l = np.empty(nr * L, np.int64)
    o_n = np.empty(nr * L, np.int64)
    no = 0
    asked = np.zeros(nr, np.int64)
    for r in range(nr):
        w = want[r]
        if w > 0:
            left = w
            for l in range(L):
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
    took_any = (not urgent) and draw
    took = np.empty(no, np.int64)
    for i in range(no):
        if took_any:
            took[i] = _taken(u, ucur, o_n[i], accept_p[o_l[i]])
            ucur += o_n[i]
        else:
            took[i] = o_n[i]
    for i in range(no):
        k = took[i]
        if k:
            r, l = o_r[i], o_l[i]
            free[P + r, l] -= k
            booked_pref[r, l] += k
            if not urgent:
                lead[l] += k
    for p in range(P):
        need[p, nur] -= asked[p]
    if not arrs:
        return ucur
    order = rotation[day_index % P]
    splits = np.zeros((K, P), np.int64)
    tmp = np.zeros(P, np.int64)
    for k in range(K):
        _split(by_pool[k], asked[P + k], order, tmp)
        for p in range(P):
            splits[k, p] = tmp[p]
            need[p, atypes[k]] -= tmp[p]
    if took_any:
        left_over = asked.copy()
        for i in range(no):
            left_over[o_r[i]] -= took[i]
        for p in range(P):
            declined[p, nur] += left_over[p]
        order2 = rotation[(day_index + 1) % P]
        for k in range(K):
            _split(splits[k], left_over[P + k], order2, tmp)
            for p in range(P):
                declined[p, atypes[k]] += tmp[p]
    return ucur


@njit(f"int64({I2}, int64, int64, boolean, {I2}, {I2}, {I1}, {I2}, boolean, int64, int64, {I1}, {I2},"
      f" boolean, {F1}, {F1}, int64)", **_jit)
def _pref_all(need, L, day_index, urgent, free, booked_pref, lead, declined, nursing_in_arrs,
              P, nur, atypes, rotation, draw, accept_p, u, ucur):
    if nursing_in_arrs:       # an ARRS role serving nursing: the practice nurses first, then ARRS
        ucur = _pref(need, L, day_index, urgent, free, booked_pref, lead, declined, True, False,
                     P, nur, atypes, rotation, draw, accept_p, u, ucur)
        return _pref(need, L, day_index, urgent, free, booked_pref, lead, declined, False, True,
                     P, nur, atypes, rotation, draw, accept_p, u, ucur)
    return _pref(need, L, day_index, urgent, free, booked_pref, lead, declined, True, True,
                 P, nur, atypes, rotation, draw, accept_p, u, ucur)


@njit(f"int64({I2}, int64, {I2}, {I2}, {I1}, {I2}, int64, {I1}, boolean, {F1}, {F1}, int64)", **_jit)
def _gp(need, L, free, booked_gp, lead, declined, P, gp_order, draw, accept_p, u, ucur):
    """`Booking._gp_py`: the types most constrained first into each practice's GP days."""
    NT = need.shape[1]
    cap = P * NT * (L + 1)
    o_p = np.empty(cap, np.int64)
    o_t = np.empty(cap, np.int64)
    o_l = np.empty(cap, np.int64)
    o_n = np.empty(cap, np.int64)
    no = 0
    for p in range(P):
        l = 0
        rem = free[p, 0]
        for t in gp_order:
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
    for i in range(no):
        n = o_n[i]
        if draw:
            k = _taken(u, ucur, n, accept_p[o_l[i]])
            ucur += n
        else:
            k = n
        p, t, l = o_p[i], o_t[i], o_l[i]
        need[p, t] -= n
        if k:
            free[p, l] -= k
            booked_gp[t, l] += k
            lead[l] += k
        if k != n:
            declined[p, t] += n - k
    return ucur


@njit(f"boolean({I2})", **_jit)
def _any(a):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] != 0:
                return True
    return False


@njit(f"void({I2}, {I2}, {I2}, {I2}, {I2}, int64[:, :, ::1], int64[:, :, ::1], {I2}, int64, {F1}, int64, {F1}, boolean,"
      f" float64, {I1}, {I2}, {I1}, int64, boolean, {I1}, {I2})", **_jit)
def book_day(free, booked_gp, booked_pref, by_lead, carried, returns, arrived, unbooked, day_index, u, u0,
             accept_p, draw, return_share, gp_order, rotation, atypes, nur, nursing_in_arrs, passes, stats):
    """Urgent care, routine booking and return decisions of one open day, in place (`serve_day`).

    `arrived` (urgent, routine by practice and type) is emptied, `carried` becomes today's urgent
    requests not seen, `returns` moves a day and gains today's returners, `unbooked` gets the
    routine requests no diary could take; `stats` rows (DIVERTED, ...) get the day's counts by type.
    """
    P, NT = carried.shape
    H = free.shape[1]
    R = returns.shape[2]
    for i in range(stats.shape[0]):
        for t in range(stats.shape[1]):
            stats[i, t] = 0
    lead = np.zeros(H, np.int64)
    declined = np.zeros((P, NT), np.int64)
    urgent = np.empty((P, NT), np.int64)
    routine = np.empty((P, NT), np.int64)
    both = np.empty((P, NT), np.int64)
    for p in range(P):
        for t in range(NT):
            urgent[p, t] = arrived[0, p, t]
            routine[p, t] = arrived[1, p, t]
            both[p, t] = carried[p, t] + urgent[p, t]
            arrived[0, p, t] = 0
            arrived[1, p, t] = 0
    # returners due today are routine
    for p in range(P):
        for t in range(NT):
            b = returns[p, t, 0]
            stats[BACK, t] += b
            routine[p, t] += b
            for j in range(R - 1):
                returns[p, t, j] = returns[p, t, j + 1]
    n_routine = 0
    for p in range(P):
        for t in range(NT):
            n_routine += routine[p, t]

    # urgent, today only: yesterday's first, preferred pools then GPs (most constrained types first)
    before = both.sum()
    if before:
        _pref_all(both, 1, day_index, True, free, booked_pref, lead, declined, nursing_in_arrs,
                  P, nur, atypes, rotation, False, accept_p, u, 0)
        for p in range(P):
            cap = free[p, 0]
            if cap <= 0:
                continue
            tot = 0
            for t in gp_order:
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
        seen = before - both.sum()
        seen_carried = carried.sum()
        for p in range(P):
            for t in range(NT):
                new = both[p, t] if both[p, t] < urgent[p, t] else urgent[p, t]   # of those left, today's newest
                left = both[p, t] - new                                              # yesterday's, not seen
                seen_carried -= left
                stats[DIVERTED, t] += left
                carried[p, t] = new
        by_lead[1, 0] += seen_carried
        lead[0] += seen - seen_carried
    else:
        for p in range(P):
            for t in range(NT):
                stats[DIVERTED, t] += carried[p, t]
                carried[p, t] = urgent[p, t]

    # routine: a preferred role's first free slot within reach, else a GP's; then the same within the horizon
    ucur = u0
    for L in passes:
        if not _any(routine):
            break
        ucur = _pref_all(routine, L, day_index, False, free, booked_pref, lead, declined, nursing_in_arrs,
                         P, nur, atypes, rotation, draw, accept_p, u, ucur)
        if _any(routine):
            ucur = _gp(routine, L, free, booked_gp, lead, declined, P, gp_order, draw, accept_p, u, ucur)
    for l in range(H):
        by_lead[l, l] += lead[l]
    for p in range(P):
        for t in range(NT):
            unbooked[p, t] = routine[p, t]
    # not booked (declined, or no eligible slot in the horizon): contact again later, or go elsewhere
    at = u0 + n_routine
    for p in range(P):
        for t in range(NT):
            n = declined[p, t] + routine[p, t]
            stats[ELSEWHERE, t] += n
            g = 0
            if return_share > 0 and n:
                g = _taken(u, at, n, return_share)
                at += n
                stats[ELSEWHERE, t] -= g
            returns[p, t, R - 1] = g


@njit(f"void(int64[:, ::1], float64[:, ::1], int64, int64, {F1}, {F1}, float64, float64, float64, float64, float64,"
      f" int64, {I2})", **_jit)
def open_day(block, sup, P, k, slots, carry, share, protected, wanted, needed, gp_min, day_index, rotation):
    """`Booking.open_day` of diary day k: slots by pool, the share held for the day, supervision blocked."""
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
        held = np.int64(np.floor(cap[i] * share))
        block[nF + i, k] = held
        block[i, k] = cap[i] - held
        if i < P:
            free_gp += cap[i] - held
    if free_gp < blk:
        blk = free_gp
    if blk:
        got = np.zeros(P, np.int64)
        _split(block[:P, k].copy(), blk, rotation[day_index % P], got)
        for p in range(P):
            block[p, k] -= got[p]
            cap[p] -= got[p]
    for i in range(nF):
        block[2 * nF + i, k] = cap[i]
    sup[0, k] = wanted
    sup[1, k] = needed
    sup[2, k] = blk * gp_min / 60.0


@njit(f"void(int64[:, ::1], float64[:, ::1], int64, int64, int64, boolean, int64, {I1}, {I2}, float64[:, ::1], {F1},"
      f" {F1}, {F1}, {F1}, {F1}, float64, float64, float64, float64, float64, {I2}, {F1})", **_jit)
def end_day(block, sup, P, K, NT, measuring, nursing, atypes, stats, by_type, used, offered, served_by_age,
            slots, carry, share, protected, wanted, needed, gp_min, rotation, week):
    """The end of `Practices.serve_day`: supervision given, today's appointments counted, the diary
    moved a day and a new day opened at the horizon. Adds to `week` (supervision hours given with those
    blocked, hours needed, GP, nurse and ARRS appointments: `OUT_SUP` to `OUT_ARRS`)."""
    nF = 2 * P + K
    H = block.shape[1]
    g0 = 3 * nF                 # rows of booked_gp, booked_pref, by_lead in the block
    p0 = g0 + NT
    l0 = p0 + P + K
    # supervision not blocked ahead is given from GP slots still free today
    fl0 = 0
    for p in range(P):
        fl0 += block[p, 0]
    wanted0, needed0, blocked0 = sup[0, 0], sup[1, 0], sup[2, 0]
    given = min(max(wanted0 - blocked0, 0.0) * 60.0 / gp_min, float(fl0)) * gp_min / 60.0
    week[OUT_SUP] += blocked0 + given
    week[OUT_NEEDED] += needed0
    # today's appointments
    gp_sum = 0
    for t in range(NT):
        gp_sum += block[g0 + t, 0]
    nurse = 0
    for p in range(P):
        nurse += block[p0 + p, 0]
    arrs = 0
    for k in range(K):
        arrs += block[p0 + P + k, 0]
    week[OUT_GP] += gp_sum
    week[OUT_NURSE] += nurse
    week[OUT_ARRS] += arrs
    for l in range(H + 1):
        served_by_age[l] += block[l0 + l, 0]
    if measuring:               # rows of by_type: requests, appointments, gp, unmet, diverted, returned
        today = np.empty(NT)
        for t in range(NT):
            today[t] = float(block[g0 + t, 0])
        today[nursing] += nurse
        for k in range(K):
            today[atypes[k]] += block[p0 + P + k, 0]
        for t in range(NT):
            by_type[1, t] += today[t]
            by_type[2, t] += block[g0 + t, 0]
            by_type[3, t] += stats[DIVERTED, t] + stats[ELSEWHERE, t]
            by_type[4, t] += stats[DIVERTED, t]
            by_type[5, t] += stats[BACK, t]
        used[0] += gp_sum
        used[1] += nurse
        for k in range(K):
            used[2 + k] += block[p0 + P + k, 0]
        c0 = 0
        c1 = 0
        for p in range(P):
            c0 += block[2 * nF + p, 0]
            c1 += block[2 * nF + P + p, 0]
        offered[0] += c0
        offered[1] += c1
        for k in range(K):
            offered[2 + k] += block[2 * nF + 2 * P + k, 0]
    # the diary moves on a day; a new day opens at the horizon
    for r in range(block.shape[0]):
        for l in range(H - 1):
            block[r, l] = block[r, l + 1]
        block[r, H - 1] = 0
    for r in range(3):
        for l in range(H - 1):
            sup[r, l] = sup[r, l + 1]
    open_day(block, sup, P, H - 1, slots, carry, share, protected, wanted, needed, gp_min, H - 1, rotation)




@njit(f"int64(int64[:, ::1], float64[:, ::1], int64[:, :, ::1], int64[:, :, ::1], {I2}, {I2}, {I2}, int64, int64,"
      f" int64, {F1}, int64, {F1}, boolean, float64, {I1}, {I2}, {I1}, int64, boolean, {I1}, {I2}, boolean,"
      f" float64[:, ::1],"
      f" {F1}, {F1}, {F1}, {F1}, {F1}, float64, float64, float64, float64, float64, {F1})", **_jit)
def serve(block, sup, arrived, returns, arrivals_urgent, arrivals_routine, carried, P, extra, day_index, u, u0,
          accept_p, draw, return_share, gp_order, rotation, atypes, nur, nursing_in_arrs, passes, unbooked,
          measuring, by_type, used, offered, served_by_age, slots, carry, share, protected, wanted, needed, gp_min,
          week):
    """One open day of `Practices.serve_day` in one call: the day's arrivals, held slots released and the
    CD's or a locum's extra GP slots, `book_day`, then `end_day`. Adds the day's counts named above to `week`
    (in the order that adding them a day at a time in Python would) and returns the returners due on the
    next open day."""
    NT = carried.shape[1]
    K = atypes.shape[0]
    nF = 2 * P + K
    total = 0
    for p in range(P):
        for t in range(NT):
            a, b = arrivals_urgent[p, t], arrivals_routine[p, t]
            arrived[0, p, t] += a
            arrived[1, p, t] += b
            total += a + b
            if measuring:
                by_type[0, t] += a + b
    for i in range(nF):
        block[i, 0] += block[nF + i, 0]              # the day's held slots are released
    if extra:
        block[0, 0] += extra
        block[2 * nF, 0] += extra
    stats = np.zeros((3, NT), np.int64)
    g0 = 3 * nF
    book_day(block[:nF], block[g0:g0 + NT], block[g0 + NT:g0 + NT + P + K], block[g0 + NT + P + K:], carried,
             returns, arrived, unbooked, day_index, u, u0, accept_p, draw, return_share, gp_order, rotation, atypes,
             nur, nursing_in_arrs, passes, stats)
    end_day(block, sup, P, K, NT, measuring, nur, atypes, stats, by_type, used, offered, served_by_age,
            slots, carry, share, protected, wanted, needed, gp_min, rotation, week)
    week[OUT_REQUESTS] += total
    week[OUT_RETURNED] += stats[BACK].sum()
    week[OUT_DIVERTED] += stats[DIVERTED].sum()
    week[OUT_ELSEWHERE] += stats[ELSEWHERE].sum()
    due = 0
    for p in range(P):
        for t in range(NT):
            due += returns[p, t, 0]
    return due
