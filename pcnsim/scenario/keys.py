"""Dotted keys (`pcn.practices`, `ics.meeting_load[0]`) and the schema they address:
splitting, showing, resolving, setting and deep-merging."""
from __future__ import annotations

import copy
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from pydantic import BaseModel

from pcnsim.config import SWEEP_KINDS, Scenario
from pcnsim.errors import ScenarioError
from pcnsim.scenario.yamlio import _plain, _show

_SEGMENT_RE = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")
_DEFAULT_DATA: Optional[dict[str, Any]] = None


def _default_data() -> dict[str, Any]:
    """A fresh copy of every default, as plain dicts and lists."""
    global _DEFAULT_DATA
    if _DEFAULT_DATA is None:
        _DEFAULT_DATA = _plain(Scenario().model_dump(mode="python"))
    return copy.deepcopy(_DEFAULT_DATA)



#: Keys renamed, as dotted keys: {old: (new, why)}. A scenario file's old key still loads with a warning
#: (`pcnsim.config.arrs.RENAMED`); a dotted key (`--set`, a sweep) is refused naming the new one, since a
#: sweep's keys name its output columns (docs/interface.md, "Renamed keys").
RENAMED_KEYS: dict[str, tuple[str, str]] = {
    "arrs.supervision_protected_share": (
        "arrs.supervision_preblocked_share",
        "its blocks can now be released to patients under GP pressure: arrs.supervision_release_pressure and "
        "arrs.supervision_release_per_pressure, docs/model.md 2.4"),
}


def renamed_key_message(key: str) -> Optional[str]:
    """The sentence for a renamed key (`RENAMED_KEYS`), else None."""
    if key not in RENAMED_KEYS:
        return None
    new, why = RENAMED_KEYS[key]
    return f"'{key}' was renamed '{new}' in delivery v3: {why}. Write '{new}' instead"


def _key(loc: Sequence[Any]) -> str:
    """A pydantic location or a path as the dotted key users write."""
    out = ""
    for seg in loc:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif "." in str(seg) or not str(seg):
            out += f"[{str(seg)!r}]"
        else:
            out += ("." if out else "") + str(seg)
    return out or "(top level)"


def _split_key(key: str) -> list[Any]:
    """`a.b[0].c` (or `a.b.0.c`) as path segments ['a', 'b', 0, 'c']."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError("empty key")
    segments: list[Any] = []
    for part in key.strip().split("."):
        m = _SEGMENT_RE.match(part)
        if not m:
            raise ValueError(f"cannot read {part!r}")
        name, idx = m.group(1), m.group(2)
        segments.append(int(name) if name.isdigit() else name)
        segments.extend(int(i) for i in re.findall(r"\d+", idx))
    return segments


def _closest(word: str, choices: Sequence[str]) -> Optional[str]:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return match[0] if match else None



def _annotation_at(loc: Sequence[Any]) -> Any:
    """The type annotation of a schema location (None if it is not a schema field)."""
    ann: Any = Scenario
    for seg in loc:
        if isinstance(seg, int):
            args = typing.get_args(ann)
            if typing.get_origin(ann) is not tuple or not args:
                return None
            if len(args) == 2 and args[1] is Ellipsis:
                ann = args[0]
            else:
                ann = args[seg] if seg < len(args) else None
            continue
        model = _model_in(ann)
        if model is None or seg not in model.model_fields:
            return None
        ann = model.model_fields[seg].annotation
    return ann


def _model_in(ann: Any) -> Optional[type[BaseModel]]:
    """The pydantic model a (possibly Optional) annotation holds, if any."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        for arg in typing.get_args(ann):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _siblings(loc: Sequence[Any]) -> list[str]:
    """The keys allowed at the level of loc's last segment."""
    model = _model_in(_annotation_at(loc[:-1]))
    return list(model.model_fields) if model is not None else []


def _get(data: Any, loc: Sequence[Any]) -> Any:
    for seg in loc:
        try:
            data = data[seg]
        except (KeyError, IndexError, TypeError):
            return None
    return data



def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."



# --------------------------------------------------------------------------- dotted keys
def _unknown_key_message(data: Any, segments: list[Any], i: int, key: str) -> str:
    """The message for a dotted key whose segment i does not exist."""
    here = _get(data, segments[:i])
    seg = segments[i]
    renamed = renamed_key_message(_key(segments[:i + 1]))
    if renamed is not None:
        return renamed
    if isinstance(here, Mapping):
        guess = _closest(str(seg), list(here))
        text = f"unknown key '{key}'"
        if guess is not None:
            fixed = segments[:i] + [guess] + segments[i + 1:]
            text += f"; did you mean '{_key(fixed)}'?"
        else:
            where = f"in '{_key(segments[:i])}'" if i else "at the top level"
            text += f"; the keys allowed {where} are: {', '.join(map(str, here))}"
        return text
    if isinstance(here, list):
        return f"'{key}': '{_key(segments[:i])}' has {len(here)} entries, so [{seg}] does not exist"
    return (f"'{key}': '{_key(segments[:i])}' is {_show(here)}, not a section; "
            f"set '{_key(segments[:i])}' as a whole instead")


def _resolve(data: Any, key: str, where: str) -> list[Any]:
    """The path segments of an existing dotted key in data (or a ScenarioError)."""
    try:
        segments = _split_key(key)
    except ValueError:
        raise ScenarioError(f"{where}: '{key}' is not a dotted key such as 'pcn.practices'.") from None
    here = data
    for i, seg in enumerate(segments):
        if isinstance(here, Mapping) and not isinstance(seg, int) and seg in here:
            here = here[seg]
        elif isinstance(here, list) and isinstance(seg, int) and seg < len(here):
            here = here[seg]
        else:
            raise ScenarioError(f"{where}: {_sentence(_unknown_key_message(data, segments, i, key))}")
    return segments


class Relative:
    """A change relative to the value a key has (`--set funding.arrs_per_patient=*0.9`)."""

    def __init__(self, factor: float, text: str) -> None:
        self.factor, self.text = factor, text

    def __repr__(self) -> str:
        return self.text

    def applied(self, current: Any, key: str, where: str) -> Any:
        """The new value: current x factor (a whole number stays whole when the result is)."""
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ScenarioError(f"{where}: '{key}' is {_show(current)}, not a number, so '{self.text}' (a "
                                "relative change) cannot apply; give the new value itself.")
        value = current * self.factor
        if not math.isfinite(value) or abs(value) > 1e300:   # *1e308: no number, refused before it is used
            raise ScenarioError(f"{where}: '{key}' = {_show(current)} times {self.factor:g} ('{self.text}') is "
                                "too large to be a value; give a factor that keeps the value within its range.")
        if isinstance(current, int) and abs(value - round(value)) < 1e-9:
            return int(round(value))
        return float(f"{value:.12g}")   # 22.89 x 0.9 = 20.601, not 20.601000000000003


def _set(data: dict[str, Any], segments: list[Any], value: Any) -> None:
    parent = _get(data, segments[:-1]) if len(segments) > 1 else data
    last = segments[-1]
    if isinstance(parent[last], dict) and isinstance(value, Mapping):
        _merge(parent[last], _plain(value))
    else:
        parent[last] = _plain(value)


def _merge(base: dict[str, Any], layer: Mapping[str, Any], top: bool = False) -> None:
    """Deep-merge layer into base: mappings merge key by key, lists and scalars replace.

    One exception keeps a sweep valid: naming a design (grid, points, lhs, sobol) in a
    child's `sweep:` drops the base's other designs, since a sweep holds exactly one."""
    for k, v in layer.items():
        if top and k == "sweep" and isinstance(v, Mapping) and isinstance(base.get(k), dict):
            named = set(v) & set(SWEEP_KINDS)
            if named:
                base[k] = {d: x for d, x in base[k].items() if d not in SWEEP_KINDS or d in named}
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = _plain(v)


# --------------------------------------------------------------------------- conflicting overrides
#: Pairs of keys that set the same thing two ways: both given as overrides is a conflict.
CONFLICTS: tuple[tuple[str, str, str], ...] = (
    ("pcn.list_size", "pcn.list_size_per_practice",
     "both set the practices' lists (pcn.list_size is the PCN's whole list, split evenly between the practices, "
     "and would silently win)"),
    ("pcn.list_sizes", "pcn.list_size",
     "both set the practices' lists (pcn.list_sizes gives each practice's list one by one)"),
    ("pcn.list_sizes", "pcn.list_size_per_practice",
     "both set the practices' lists (pcn.list_sizes gives each practice's list one by one)"),
)


def conflicting_overrides(keys: Sequence[str]) -> Optional[tuple[str, str, str]]:
    """The first pair of `keys` (dotted keys of overrides) that set the same thing two ways, with
    why (`CONFLICTS`); None when they do not conflict."""
    given = set(keys)
    for a, b, why in CONFLICTS:
        if a in given and b in given:
            return a, b, why
    return None
