"""Loading a scenario: files and their bases merged onto the defaults, `--set` overrides,
validation; sweep points applied to a loaded scenario; and the bundled scenarios listed with
their descriptions (a file that only `extends` a base takes the base's, so it is loaded)."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from pcnsim.config import Scenario
from pcnsim.errors import ScenarioError
from pcnsim.scenario.files import _bundled_root, _check_keys, _layers, _stem_name, resolve_scenario_path
from pcnsim.scenario.keys import Relative, conflicting_overrides, _default_data, _get, _merge, _resolve, _set, _split_key
from pcnsim.scenario.messages import _Origins, _file_origin, _validate
from pcnsim.scenario.sweep import validate_sweep
from pcnsim.scenario.yamlio import _parse_yaml, _plain, _show

#: Characters a `--set` value may have (a scenario file may have `MAX_FILE_BYTES`).
MAX_SET_CHARS = 100_000


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings (as given to `--set`) as {dotted key: value}, VALUE read as YAML;
    `KEY=*F` is a change relative to the value the key has (x F), applied when loading.

    A value is bounded as a file is (`files._check_keys`): its length, its integers' digits,
    its nesting and the values its YAML aliases expand to, so that no `--set` can hang or
    crash the loader."""
    if isinstance(items, str):
        items = [items]
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ScenarioError(f"--set {_show(item)}: expected KEY=VALUE with a dotted key, such "
                                "as --set pcn.practices=6.")
        key, _, text = item.partition("=")
        key = key.strip()
        try:
            _split_key(key)
        except ValueError:
            raise ScenarioError(f"--set {_show(item)}: '{key}' is not a dotted key such as "
                                "'pcn.practices'.") from None
        if text.strip().startswith("*"):           # relative: KEY=*0.9 multiplies what is there
            try:
                factor = float(text.strip()[1:])
                if factor != factor or factor in (float("inf"), float("-inf")):
                    raise ValueError
            except ValueError:
                raise ScenarioError(f"--set {_show(item)}: a relative change is '*' and a number, such as "
                                    f"--set {key}=*0.9 (90% of the value it has).") from None
            out[key] = Relative(factor, text.strip())
            continue
        if len(text) > MAX_SET_CHARS:
            raise ScenarioError(f"--set {key}: the value is {len(text):,} characters long; a value of --set is "
                                f"at most {MAX_SET_CHARS:,} (put larger settings in a scenario file).")
        origin = f"--set {key}"
        if _flow_depth(text) > 50:   # refused before the parser recurses 3,000 levels (seconds, then an error)
            raise ScenarioError(f"{origin}: the value is nested more than 50 levels deep, which no setting is.")
        try:
            value = _parse_yaml(text) if text.strip() else None
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ScenarioError(f"--set {key}: the value {_show(text, 60)} is not valid YAML ({problem}); "
                                "quote text, and write lists as [a, b].") from None
        except RecursionError:
            raise ScenarioError(f"{origin}: the value is nested too deeply to be a setting.") from None
        _check_keys(value, (), origin, [0])   # as in files: no alias bomb, no value containing itself
        out[key] = value
    return out


def _flow_depth(text: str) -> int:
    """How deep `[` and `{` nest in a value (brackets inside quotes counted too: a bound, not a parse)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _overrides(overrides: Any) -> list[tuple[str, Any, str]]:
    """(key, value, origin) for each override, from a mapping or KEY=VALUE strings."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [(str(k), v, f"override {k}={_show(v, 40)}") for k, v in overrides.items()]
    items = [overrides] if isinstance(overrides, str) else list(overrides)
    parsed = parse_set(items)
    return [(k, v, f"--set {k}={_show(v, 40)}") for k, v in parsed.items()]


def load_scenario_with_source(path_or_name: str | Path,
                              overrides: Mapping[str, Any] | Sequence[str] | None = None,
                              ) -> tuple[Scenario, Path]:
    """Load a scenario and return it with the file it came from (for the run's record)."""
    path = resolve_scenario_path(path_or_name)
    top_origin = _file_origin(path)
    origins = _Origins(top_origin)
    data = _default_data()
    layers = _layers(path, path)
    for layer_path, layer in layers:
        _merge(data, layer, top=True)
        origins.record(layer, _file_origin(layer_path, path))
    if "name" not in layers[-1][1]:
        data["name"] = _stem_name(path)  # a name labels its own file: it is not inherited
    given = _overrides(overrides)
    _refuse_conflicts(given)
    for key, value, origin in given:
        segments = _resolve(data, key, origin)
        if isinstance(value, Relative):
            value = value.applied(_get(data, segments), key, origin)
        _set(data, segments, value)
        origins.record(value if isinstance(value, Mapping) else None, origin, tuple(segments))
    scenario = _validate(data, origins.of)
    validate_sweep(scenario, top_origin)
    return scenario, path


def _refuse_conflicts(given: Sequence[tuple[str, Any, str]]) -> None:
    """Refuse two overrides that set the same thing two ways (`changes.CONFLICTS`: the PCN's whole
    list and each practice's list), naming both, rather than letting one win silently."""
    keys = {k.strip().replace("[", ".").rstrip("]"): origin for k, _, origin in given}
    clash = conflicting_overrides(list(keys))
    if clash is not None:
        a, b, why = clash
        raise ScenarioError(f"{keys[a]} and {keys[b]} conflict: they {why}. Give one of them.")


def load_scenario(path_or_name: str | Path,
                  overrides: Mapping[str, Any] | Sequence[str] | None = None) -> Scenario:
    """Load, merge and validate a scenario file (a path or a bundled name) into a `Scenario`.

    `overrides` is {dotted key: value} or a list of `KEY=VALUE` strings (VALUE read as
    YAML, as `--set` does); they apply after `extends`. Raises `ScenarioError`."""
    return load_scenario_with_source(path_or_name, overrides)[0]


def apply_values(scenario: Scenario, values: Mapping[str, Any], where: str) -> Scenario:
    """A new validated scenario with the dotted keys of `values` replaced (a sweep point).

    `where` names the source in error messages, e.g. "sweep point 3 of my.yaml"."""
    data = _plain(scenario.model_dump(mode="python"))
    return _apply_data(data, values, where)


def _apply_data(data: dict[str, Any], values: Mapping[str, Any], where: str) -> Scenario:
    data = copy.deepcopy(data)
    for key, value in values.items():
        segments = _resolve(data, key, where)
        if isinstance(value, Relative):
            value = value.applied(_get(data, segments), key, where)
        _set(data, segments, value)
    return _validate(data, lambda loc: where)


# --------------------------------------------------------------------------- bundled scenarios
class BundledScenario(NamedTuple):
    name: str
    description: str
    path: Path


def bundled_scenarios() -> list[BundledScenario]:
    """The bundled scenarios as (name, description, path), sorted by name.

    Here rather than in `files` because a file with no description of its own takes its base's,
    which means loading it; `files` finds the files and knows nothing of loading."""
    root = _bundled_root()
    if root is None:
        return []
    found = []
    for path in sorted(root.rglob("*.y*ml")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        name = path.relative_to(root).with_suffix("").as_posix()
        try:
            raw = _parse_yaml(path.read_text(encoding="utf-8-sig"))
            description = raw.get("description", "") if isinstance(raw, Mapping) else ""
            if not description and isinstance(raw, Mapping) and raw.get("extends"):
                description = load_scenario(path).description
        except (yaml.YAMLError, OSError, UnicodeDecodeError, ScenarioError):
            description = "(this file does not load: run `pcnsim validate` on it)"
        found.append(BundledScenario(name, " ".join(str(description or "").split()), path))
    return found
