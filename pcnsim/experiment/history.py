"""History matching without the model: implausibility, refocusing waves, the chosen point, the verdict.

History matching (Craig, Goldstein, Seheult and Smith 1997; Vernon, Goldstein and Bower 2010;
Andrianakis et al. 2015) rules out the parameter values at which the model cannot reproduce
the observed figures, rather than searching for one best value. For each target z and a
parameter point x run R times (mean m(x), replication variance s^2(x)), the implausibility is

    I(x) = |z - m(x)| / sqrt(V_discrepancy + V_observation + s^2(x) / R)

(the section gives V_discrepancy + V_observation as one standard deviation, `Target.sd`). A
point is non-implausible when its measure, the largest I over the targets (the second-largest
from `MANY_TARGETS` targets on, as Vernon et al. do, so one odd target cannot rule out every
point alone), is at most `CUTOFF` = 3 (Pukelsheim's three-sigma rule: at least 95% of any
unimodal distribution lies within 3 standard deviations).

Each wave runs a space-filling design (`scipy.stats.qmc.LatinHypercube`) over the region not
yet ruled out. This is emulator-free: wave 1 covers the unknowns' ranges; a later wave covers
the bounding box of every non-implausible point so far, padded each side by `PAD` of its width,
at least `MIN_PAD` of the range and at least the last wave's design spacing (its box's width over
points ** (1 / unknowns): the region may reach that far past the points found), and keeps only the candidates whose nearest point already
run (in coordinates scaled to the ranges) was non-implausible, so the design refocuses on the
region itself, not only its box. When no point is non-implausible yet, the least implausible
points so far (a quarter of a wave's number) stand in for the region, so later waves still search where the fit is
closest. The chosen point is the one with the smallest largest implausibility; it is run again
with more replications (`confirm`) and judged on those. Nothing here knows the model: a wave's
runs are the `evaluate` callable (`pcnsim.experiment.calibrate` runs the simulation; the tests
use an analytic toy).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

#: A point is non-implausible when its implausibility measure is at most this.
CUTOFF = 3.0
#: From this many targets on, a point's measure is the second-largest implausibility.
MANY_TARGETS = 6
#: A later wave's box: the non-implausible points' bounding box, padded by this share of its width...
PAD = 0.1
#: ... and by at least this share of the unknown's whole range, each side.
MIN_PAD = 0.05
#: Candidates drawn per design point of a later wave, before the nearest-neighbour check.
OVERSAMPLE = 20

#: `evaluate(points, wave)` -> (means, sds, replications): points is (n, d) in the unknowns'
#: order; means and sds are (n, targets), the replications' mean and sample standard deviation.
Evaluate = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, int]]


@dataclass(frozen=True)
class Target:
    """One published figure: the metric, its value, and one standard deviation of model
    discrepancy and observation error together, in the metric's unit."""

    name: str
    value: float
    sd: float
    share: bool = False


@dataclass
class Wave:
    """One wave: the box it sampled, its points (as run), the runs' means and standard deviations,
    and each point's implausibility per target."""

    number: int
    box: dict[str, tuple[float, float]]
    points: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    replications: int
    implausibility: np.ndarray
    measure: np.ndarray
    candidates: int = 0      # drawn in the box (0: the first wave, no check)
    kept: int = 0            # of which passed the nearest-neighbour check

    @property
    def non_implausible(self) -> np.ndarray:
        return self.measure <= CUTOFF


@dataclass
class Fit:
    """The outcome of history matching: every wave, the chosen point, and whether it fits."""

    unknowns: list[str]
    ranges: dict[str, tuple[float, float]]
    targets: list[Target]
    waves: list[Wave]
    chosen: dict[str, float]
    chosen_wave: int
    chosen_point: int
    means: np.ndarray            # at the chosen point, from the confirming replications
    sds: np.ndarray
    replications: int
    implausibility: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def measure_name(self) -> str:
        return "second-largest" if len(self.targets) >= MANY_TARGETS else "largest"

    @property
    def measure(self) -> float:
        return float(point_measure(self.implausibility[None, :])[0])

    @property
    def fits(self) -> bool:
        """Whether the chosen point is non-implausible (judged on its confirming replications)."""
        return self.measure <= CUTOFF

    @property
    def failing(self) -> list[str]:
        """Targets more than `CUTOFF` standard deviations from the model at the chosen point."""
        return [t.name for t, i in zip(self.targets, self.implausibility) if i > CUTOFF]

    @property
    def unreachable(self) -> list[str]:
        """Targets that no point of any wave brought within `CUTOFF` (alone, never mind the rest)."""
        best = np.min(np.vstack([w.implausibility for w in self.waves]), axis=0)
        return [t.name for t, b in zip(self.targets, best) if b > CUTOFF]

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The model's mean at the chosen point with its Student-t interval, per target."""
        from scipy import stats

        n = self.replications
        half = stats.t.ppf(0.5 + level / 2, n - 1) * self.sds / math.sqrt(n) if n > 1 else np.full_like(self.sds,
                                                                                                        np.nan)
        return self.means - half, self.means + half

    def ni_ranges(self, wave: Wave) -> Optional[dict[str, tuple[float, float]]]:
        """The range of each unknown over a wave's non-implausible points (None if it has none)."""
        ok = wave.non_implausible
        if not ok.any():
            return None
        pts = wave.points[ok]
        return {k: (float(pts[:, j].min()), float(pts[:, j].max())) for j, k in enumerate(self.unknowns)}

    def verdict(self) -> str:
        """The fit in one paragraph: it fits (and which targets still sit outside), or it does not
        and which targets fail."""
        n_ni = sum(int(w.non_implausible.sum()) for w in self.waves)
        n_all = sum(len(w.points) for w in self.waves)
        rule = f"the {self.measure_name} implausibility at most {CUTOFF:g}"
        if self.fits:
            text = (f"A parameter set fits: {n_ni} of the {n_all} points run were non-implausible ({rule}); "
                    f"at the chosen point the {self.measure_name} implausibility is {self.measure:.2f}.")
            if self.failing:
                text += (" Still more than 3 standard deviations away: " + ", ".join(
                    f"{n} (I = {i:.1f})" for n, i in zip(self.targets_names, self.implausibility) if i > CUTOFF)
                    + ".")
            return text
        text = (f"No parameter set fits: none of the {n_all} points run had {rule}"
                if n_ni == 0 else
                f"No parameter set fits: {n_ni} of the {n_all} points run looked non-implausible, but the best "
                f"of them, run again with {self.replications} replications, did not ({self.measure_name} "
                f"implausibility {self.measure:.2f})")
        failing = [f"{t.name} (target {t.value:.4g}, model {m:.4g}, I = {i:.1f})"
                   for t, m, i in zip(self.targets, self.means, self.implausibility) if i > CUTOFF]
        text += ". At the closest point the target(s) that fail: " + "; ".join(failing) + "."
        if self.unreachable:
            text += (" No point in the ranges searched brought " + ", ".join(self.unreachable) + " within "
                     f"{CUTOFF:g} standard deviations even alone: widen the unknowns' ranges, fit other "
                     "parameters, or check the target.")
        else:
            text += (" Each target can be met on its own but not together: the model cannot reproduce this "
                     "combination with these unknowns.")
        return text

    @property
    def targets_names(self) -> list[str]:
        return [t.name for t in self.targets]


def implausibility(targets: Sequence[Target], means: np.ndarray, sds: np.ndarray, replications: int) -> np.ndarray:
    """I per point and target: |z - mean| / sqrt(sd_target^2 + s^2 / R); (n, targets)."""
    z = np.array([t.value for t in targets], dtype=float)
    v_target = np.array([t.sd for t in targets], dtype=float) ** 2
    v_rep = np.nan_to_num(np.asarray(sds, dtype=float) ** 2) / max(1, replications)
    denom = np.sqrt(v_target + v_rep)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.abs(z - np.asarray(means, dtype=float)) / denom
    out = np.where(denom > 0, out, np.where(np.isclose(z, means), 0.0, np.inf))
    return np.where(np.isnan(out), np.inf, out)   # a metric the run could not compute is no fit


def point_measure(implaus: np.ndarray) -> np.ndarray:
    """Each point's measure: the largest I, or the second-largest from `MANY_TARGETS` targets on."""
    implaus = np.atleast_2d(implaus)
    if implaus.shape[1] >= MANY_TARGETS:
        return np.sort(implaus, axis=1)[:, -2]
    return implaus.max(axis=1)


def _scale(points: np.ndarray, lows: np.ndarray, widths: np.ndarray) -> np.ndarray:
    return (points - lows) / widths


def _design(box_lows: np.ndarray, box_highs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(box_lows), rng=rng).random(n)
    return box_lows + unit * (box_highs - box_lows)


def _round_whole(points: np.ndarray, whole: Sequence[bool]) -> np.ndarray:
    out = points.copy()
    for j, w in enumerate(whole):
        if w:
            out[:, j] = np.round(out[:, j])
    return out


def history_match(evaluate: Evaluate, targets: Sequence[Target], ranges: dict[str, tuple[float, float]], *,
                  waves: int = 3, points: int = 24, seed: int = 0, whole: Optional[Sequence[bool]] = None,
                  confirm: Optional[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, int]]] = None,
                  ) -> Fit:
    """Run `waves` waves of `points` design points each and choose the least implausible point.

    `evaluate(points, wave)` runs the points; `confirm(point)` runs the chosen one again (with
    more replications), else its wave's runs are used. `whole[j]`: unknown j is a whole number
    (rounded). The designs are seeded from `seed`, so the same call gives the same fit."""
    keys = list(ranges)
    lows = np.array([float(ranges[k][0]) for k in keys])
    highs = np.array([float(ranges[k][1]) for k in keys])
    widths = highs - lows
    whole = list(whole) if whole is not None else [False] * len(keys)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 27]))
    done: list[Wave] = []
    notes: list[str] = []
    for number in range(1, waves + 1):
        candidates = kept = 0
        if number == 1:
            box_lows, box_highs = lows, highs
            design = _design(lows, highs, points, rng)
        else:
            every = np.vstack([w.points for w in done])
            measures = np.concatenate([w.measure for w in done])
            good = measures <= CUTOFF
            if not good.any():
                k = min(len(measures), max(3, points // 4))
                good = np.zeros_like(good)
                good[np.argsort(measures, kind="stable")[:k]] = True
                notes.append(f"wave {number}: no point so far was non-implausible; it searched around the "
                             f"{k} least implausible points instead")
            region = every[good]
            span = region.max(axis=0) - region.min(axis=0)
            spacing = (box_highs - box_lows) / points ** (1 / len(keys))   # the last wave's design spacing
            pad = np.maximum(np.maximum(PAD * span, MIN_PAD * widths), spacing)
            box_lows = np.maximum(lows, region.min(axis=0) - pad)
            box_highs = np.minimum(highs, region.max(axis=0) + pad)
            cand = _design(box_lows, box_highs, OVERSAMPLE * points, rng)
            scaled_every = _scale(every, lows, widths)
            d2 = ((_scale(cand, lows, widths)[:, None, :] - scaled_every[None, :, :]) ** 2).sum(axis=2)
            nearest = d2.argmin(axis=1)
            ok = good[nearest]
            candidates, kept = len(cand), int(ok.sum())
            chosen = list(np.flatnonzero(ok)[:points])
            if len(chosen) < points:   # too few passed: the rest by their nearest point's measure
                rest = np.flatnonzero(~ok)
                rest = rest[np.argsort(measures[nearest[rest]], kind="stable")]
                chosen += list(rest[: points - len(chosen)])
                notes.append(f"wave {number}: only {kept} of {candidates} candidates lay nearest a "
                             "non-implausible point; the design was completed with the least implausible others")
            design = cand[chosen]
        design = _round_whole(design, whole)
        means, sds, reps = evaluate(design, number)
        implaus = implausibility(targets, means, sds, reps)
        done.append(Wave(number, {k: (float(a), float(b)) for k, a, b in zip(keys, box_lows, box_highs)}, design,
                         np.asarray(means, float), np.asarray(sds, float), reps, implaus, point_measure(implaus),
                         candidates, kept))
    # the chosen point: the smallest largest implausibility (ties: the smaller sum of squares)
    flat = [(float(w.implausibility[i].max()), float((w.implausibility[i] ** 2).sum()), w.number, i)
            for w in done for i in range(len(w.points))]
    _, _, wave_no, index = min(flat)
    wave = done[wave_no - 1]
    point = wave.points[index]
    if confirm is not None:
        means, sds, reps = confirm(point)
        means, sds = np.asarray(means, float).ravel(), np.asarray(sds, float).ravel()
    else:
        means, sds, reps = wave.means[index], wave.sds[index], wave.replications
    implaus = implausibility(targets, means[None, :], sds[None, :], reps)[0]
    return Fit(keys, {k: (float(a), float(b)) for k, a, b in zip(keys, lows, highs)}, list(targets), done,
               {k: (int(v) if w else float(v)) for k, v, w in zip(keys, point, whole)}, wave_no, int(index),
               means, sds, reps, implaus, notes)
