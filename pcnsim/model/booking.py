"""Booking requests into the diaries' first free slots: the rules of docs/model.md 2.3, on plain lists.

A day's booking works on a few dozen small integers, where plain Python is several times
faster than numpy calls. The rules: requests of several queues, in order, take the first free
slots of a diary (a queue q of practice p occupies the positions between the cumulative counts
of the queues before it and its own; day d offers the positions between the cumulative free
slots before it and its own; the requests of q offered day d are the overlap); a count shared
over practices is taken practice by practice in an order that rotates by day; an offer d days
ahead is taken with probability exp(-d / tolerance), one binomial draw per (row, day) with
offers, in the row-major order of the offers (results are bit-identical to the numpy form they
replaced, commit 09f9ef7 and before).
"""
from __future__ import annotations

import math

import numpy as np

from pcnsim.config import DAYS_PER_WEEK


class Booking:
    """The diary steps of `Practices` (a mixin: they read and write the practices' diaries):
    opening a day's slots, and booking requests into them."""

    def whole(self, key: str, slots):
        """Whole appointments from fractional capacity, carrying the fraction to the next day."""
        total = slots + self.carry[key]
        whole = np.floor(total + 1e-9)
        self.carry[key] = total - whole
        return whole.astype(np.int64) if isinstance(whole, np.ndarray) else int(whole)

    def open_day(self, k: int) -> None:
        """Open diary day k: the clinicians' slots, the share held for the day, and protected supervision."""
        s, arrs, P = self.s, self.pcn.arrs, self.P
        # what the staff in post give, worked out again only when they change
        key = tuple(arrs.in_post.values())
        if key != self._open_key:
            wte = arrs.working_wte()
            slots = (self.base_slots + self.pool_of_roles @ (wte * arrs.slots_per_wte)).tolist()
            needed = float(wte @ arrs.supervision_hours) / DAYS_PER_WEEK
            wanted = needed * s.arrs.supervision_share
            protected = wanted * s.arrs.supervision_protected_share * 60.0 / s.gps.appointment_minutes
            self._open_key, self._open = key, (slots, needed, wanted, protected)
        slots, needed, wanted, protected = self._open
        # `whole` on plain floats (the same IEEE arithmetic as the arrays)
        carry, share = self.carry["pools"], s.demand.on_the_day_share
        cap = []
        for i, x in enumerate(slots):
            total = x + carry[i]
            w = math.floor(total + 1e-9)
            carry[i] = total - w
            cap.append(w)
        held = [math.floor(c * share) for c in cap]
        free = [c - h for c, h in zip(cap, held)]
        # supervision: the staff working that day need it; a share is blocked before any patient books
        block = self.whole("sup", protected)
        block = min(block, sum(free[:P]))
        if block:
            got = self._split(free[:P], block, k)
            for p in range(P):
                free[p] -= got[p]
                cap[p] -= got[p]
        self.held[:, k] = held
        self.free[:, k] = free
        self.capacity[:, k] = cap
        self.sup[:, k] = (wanted, needed, block * s.gps.appointment_minutes / 60.0)

    # ------------------------------------------------------------------ the day
    def _draw(self, offers: list) -> list:
        """The offers taken (`_accept`): `offers` is [(row, day, n)] in the C order of the offer array."""
        if self.accept_p is None or not offers:
            return None
        # lists go in as the int64 and float64 arrays numpy makes of them: the same draws as from arrays
        ap = self.accept_p_py
        return self.rng_booking.binomial([o[-1] for o in offers], [ap[o[-2]] for o in offers]).tolist()

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

    def _pref_py(self, need: list, L: int, day_index: int, urgent: bool, fl: list, d: dict,
                 declined: list, nurses: bool = True, arrs: bool = True) -> None:
        """`_preferred_once` on lists: `need` [P][T] is reduced, `declined` [P][T] increased,
        `fl` the free slots [2P + K][H] and `d` the deltas of the diary ("free", "pref", "lead")."""
        P, nur, a = self.P, self.nursing, self.arrs_types
        PR = range(P)
        want = [need[p][nur] for p in PR] if nurses else [0] * P
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
                for l in range(L):
                    f = row[l]
                    if f > 0:
                        n = f if f < left else left
                        offers.append((r, l, n))
                        left -= n
                        if not left:
                            break
                asked[r] = w - left
        took = None if urgent else self._draw(offers)
        bpl, lead, tf, tp, H = d[1], d[3], d[4], d[5], self.H
        for i, (r, l, n) in enumerate(offers):
            k = n if took is None else took[i]
            if k:
                fl[P + r][l] -= k
                bpl[r][l] += k
                tf.append((P + r) * H + l)
                tp.append(r * H + l)
                if not urgent:
                    lead[l] += k
        for p in PR:
            need[p][nur] -= asked[p]
        if by_pool is None:
            return
        splits = []
        for k, t in enumerate(a):
            split = self._split(by_pool[k], asked[P + k], day_index)
            splits.append(split)
            for p in PR:
                need[p][t] -= split[p]
        if took is not None:
            no = asked[:]
            for i, (r, l, n) in enumerate(offers):
                no[r] -= took[i]
            for p in PR:
                declined[p][nur] += no[p]
            for k, t in enumerate(a):
                back = self._split(splits[k], no[P + k], day_index + 1)
                for p in PR:
                    declined[p][t] += back[p]

    def _pref_all(self, need, L, day_index, urgent, fl, d, declined) -> None:
        if self.nursing_in_arrs:          # an ARRS role serving nursing: the practice nurses first, then ARRS
            self._pref_py(need, L, day_index, urgent, fl, d, declined, arrs=False)
            self._pref_py(need, L, day_index, urgent, fl, d, declined, nurses=False)
        else:
            self._pref_py(need, L, day_index, urgent, fl, d, declined)

    def _gp_py(self, need: list, L: int, fl: list, d: dict, declined: list) -> None:
        """`_gp` on lists (see `_pref_py`): types most constrained first into each practice's GP days."""
        offers = []
        for p in range(self.P):
            row, q = fl[p], need[p]
            l, rem = 0, row[0]
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
        took = self._draw(offers)
        bgl, lead, tf, tg, H = d[2], d[3], d[4], d[6], self.H
        for i, (p, t, l, n) in enumerate(offers):
            k = n if took is None else took[i]
            need[p][t] -= n
            if k:
                fl[p][l] -= k
                bgl[t][l] += k
                tf.append(p * H + l)
                tg.append(t * H + l)
                lead[l] += k
            if k != n:
                declined[p][t] += n - k
