"""Scenario files: read YAML, resolve `extends`, merge, apply `--set` overrides, validate.

A scenario file is a YAML mapping whose keys are those of `pcnsim.config.Scenario`.
Loading it goes:

1. read the file (a path, or a bundled scenario's name such as `baseline` or
   `workshop/forum`) and parse it as YAML, refusing binary files, duplicate keys and
   anything that is not a mapping;
2. resolve `extends:` depth-first (a path relative to the file, or a bundled name; a
   list of bases is merged in order; a cycle is an error);
3. merge every layer, base first, onto the full default scenario (mappings merge key by
   key; lists and scalars replace), so a partial override keeps every other default;
4. apply overrides (`--set KEY=VALUE`, dotted keys, VALUE read as YAML);
5. validate with pydantic and check the `sweep:` section (every swept key exists and
   every swept value validates), so that bad input fails before anything runs.

Every problem raises `ScenarioError` with one short paragraph naming the file, the
dotted key, the value and what was expected. This package sits in the config layer: it
imports only `pcnsim.config` and `pcnsim.errors` (and the version, for the header of a
resolved scenario). Its modules, by job:

- `yamlio`: the safe YAML loader, the dumper of resolved scenarios (`dump_yaml`);
- `keys`: dotted keys and the schema they address (split, resolve, set, merge);
- `messages`: which file set each key, and pydantic errors as sentences;
- `files`: finding a file or a bundled name, reading it safely, its `extends` chain;
- `loading`: `load_scenario`, `--set` (`parse_set`), `apply_values`, `bundled_scenarios`;
- `sweep`: `validate_sweep`;
- `changes`: a run's changes in words (`describe_changes`), conflicting overrides refused.
"""
from __future__ import annotations

from pcnsim.scenario.files import (  # the constants: read them here, set them there
    BUNDLED_SEARCH_PATH,
    MAX_EXTENDS_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    resolve_scenario_path,
    scenario_pack,
)
from pcnsim.scenario.loading import (
    BundledScenario,
    apply_values,
    bundled_scenarios,
    load_scenario,
    load_scenario_with_source,
    parse_set,
)
from pcnsim.scenario.sweep import GRID_CHECK_LIMIT, UNSWEEPABLE, validate_sweep
from pcnsim.scenario.yamlio import dump_yaml

__all__ = [
    "BUNDLED_SEARCH_PATH",
    "GRID_CHECK_LIMIT",
    "MAX_EXTENDS_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "UNSWEEPABLE",
    "BundledScenario",
    "apply_values",
    "bundled_scenarios",
    "dump_yaml",
    "load_scenario",
    "load_scenario_with_source",
    "parse_set",
    "resolve_scenario_path",
    "scenario_pack",
    "validate_sweep",
]
