"""The `sweep:` section checked before anything runs: every swept key exists and is one
parameter, every design is non-empty, every swept value (and small grids' every
combination) validates."""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from typing import Any, Optional

from pydantic import ValidationError

from pcnsim.config import Scenario
from pcnsim.errors import ScenarioError
from pcnsim.scenario.keys import _annotation_at, _get, _key, _resolve, _sentence, _set, _split_key
from pcnsim.scenario.messages import _describe
from pcnsim.scenario.yamlio import _plain, _show, _tupled

#: A grid with at most this many combinations has every combination validated at load time.
GRID_CHECK_LIMIT = 2_000
#: Keys a sweep may not vary: labels, and the experiment's own design (seed, replications).
UNSWEEPABLE = ("name", "description", "run.seed", "run.replications")


def _try(data: dict[str, Any], values: Mapping[str, Any]) -> Optional[list[dict[str, Any]]]:
    """Pydantic's errors for data with values set (None if it validates)."""
    data = copy.deepcopy(data)
    for key, value in values.items():
        _set(data, _split_key(key), value)
    try:
        Scenario.model_validate(_tupled(data))
        return None
    except ValidationError as exc:
        return exc.errors(include_url=False)


def _sweep_error(errors: list[dict[str, Any]], data: dict[str, Any], values: Mapping[str, Any],
                 where: str) -> ScenarioError:
    probe = copy.deepcopy(data)
    for key, value in values.items():
        _set(probe, _split_key(key), value)
    loc, sentence = _describe(errors[0], probe)
    return ScenarioError(f"{where}: {_sentence(sentence)}")


def validate_sweep(scenario: Scenario, where: str = "the scenario") -> None:
    """Check the `sweep:` section: every swept key is an existing parameter (a leaf, not a
    label, seed or replication count), every design is non-empty, and every swept value
    validates. Raises `ScenarioError` naming `where` (usually the file)."""
    sweep = scenario.sweep
    if sweep is None:
        return
    kind = sweep.kind
    base = _plain(scenario.model_dump(mode="python"))
    base["sweep"] = None
    label = f"{where}: sweep.{kind}"

    if kind == "grid" and not sweep.grid:
        raise ScenarioError(f"{label} is empty: expected {{dotted key: [values]}}, such as "
                            "{pcn.practices: [4, 5, 6]}.")
    if kind == "points" and not sweep.points:
        raise ScenarioError(f"{label} is empty: expected a list of {{dotted key: value}} points.")
    if kind in ("lhs", "sobol") and not getattr(sweep, kind).ranges:
        raise ScenarioError(f"{label}.ranges is empty: expected {{dotted key: [low, high]}}, such as "
                            "{funding.arrs_per_patient: [15, 30]}.")

    for key in sweep.keys():
        _check_swept_key(base, key, label)

    if kind == "points":
        for i, point in enumerate(sweep.points or ()):
            if not point:
                raise ScenarioError(f"{label}[{i}] is empty: expected {{dotted key: value}}.")
            errors = _try(base, point)
            if errors:
                raise _sweep_error(errors, base, point, f"{label}[{i}]")
        return

    if kind == "grid":
        grid = sweep.grid or {}
        for key, values in grid.items():
            if len(values) == 0:
                raise ScenarioError(f"{label}['{key}'] has no values: expected a non-empty list.")
        candidates = [(key, v, f"{label}['{key}'] value {_show(v, 40)}")
                      for key, values in grid.items() for v in values]
        swept = list(grid)
    else:
        ranges = getattr(sweep, kind).ranges
        candidates = []
        for key, (low, high) in ranges.items():
            ann = _annotation_at(_split_key(key))
            if ann not in (int, float):
                raise ScenarioError(f"{label}.ranges['{key}']: '{key}' is not a numeric parameter "
                                    "(it is " + _show(_get(base, _split_key(key)), 40) + "); "
                                    "a range needs a number, use grid or points instead.")
            if not low < high:
                raise ScenarioError(f"{label}.ranges['{key}'] = [{_show(low)}, {_show(high)}]: "
                                    "expected [low, high] with low < high.")
            for end in (low, high):
                if ann is int and not float(end).is_integer():
                    raise ScenarioError(f"{label}.ranges['{key}'] = [{_show(low)}, {_show(high)}]: "
                                        f"'{key}' is a whole number, so expected whole endpoints.")
                value = int(end) if ann is int else float(end)
                candidates.append((key, value, f"{label}.ranges['{key}'] endpoint {_show(end)}"))
        swept = list(ranges)

    # each value alone: a field error is always wrong; a combination error (warm-up past the
    # horizon...) is wrong unless another swept key in the same section could repair it
    for key, value, text in candidates:
        errors = _try(base, {key: value})
        if not errors:
            continue
        section = _split_key(key)[0]
        others_here = [k for k in swept if k != key and _split_key(k)[0] == section]
        field_level = [e for e in errors if tuple(e["loc"])[: len(_split_key(key))]
                       == tuple(_split_key(key))]
        if field_level or not others_here:
            raise _sweep_error(field_level or errors, base, {key: value}, text)

    if kind == "grid":
        grid = sweep.grid or {}
        if math.prod(len(v) for v in grid.values()) <= GRID_CHECK_LIMIT:
            for combo in itertools.product(*grid.values()):
                point = dict(zip(grid, combo))
                errors = _try(base, point)
                if errors:
                    raise _sweep_error(errors, base, point,
                                       f"{label}: the combination {_show(point, 120)}")
    else:
        ranges = getattr(sweep, kind).ranges
        for corner in (0, 1):
            point = {k: (int(v[corner]) if _annotation_at(_split_key(k)) is int else v[corner])
                     for k, v in ranges.items()}
            errors = _try(base, point)
            if errors:
                which = "lows" if corner == 0 else "highs"
                raise _sweep_error(errors, base, point, f"{label}: the corner of all {which}")


def _check_swept_key(base: dict[str, Any], key: str, label: str) -> None:
    if key in UNSWEEPABLE or key.split(".")[0].split("[")[0] in ("sweep", "report", "calibration"):
        raise ScenarioError(f"{label}: '{key}' cannot be swept ({', '.join(UNSWEEPABLE)}, the report's "
                            "question and focus, the calibration section and the sweep itself are fixed for a whole experiment); "
                            "set it outside the sweep.")
    segments = _resolve(base, key, f"{label}, swept key '{key}'")
    value = _get(base, segments)
    if isinstance(value, dict):
        leaves = [_key(segments + [k]) for k in value][:4]
        raise ScenarioError(f"{label}: '{key}' is a section, not one parameter; sweep its keys, "
                            f"such as {', '.join(leaves)}.")

