"""The fit page of `pcnsim calibrate`, `FILE-calibrated.html`: the verdict, each target beside the
model's mean and 95% interval at the chosen point with its implausibility, the chosen values and
the non-implausible range of each unknown wave by wave. Self-contained (no figure, no network).

It reads the fit (`pcnsim.experiment.history.Fit`, plain numbers) and never the model or a scenario
file; the command line hands it the scenario's name and the files written."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Optional, Sequence

from pcnsim import metrics
from pcnsim.experiment.folder import write_text_atomic
from pcnsim.experiment.history import CUTOFF, Fit
from pcnsim.report.formatting import format_number, format_share
from pcnsim.report.rendering import render

__all__ = ["fit_context", "render_fit_page", "write_fit_page"]


def _label(name: str) -> str:
    if name.startswith("booked_share."):
        return "Appointments booked " + name.split(".", 1)[1].replace("_", " ").replace("2 7", "2-7") \
            .replace("8 14", "8-14").replace("15 21", "15-21").replace("22 28", "22-28") + " ahead"
    return metrics.label(name)


def _value(x: float, share: bool) -> str:
    return format_share(x) if share else format_number(x)


def _param(x: float) -> str:
    return f"{float(f'{x:.4g}'):,g}"


def fit_context(fit: Fit, *, name: str, source: str = "", period: str = "", settings: Optional[dict] = None,
                notes: Sequence[str] = (), files: Optional[dict[str, str]] = None, seconds: float = 0.0,
                written: Optional[str] = None) -> dict[str, Any]:
    """The page's data: plain text and rows."""
    low, high = fit.interval()
    targets = []
    for i, t in enumerate(fit.targets):
        diff = fit.means[i] - t.value
        targets.append({
            "label": _label(t.name), "metric": t.name, "target": _value(t.value, t.share),
            "model": _value(fit.means[i], t.share),
            "interval": f"{_value(low[i], t.share)} to {_value(high[i], t.share)}",
            "difference": (f"{diff * 100:+.1f} points" if t.share else
                           f"{diff:+,.0f} ({diff / t.value:+.1%})" if t.value else f"{diff:+,.0f}"),
            "sd": (f"{t.sd * 100:.1f} points" if t.share else format_number(t.sd)),
            "implausibility": f"{fit.implausibility[i]:.2f}",
            "fails": bool(fit.implausibility[i] > CUTOFF)})
    waves = []
    for w in fit.waves:
        ni = fit.ni_ranges(w)
        waves.append({"number": w.number, "points": len(w.points), "non_implausible": int(w.non_implausible.sum()),
                      "best": f"{float(w.measure.min()):.2f}",
                      "screened": f"{w.candidates:,}" if w.candidates else "none (a Latin hypercube over the ranges)",
                      "kept": (f"{w.kept:,} ({w.kept_share:.1%})" if w.candidates else "–"),
                      "cells": [{"box": f"{_param(w.box[k][0])} to {_param(w.box[k][1])}",
                                 "ni": f"{_param(ni[k][0])} to {_param(ni[k][1])}" if ni else "none"}
                                for k in fit.unknowns]})
    unknowns = [{"key": k, "range": f"{_param(fit.ranges[k][0])} to {_param(fit.ranges[k][1])}",
                 "chosen": _param(fit.chosen[k])} for k in fit.unknowns]
    s = settings or {}
    method = [
        "History matching rules out the values of the unknowns at which the model cannot reproduce the "
        "targets. For each target z and each point x, the model is run R times (common random numbers: "
        "replication r uses the same random numbers at every point) and the implausibility is "
        "I = |z - mean| / sqrt(V_discrepancy + V_observation + V_replication / R); the first two together are "
        "the target's standard deviation in the table (by default 3% of a count and 1.5 points of a share).",
        f"A point is non-implausible when the {fit.measure_name} I over the targets is at most {CUTOFF:g}"
        + (" (from six targets on, the largest of one share target is left out, as Vernon et al. use the "
           "second-largest, so that one odd booking-lead bin alone does not rule out every point; a count, such as "
           "the appointments, must always be met)." if fit.measure_name != "largest" else "."),
        "The first wave is a Latin hypercube over the ranges given. After each wave an emulator per target (a "
        "Gaussian process with a linear mean, fitted to every run so far) predicts the model's mean and its own "
        "uncertainty at 4,096 candidate points (a scrambled Sobol set over the region not yet ruled out); a "
        "candidate is screened out when its emulated implausibility, with the emulator's variance added to the "
        "denominator, is above the cut-off. The next wave runs a space-filling subset of the candidates that "
        "pass, a third of it among those the emulators put closest to every target (Andrianakis et al. 2015; Vernon, Goldstein and Bower 2010).",
        "The chosen point: the five points run with the smallest emulated largest implausibility (the emulator "
        "averages the replications' noise over neighbouring points) were run again with more replications; the "
        "best of those is chosen, and the table above shows its runs.",
    ]
    if s:
        method.append(f"This calibration: {s.get('waves')} waves x {s.get('points')} points x "
                      f"{s.get('replications')} replications of {s.get('horizon_weeks')}-week runs "
                      f"({s.get('warmup_weeks')} weeks of warm-up), the chosen point {s.get('confirm')} times; "
                      f"seed {s.get('seed')}; {seconds:.0f} s.")
    confirmed = [f"wave {w} point {i}: {m:.2f}" for w, i, m in fit.confirmed]
    return {"name": name, "verdict": fit.verdict(), "confirmed": confirmed, "fits": fit.fits, "source": source, "period": period,
            "targets": targets, "unknowns": unknowns, "unknown_keys": list(fit.unknowns), "waves": waves,
            "replications": fit.replications, "measure": f"{fit.measure:.2f}", "measure_name": fit.measure_name,
            "method": method, "notes": list(notes), "files": dict(files or {}),
            "written": written or _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")}


def render_fit_page(fit: Fit, **context: Any) -> str:
    return render("calibration.html.j2", **fit_context(fit, **context))


def write_fit_page(fit: Fit, path: Path, **context: Any) -> Path:
    """Write the fit page, whole or not at all; returns its path."""
    write_text_atomic(Path(path), render_fit_page(fit, **context))
    return Path(path)
