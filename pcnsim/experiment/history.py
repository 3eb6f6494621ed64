"""History matching without the model: emulators, implausibility, refocusing waves, the chosen point, the verdict.

History matching (Craig, Goldstein, Seheult and Smith 1997; Vernon, Goldstein and Bower 2010;
Andrianakis et al. 2015) rules out the parameter values at which the model cannot reproduce
the observed figures, rather than searching for one best value. For each target z and a
parameter point x run R times (mean m(x), replication variance s^2(x)), the implausibility is

    I(x) = |z - m(x)| / sqrt(V_discrepancy + V_observation + s^2(x) / R)

(the section gives V_discrepancy + V_observation as one standard deviation, `Target.sd`). A
point is non-implausible when its measure, the largest I over the targets (from `MANY_TARGETS`
targets on the largest of one share target is left out, as Vernon et al. use the second-largest,
so one odd booking-lead bin cannot rule out every point alone; counts must always be met), is at most `CUTOFF` = 3 (Pukelsheim's three-sigma rule: at least 95% of any
unimodal distribution lies within 3 standard deviations).

Wave 1 runs a Latin hypercube (`scipy.stats.qmc`) over the unknowns' ranges. After each wave an
emulator per target (`Emulator`: a Gaussian process with a linear mean, fitted to every run so
far) predicts the model's mean and its own uncertainty anywhere; `CANDIDATES` scrambled Sobol
points over the region not yet ruled out are screened with the emulated implausibility

    I_em(x) = |z - E[m(x)]| / sqrt(V_discrepancy + V_observation + Var_emulator(x)),

and the next wave runs a space-filling subset (greedy maximin) of the candidates that pass, a
third of it (`EXPLOIT`) spread over those the emulators put closest to every target; the next region is their bounding box, padded by `PAD`. When no
candidate passes, the least implausible ones are run, so the waves still search where the fit
is closest. The emulator is what makes a few dozen runs a wave enough in four or five
dimensions: it rules out space the runs never visited, and it averages the replications'
noise across neighbouring points.

The chosen point: the `CONFIRM_BEST` run points that rank best by their emulated implausibilities
(`closeness`: non-implausible first, then the root mean square over the targets) are each run
again with more replications (`confirm`); the best of those by the same rule is judged on its runs. Nothing here knows the model: a wave's
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
#: From this many targets on, a point's measure leaves out the largest implausibility of one share target.
MANY_TARGETS = 6
#: The next wave's region: the emulator's non-implausible candidates' bounding box, padded by
#: this share of the unknown's whole range each side.
PAD = 0.05
#: Candidates screened by the emulators after each wave (a scrambled Sobol set, a power of 2).
CANDIDATES = 4096
#: The share of a later wave spread over the candidates the emulators put closest to every target
#: (the rest fill the non-implausible region): finding a fit, not only the region, is the aim.
EXPLOIT = 1 / 3
#: How many of the least implausible points are run again with `confirm` replications.
CONFIRM_BEST = 5

#: `evaluate(points, wave)` -> (means, sds, replications): points is (n, d) in the unknowns'
#: order; means and sds are (n, targets), the replications' mean and sample standard deviation.
Evaluate = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, int]]


class Emulator:
    """A Gaussian-process emulator of one target's mean over the unknowns (scaled to 0..1).

    Mean: a linear regression (least squares); covariance: squared exponential with a length per
    unknown, plus a nugget for the replications' noise, its hyperparameters by maximum likelihood
    (L-BFGS-B with the analytic gradient). `predict` gives the mean and the variance of the
    model's mean function (the nugget left out). Rasmussen and Williams 2006, ch. 2 and 5."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        from scipy import linalg, optimize

        ok = np.isfinite(y)
        self.x, y = np.asarray(x, float)[ok], np.asarray(y, float)[ok]
        n, d = self.x.shape
        self.available = n >= d + 2
        if not self.available:
            return
        self.loc, self.scale = float(y.mean()), float(y.std()) or 1.0
        ys = (y - self.loc) / self.scale
        h = np.c_[np.ones(n), self.x]
        self.beta = np.linalg.lstsq(h, ys, rcond=None)[0]
        r = ys - h @ self.beta
        diff2 = ((self.x[:, None, :] - self.x[None, :, :]) ** 2).reshape(n * n, d)   # squared distances
        eye = np.eye(n)
        self.evaluations = 0

        def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            self.evaluations += 1
            ell2, sf2, nug = np.exp(2 * theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
            kse = sf2 * np.exp(-0.5 * (diff2 @ (1 / ell2))).reshape(n, n)
            k = kse + (nug + 1e-8) * np.eye(n)
            try:
                c = linalg.cho_factor(k, lower=True)
            except linalg.LinAlgError:
                return 1e10, np.zeros_like(theta)
            alpha = linalg.cho_solve(c, r)
            kinv = linalg.cho_solve(c, eye)
            w = np.outer(alpha, alpha) - kinv
            wk = w * kse
            grad = np.empty_like(theta)
            grad[:d] = -0.5 * (wk.ravel() @ diff2) / ell2
            grad[d] = -0.5 * wk.sum()
            grad[d + 1] = -0.5 * nug * np.trace(w)
            value = 0.5 * r @ alpha + np.log(np.diag(c[0])).sum()
            return float(value), grad

        bounds = [(math.log(0.05), math.log(5.0))] * d + [(math.log(1e-3), math.log(10.0)),
                                                          (math.log(1e-6), math.log(1.0))]
        best = None
        for start_len, start_nug in ((0.3, 0.01), (1.0, 0.1)):
            theta0 = np.r_[np.full(d, math.log(start_len)), math.log(max(float(r.var()), 1e-3)),
                           math.log(start_nug)]
            res = optimize.minimize(nll, np.clip(theta0, *np.array(bounds).T), jac=True, method="L-BFGS-B",
                                    bounds=bounds, options={"maxiter": 100})
            if best is None or res.fun < best.fun:
                best = res
        theta = best.x
        self.ell2, self.sf2, self.nugget = np.exp(2 * theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
        k = self.sf2 * np.exp(-0.5 * (diff2 @ (1 / self.ell2))).reshape(n, n) + (self.nugget + 1e-8) * eye
        self.chol = linalg.cho_factor(k, lower=True)
        self.alpha = linalg.cho_solve(self.chol, r)

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the model's mean at `xs` (m, d), in the target's unit."""
        from scipy import linalg

        xs = np.atleast_2d(np.asarray(xs, float))
        if not self.available:
            return np.full(len(xs), np.nan), np.full(len(xs), np.inf)
        ks = self.sf2 * np.exp(-0.5 * (((xs[:, None, :] - self.x[None, :, :]) ** 2) / self.ell2).sum(axis=2))
        mean = np.c_[np.ones(len(xs)), xs] @ self.beta + ks @ self.alpha
        v = linalg.cho_solve(self.chol, ks.T)
        var = np.maximum(self.sf2 - np.einsum("ij,ji->i", ks, v), 0.0)
        return mean * self.scale + self.loc, var * self.scale ** 2


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
    candidates: int = 0      # screened by the emulators before this wave (0: the first wave, none)
    kept: int = 0            # of which the emulators found non-implausible

    @property
    def kept_share(self) -> Optional[float]:
        """The share of the screened candidates the emulators found non-implausible (None: wave 1)."""
        return self.kept / self.candidates if self.candidates else None

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
    confirmed: list[tuple[int, int, float]] = field(default_factory=list)   # (wave, point, measure) run again
    diagnosis: list[str] = field(default_factory=list)   # why it fails, from the caller (e.g. staff saturated)

    @property
    def measure_name(self) -> str:
        many = len(self.targets) >= MANY_TARGETS and any(t.share for t in self.targets)
        return "largest (bar one share)" if many else "largest"

    @property
    def measure(self) -> float:
        return float(point_measure(self.implausibility[None, :], _shares(self.targets))[0])

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
        for line in self.diagnosis:
            text += " " + line
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


def point_measure(implaus: np.ndarray, shares: Optional[Sequence[bool]] = None) -> np.ndarray:
    """Each point's measure: the largest I; from `MANY_TARGETS` targets on, the largest I of one
    share target (`shares[t]`; every target when not given) is left out, so that one odd share,
    such as one of seven correlated booking-lead bins, does not rule out every point alone, while
    a count (appointments, DNAs) must always be met."""
    implaus = np.atleast_2d(np.asarray(implaus, float))
    if implaus.shape[1] < MANY_TARGETS:
        return implaus.max(axis=1)
    mask = np.ones(implaus.shape[1], bool) if shares is None else np.asarray(shares, bool)
    if not mask.any():
        return implaus.max(axis=1)
    skip = np.flatnonzero(mask)[np.argmax(implaus[:, mask], axis=1)]
    kept = implaus.copy()
    kept[np.arange(len(kept)), skip] = -np.inf
    return kept.max(axis=1)


def _shares(targets: Sequence[Target]) -> list[bool]:
    return [t.share for t in targets]


def _scale(points: np.ndarray, lows: np.ndarray, widths: np.ndarray) -> np.ndarray:
    return (points - lows) / widths


def _design(box_lows: np.ndarray, box_highs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(box_lows), rng=rng).random(n)
    return box_lows + unit * (box_highs - box_lows)


def _sobol(box_lows: np.ndarray, box_highs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    unit = qmc.Sobol(d=len(box_lows), scramble=True, rng=rng).random_base2(max(1, int(math.ceil(math.log2(n)))))
    return box_lows + unit * (box_highs - box_lows)


def _round_whole(points: np.ndarray, whole: Sequence[bool]) -> np.ndarray:
    out = points.copy()
    for j, w in enumerate(whole):
        if w:
            out[:, j] = np.round(out[:, j])
    return out


def emulate(targets: Sequence[Target], scaled: np.ndarray, means: np.ndarray) -> list[Emulator]:
    """One emulator per target, fitted to the runs' means at the (scaled) points."""
    return [Emulator(scaled, means[:, t]) for t in range(len(targets))]


def emulated_implausibility(targets: Sequence[Target], emulators: Sequence[Emulator],
                            scaled: np.ndarray) -> np.ndarray:
    """I_em per point and target: |z - E[m]| / sqrt(sd_target^2 + Var_emulator); (n, targets).
    A target whose emulator could not be fitted rules nothing out (0)."""
    out = np.zeros((len(scaled), len(targets)))
    for t, (target, em) in enumerate(zip(targets, emulators)):
        if not em.available:
            continue
        mean, var = em.predict(scaled)
        out[:, t] = np.abs(target.value - mean) / np.sqrt(target.sd ** 2 + var)
    return out


def closeness(implaus: np.ndarray, shares: Optional[Sequence[bool]] = None) -> tuple[bool, float]:
    """How a point ranks for the choice: non-implausible first; then, among non-implausible points,
    the root mean square of all its implausibilities (the one share the measure may leave out
    included), so that every target is close, not only the worst; else its measure."""
    implaus = np.asarray(implaus, float)
    measure = float(point_measure(implaus[None, :], shares)[0])
    if measure > CUTOFF:
        return True, measure
    return False, float(np.sqrt(np.mean(implaus ** 2)))


def _maximin(pool: np.ndarray, n: int, first: Sequence[int]) -> list[int]:
    """Greedy maximin: `n` rows of `pool` (scaled) in all, starting with `first`, each next the
    farthest from those chosen."""
    chosen = list(first)
    dist = np.min([((pool - pool[i]) ** 2).sum(axis=1) for i in chosen], axis=0)
    while len(chosen) < min(n, len(pool)):
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, ((pool - pool[nxt]) ** 2).sum(axis=1))
    return chosen


def history_match(evaluate: Evaluate, targets: Sequence[Target], ranges: dict[str, tuple[float, float]], *,
                  waves: int = 3, points: int = 24, seed: int = 0, whole: Optional[Sequence[bool]] = None,
                  confirm: Optional[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, int]]] = None,
                  candidates: int = CANDIDATES, confirm_best: int = CONFIRM_BEST) -> Fit:
    """Run `waves` waves of `points` design points each and choose the least implausible point.

    `evaluate(points, wave)` runs the points; `confirm(point)` runs a point again (with more
    replications), for the `confirm_best` least implausible points, else the chosen point's wave
    runs are used. `whole[j]`: unknown j is a whole number (rounded). `candidates`: points screened
    by the emulators before each later wave. The designs are seeded from `seed`, so the same call
    gives the same fit."""
    keys = list(ranges)
    lows = np.array([float(ranges[k][0]) for k in keys])
    highs = np.array([float(ranges[k][1]) for k in keys])
    widths = highs - lows
    whole = list(whole) if whole is not None else [False] * len(keys)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 27]))
    done: list[Wave] = []
    notes: list[str] = []
    box_lows, box_highs = lows, highs

    def all_runs() -> tuple[np.ndarray, np.ndarray]:
        return (_scale(np.vstack([w.points for w in done]), lows, widths), np.vstack([w.means for w in done]))

    for number in range(1, waves + 1):
        screened = kept = 0
        if number == 1:
            design = _round_whole(_design(lows, highs, points, rng), whole)
        else:
            scaled_runs, run_means = all_runs()
            emulators = emulate(targets, scaled_runs, run_means)
            cand = _round_whole(_sobol(box_lows, box_highs, candidates, rng), whole)
            scaled = _scale(cand, lows, widths)
            em_implaus = emulated_implausibility(targets, emulators, scaled)
            measure = point_measure(em_implaus, _shares(targets))
            good = measure <= CUTOFF
            screened, kept = len(cand), int(good.sum())
            if kept:
                pool = np.flatnonzero(good)
                box_lows = np.maximum(lows, cand[pool].min(axis=0) - PAD * widths)
                box_highs = np.minimum(highs, cand[pool].max(axis=0) + PAD * widths)
            else:   # nothing passes: the least implausible candidates stand in for the region
                pool = np.argsort(measure, kind="stable")[: max(points, len(cand) // 20)]
                notes.append(f"wave {number}: none of the {screened} candidates the emulators screened was "
                             f"non-implausible; it ran the least implausible of them")
            # no point twice: candidates that (rounded) repeat a point already run are left out
            fresh = pool[~(np.abs(scaled[pool][:, None, :] - scaled_runs[None, :, :]).max(axis=2) < 1e-9).any(axis=1)]
            pool = fresh if len(fresh) else pool
            # `EXPLOIT` of the wave: spread over the candidates closest to every target (emulated);
            # the rest: space-filling over all that pass
            rank = np.array([closeness(em_implaus[i], _shares(targets)) for i in pool],
                            dtype=[("out", bool), ("score", float)]).argsort(order=("out", "score"), kind="stable")
            n_best = max(1, int(round(EXPLOIT * points)))
            top = rank[: 4 * n_best]
            best = [int(top[i]) for i in _maximin(scaled[pool][top], n_best, [0])]
            design = cand[pool][_maximin(scaled[pool], points, best)]
        means, sds, reps = evaluate(design, number)
        implaus = implausibility(targets, means, sds, reps)
        done.append(Wave(number, {k: (float(a), float(b)) for k, a, b in zip(keys, box_lows, box_highs)}, design,
                         np.asarray(means, float), np.asarray(sds, float), reps, implaus,
                         point_measure(implaus, _shares(targets)),
                         screened, kept))
    # the chosen point: rank the run points by their emulated largest implausibility (the emulator
    # averages the replications' noise over neighbours), run the best few again, keep the best of those
    shares = _shares(targets)
    flat = [(w.number, i) for w in done for i in range(len(w.points))]
    raw = np.vstack([w.implausibility for w in done])
    if len(flat) > len(keys) + 2:
        scaled_runs, run_means = all_runs()
        em = emulated_implausibility(targets, emulate(targets, scaled_runs, run_means), scaled_runs)
    else:
        em = raw
    order = sorted(range(len(flat)), key=lambda j: (*closeness(em[j], shares), *closeness(raw[j], shares), j))
    picks: list[int] = []
    for j in order:
        point = done[flat[j][0] - 1].points[flat[j][1]]
        if not any(np.array_equal(point, done[flat[p][0] - 1].points[flat[p][1]]) for p in picks):
            picks.append(j)
        if len(picks) >= (max(1, confirm_best) if confirm is not None else 1):
            break
    confirmed: list[tuple[int, int, float]] = []
    best = None
    for j in picks:
        wave_no, index = flat[j]
        wave = done[wave_no - 1]
        if confirm is not None:
            means, sds, reps = confirm(wave.points[index])
            means, sds = np.asarray(means, float).ravel(), np.asarray(sds, float).ravel()
        else:
            means, sds, reps = wave.means[index], wave.sds[index], wave.replications
        implaus = implausibility(targets, means[None, :], sds[None, :], reps)[0]
        key = closeness(implaus, shares)
        confirmed.append((wave_no, index, float(point_measure(implaus[None, :], _shares(targets))[0])))
        if best is None or key < best[0]:
            best = (key, wave_no, index, means, sds, reps, implaus)
    _, wave_no, index, means, sds, reps, implaus = best
    point = done[wave_no - 1].points[index]
    return Fit(keys, {k: (float(a), float(b)) for k, a, b in zip(keys, lows, highs)}, list(targets), done,
               {k: (int(v) if w else float(v)) for k, v, w in zip(keys, point, whole)}, wave_no, int(index),
               means, sds, reps, implaus, notes, confirmed)
