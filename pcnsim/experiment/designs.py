"""Sweep designs: the points a scenario's `sweep:` asks for, each validated into a scenario.

grid, points, lhs (Latin hypercube) and sobol (Saltelli); the kinds are `pcnsim.config.SWEEP_KINDS`.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from pcnsim.config import Scenario


def design_points(scenario: Scenario) -> list[dict[str, Any]]:
    """The sweep's points in a stable order, each {dotted key: value}; [{}] with no sweep.

    grid: every combination, the last key varying fastest; points: as written; lhs: a Latin
    hypercube (`scipy.stats.qmc.LatinHypercube`) of n points seeded with `run.seed`, scaled
    to the ranges; sobol: the Saltelli design of `SALib.sample.sobol.sample` without second
    order, n base samples giving n x (D + 2) points, scrambled with `run.seed`. Values of
    whole-number parameters are rounded in lhs and sobol designs.
    """
    sweep = scenario.sweep
    if sweep is None:
        return [{}]
    kind = sweep.kind
    if kind == "grid":
        grid = sweep.grid or {}
        return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    if kind == "points":
        return [dict(p) for p in sweep.points or ()]
    spec = sweep.lhs if kind == "lhs" else sweep.sobol
    keys = list(spec.ranges)
    lows = np.array([float(spec.ranges[k][0]) for k in keys])
    highs = np.array([float(spec.ranges[k][1]) for k in keys])
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(scenario.run.seed)).random(spec.n)
        sample = lows + unit * (highs - lows)
    else:
        import warnings

        from SALib.sample import sobol as salib_sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SALib warns when n is not a power of 2
            from pcnsim.analysis import sobol_problem

            sample = salib_sobol.sample(sobol_problem(spec.ranges), spec.n,
                                        calc_second_order=False, seed=scenario.run.seed)
    whole = [_is_whole_number(scenario, k) for k in keys]
    return [{k: (int(round(v)) if w else float(v)) for k, v, w in zip(keys, row, whole)} for row in sample]


def _is_whole_number(scenario: Scenario, key: str) -> bool:
    value: Any = scenario
    for part in key.split("."):
        value = getattr(value, part, None)
    return isinstance(value, int) and not isinstance(value, bool)


def plan_points(scenario: Scenario) -> tuple[tuple[str, ...], list[dict[str, Any]], list[Scenario]]:
    """(swept keys, design points, one validated scenario per point without its sweep).

    Every point is validated before anything runs; a bad one raises `ScenarioError`
    naming it. The swept value recorded for a point is the value its scenario holds.
    """
    from pcnsim.scenario import apply_values

    keys = scenario.sweep.keys() if scenario.sweep is not None else ()
    base = scenario.model_copy(update={"sweep": None})
    points, scenarios = [], []
    for i, values in enumerate(design_points(scenario)):
        point = apply_values(base, values, where=f"sweep point {i} of '{scenario.name}'") if values else base
        scenarios.append(point)
        points.append({k: _dotted(point, k) for k in keys})
    return tuple(keys), points, scenarios


def _dotted(scenario: Scenario, key: str) -> Any:
    value: Any = scenario
    for part in key.split("."):
        value = getattr(value, part)
    return value
