"""Validation messages: which file or option set each key, and one pydantic error as one
sentence naming the dotted key, the value and what was expected."""
from __future__ import annotations

import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from pcnsim.config import Scenario
from pcnsim.errors import ScenarioError
from pcnsim.scenario.keys import _annotation_at, _closest, _get, _key, _model_in, _sentence, _siblings, renamed_key_message
from pcnsim.scenario.yamlio import _show, _tupled

def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)



# --------------------------------------------------------------------------- origins
class _Origins:
    """Which file (or option) set each key, so that errors name the right one."""

    def __init__(self, top: str) -> None:
        self.top = top
        self.by_path: dict[tuple, str] = {}

    def record(self, data: Any, origin: str, prefix: tuple = ()) -> None:
        if not prefix and not (isinstance(data, Mapping) and data):
            return  # a file that sets nothing
        if isinstance(data, Mapping) and data:
            if prefix in self.by_path:   # a mapping replaces a value set before (description: {a: 1})
                self.by_path[prefix] = origin
            for k, v in data.items():
                self.record(v, origin, prefix + (k,))
        else:
            self.by_path[prefix] = origin
            for path in [p for p in self.by_path if p[: len(prefix)] == prefix and p != prefix]:
                del self.by_path[path]

    def of(self, loc: Sequence[Any]) -> str:
        loc = tuple(loc)
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.by_path:
                return self.by_path[loc[:n]]
        return self.top


def _file_origin(path: Path, top: Optional[Path] = None) -> str:
    text = f"scenario file '{_display_path(path)}'"
    if top is not None and path.resolve() != top.resolve():
        text += f" (a base of '{_display_path(top)}')"
    return text


# --------------------------------------------------------------------------- validation errors
_EXPECT = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number (not NaN or infinity)",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "tuple_type": "expected a list of values",
    "list_type": "expected a list of values",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a section (a mapping of keys to values)",
    "model_attributes_type": "expected a section (a mapping of keys to values)",
    "string_too_short": "expected non-empty text",
    "string_too_long": "expected shorter text",
}
# model-level checks that concern two keys: report them at the key a user would change
_COMBINATION_KEYS = {("run",): "warmup_weeks", ("ics",): "forum_representatives"}


def _describe(err: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[tuple, str]:
    """One pydantic error as (location, sentence)."""
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        renamed = renamed_key_message(_key(loc))
        if renamed is not None:
            return loc, renamed
        allowed = _siblings(loc)
        text = f"unknown key '{_key(loc)}' (value {_show(value)})"
        guess = _closest(str(loc[-1]), allowed)
        if guess:
            text += f"; did you mean '{_key(loc[:-1] + (guess,))}'?"
        elif allowed:
            where = f"in '{_key(loc[:-1])}'" if loc[:-1] else "at the top level"
            text += f"; the keys allowed {where} are: {', '.join(allowed)}"
        return loc, text
    if kind == "missing" and loc and isinstance(loc[-1], int):
        parent = loc[:-1]
        ann = _annotation_at(parent)
        n = len(typing.get_args(ann)) if ann is not None else 0
        want = f"a list of {n} values" if n else "more values"
        return parent, f"{_key(parent)} = {_show(_get(data, parent))}: expected {want}"
    if kind == "missing":
        return loc, f"{_key(loc)} is missing: it is required"
    if kind == "value_error":
        message = str(ctx.get("error", err.get("msg", ""))).removeprefix("Value error, ")
        named = re.match(r"([a-z_]+(?:\.[a-z_0-9]+)+): (.+)", message, re.S) if not loc else None
        if named:           # a check of the whole scenario names the key to change first ("ics.x: ...")
            key_loc = tuple(named.group(1).split("."))
            return key_loc, f"{_key(key_loc)} = {_show(_get(data, key_loc))}: {named.group(2)}"
        fields = list((_model_in(_annotation_at(loc)) or BaseModel).model_fields)
        hits = sorted((message.find(f), f) for f in fields if re.search(rf"\b{f}\b", message))
        field = hits[0][1] if hits else _COMBINATION_KEYS.get(loc)   # the key the message names first
        key_loc = loc + (field,) if field else loc
        return key_loc, f"{_key(key_loc)} = {_show(_get(data, key_loc))}: {message}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
                 "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}[kind]
        return loc, f"{_key(loc)} = {_show(value)}: expected a number {words[0]} {ctx.get(words[1])}"
    if kind == "literal_error":
        return loc, f"{_key(loc)} = {_show(value)}: expected one of {ctx.get('expected')}"
    if kind == "too_long" or kind == "too_short":
        limit = ctx.get("max_length") if kind == "too_long" else ctx.get("min_length")
        word = "at most" if kind == "too_long" else "at least"
        return loc, f"{_key(loc)} = {_show(value)}: expected {word} {limit} values"
    if kind == "string_pattern_mismatch":
        return loc, (f"{_key(loc)} = {_show(value)}: expected plain letters (A-Z, a-z), digits, "
                     "'_', '.' or '-' only (no spaces or accents)")
    expected = _EXPECT.get(kind, err.get("msg", "invalid value").lower())
    if kind in ("model_type", "model_attributes_type") and _siblings(loc + ("?",)):
        expected += " with keys such as " + ", ".join(_siblings(loc + ("?",))[:4])
    return loc, f"{_key(loc)} = {_show(value)}: {expected}"


def _validation_message(exc: ValidationError, data: Mapping[str, Any],
                        origin_of: Any) -> str:
    """Every problem pydantic found, each naming its file (or option), key, value and what was
    expected: one sentence for one problem, a list for several (`pcnsim validate` shows all)."""
    errors = exc.errors(include_url=False)
    described: list[tuple[tuple, str]] = []
    for e in errors:
        loc, sentence = _describe(e, data)
        if all(sentence != s for _, s in described):
            described.append((loc, sentence))
    loc, sentence = described[0]
    if len(described) == 1:
        return f"{origin_of(loc)}: {_sentence(sentence)}"
    first = origin_of(loc)
    lines = [f"{first}: {len(described)} problems:"]
    for loc, sentence in described:
        where = origin_of(loc)
        lines.append(f"  - {_sentence(sentence)}" + (f" (in {where})" if where != first else ""))
    return "\n".join(lines)


def _validate(data: Mapping[str, Any], origin_of: Any) -> Scenario:
    try:
        scenario = Scenario.model_validate(_tupled(data))
    except ValidationError as exc:
        raise ScenarioError(_validation_message(exc, data, origin_of)) from None
    if not scenario.name.strip("."):   # '.' or '..' names a run's folder: the outputs or the pack folder itself
        raise ScenarioError(f"{origin_of(('name',))}: name = {_show(scenario.name)}: expected a name with a letter "
                            "or a digit; a name of dots only would name the folder it is in (or its parent), not "
                            "a run folder of its own.")
    return scenario
