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
dotted key, the value and what was expected. This module sits in the config layer: it
imports only `pcnsim.config` and `pcnsim.errors`.
"""
from __future__ import annotations

import copy
import difflib
import itertools
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Optional

import yaml
from pydantic import BaseModel, ValidationError

import pcnsim
from pcnsim.config import SWEEP_KINDS, Scenario
from pcnsim.errors import ScenarioError

__all__ = [
    "BundledScenario",
    "apply_values",
    "bundled_scenarios",
    "dump_yaml",
    "load_scenario",
    "load_scenario_with_source",
    "parse_set",
    "resolve_scenario_path",
    "validate_sweep",
]

#: Where bundled scenarios live: inside an installed wheel first, then the repository.
BUNDLED_SEARCH_PATH: list[Path] = [
    Path(pcnsim.__file__).resolve().parent / "_scenarios",
    Path(pcnsim.__file__).resolve().parent.parent / "scenarios",
]
MAX_FILE_BYTES = 5_000_000
MAX_EXTENDS_DEPTH = 64
#: A grid with at most this many combinations has every combination validated at load time.
GRID_CHECK_LIMIT = 2_000
#: Keys a sweep may not vary: labels, and the experiment's own design (seed, replications).
UNSWEEPABLE = ("name", "description", "run.seed", "run.replications")
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*$")
_SEGMENT_RE = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


class BundledScenario(NamedTuple):
    name: str
    description: str
    path: Path


# --------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and reads `1e5` as a number, not text."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:  # type: ignore[override]
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # unhashable: the base class reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"found the key {key!r} twice", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_exponent(loader: _Loader, node: yaml.Node) -> int | float:
    """`1e4` (YAML 1.1 reads it as text): a number, an integer when it is a whole one without a dot."""
    text = loader.construct_scalar(node).replace("_", "")
    value = float(text)
    if "." not in text and value.is_integer():   # exact, however large (1e18: then "out of range")
        import decimal

        return int(decimal.Decimal(text))
    return value


_Loader.add_implicit_resolver(
    "tag:pcnsim,2024:exponent",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))
_Loader.add_constructor("tag:pcnsim,2024:exponent", _construct_exponent)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: Sequence) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list, tuple)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else (">" if len(data) > 80 else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)
_Dumper.add_representer(str, _represent_str)


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


# --------------------------------------------------------------------------- small helpers
def _plain(obj: Any) -> Any:
    """Dicts and lists only (tuples become lists), recursively copied."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _tupled(obj: Any) -> Any:
    """Lists become tuples, recursively: the strict schema takes tuples, not lists."""
    if isinstance(obj, Mapping):
        return {k: _tupled(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return tuple(_tupled(v) for v in obj)
    return obj


_DEFAULT_DATA: Optional[dict[str, Any]] = None


def _default_data() -> dict[str, Any]:
    """A fresh copy of every default, as plain dicts and lists."""
    global _DEFAULT_DATA
    if _DEFAULT_DATA is None:
        _DEFAULT_DATA = _plain(Scenario().model_dump(mode="python"))
    return copy.deepcopy(_DEFAULT_DATA)


def _show(value: Any, limit: int = 80) -> str:
    """A value as the user would write it in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        text = '"' + value.replace('"', '\\"') + '"'
    elif isinstance(value, (int,)):
        return str(value)
    else:
        try:
            text = yaml.dump(_plain(value), Dumper=_Dumper, default_flow_style=True,
                             width=10_000).strip()
        except yaml.YAMLError:
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


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


def _get(data: Any, loc: Sequence[Any]) -> Any:
    for seg in loc:
        try:
            data = data[seg]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _describe(err: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[tuple, str]:
    """One pydantic error as (location, sentence)."""
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
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
        field = _COMBINATION_KEYS.get(loc)
        if field is None:
            fields = list((_model_in(_annotation_at(loc)) or BaseModel).model_fields)
            hits = sorted((message.find(f), f) for f in fields if re.search(rf"\b{f}\b", message))
            field = hits[0][1] if hits else None
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
    errors = exc.errors(include_url=False)
    described = [_describe(e, data) for e in errors]
    loc, sentence = described[0]
    text = f"{origin_of(loc)}: {_sentence(sentence)}"
    more = len({d[1] for d in described}) - 1
    if more > 0:
        text += f" ({more} more problem{'s' if more > 1 else ''} after this one.)"
    return text


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def _validate(data: Mapping[str, Any], origin_of: Any) -> Scenario:
    try:
        return Scenario.model_validate(_tupled(data))
    except ValidationError as exc:
        raise ScenarioError(_validation_message(exc, data, origin_of)) from None


# --------------------------------------------------------------------------- dotted keys
def _unknown_key_message(data: Any, segments: list[Any], i: int, key: str) -> str:
    """The message for a dotted key whose segment i does not exist."""
    here = _get(data, segments[:i])
    seg = segments[i]
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


# --------------------------------------------------------------------------- finding files
def _bundled_root() -> Optional[Path]:
    for root in BUNDLED_SEARCH_PATH:
        if root.is_dir() and any(root.rglob("*.yaml")):
            return root
    return None


def bundled_scenarios() -> list[BundledScenario]:
    """The bundled scenarios as (name, description, path), sorted by name."""
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


def _bundled_path(name: str) -> Optional[Path]:
    if not _NAME_RE.match(name):
        return None
    root = _bundled_root()
    if root is None:
        return None
    for suffix in (".yaml", ".yml"):
        candidate = root / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def resolve_scenario_path(path_or_name: str | Path, base_dir: Optional[Path] = None,
                          referrer: Optional[str] = None) -> Path:
    """The file a path or a bundled name designates (relative paths from base_dir)."""
    text = str(path_or_name).strip()
    if not text:
        raise ScenarioError(f"{referrer or 'scenario'}: an empty name is not a scenario file.")
    path = Path(text).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if path.is_file():
        return path
    bundled = _bundled_path(text)
    if bundled is not None:
        return bundled
    what = f"{referrer}: base scenario" if referrer else "scenario file"
    if path.is_dir():
        raise ScenarioError(f"{what} '{text}' is a folder, not a scenario file; give the path of "
                            "a .yaml file inside it.")
    names = [b.name for b in bundled_scenarios()]
    text_msg = f"{what} '{text}' does not exist"
    if base_dir is not None and not Path(text).is_absolute():
        text_msg += f" (looked for '{_display_path(path)}')"
    text_msg += " and is not the name of a bundled scenario"
    guess = _closest(text.removesuffix(".yaml").removesuffix(".yml"), names)
    if guess:
        text_msg += f"; did you mean '{guess}'?"
    elif names:
        text_msg += f" (bundled: {', '.join(names)})"
    raise ScenarioError(_sentence(text_msg))


def _read_layer(path: Path, origin: str) -> dict[str, Any]:
    """One scenario file's own mapping (not yet merged)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{origin} is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                                "a scenario file is a short YAML text.")
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{origin} cannot be read: {exc.strerror or exc}.") from None
    if b"\x00" in raw:
        raise ScenarioError(f"{origin} is a binary file, not YAML text.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{origin} is not UTF-8 text (byte {exc.start} cannot be read); "
                            "save it as UTF-8.") from None
    try:
        data = _parse_yaml(text)
    except RecursionError:
        raise ScenarioError(f"{origin} is nested too deeply to be a scenario file.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{origin} is not valid YAML{where}: {problem}. Check the "
                            "indentation and the ':' after each key.") from None
    if data is None:
        raise ScenarioError(f"{origin} is empty; a scenario is a YAML mapping such as "
                            "'extends: baseline' followed by the keys it changes.")
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin}: the top level is {type(data).__name__} {_show(data, 40)}, "
                            "expected a mapping of keys to values (such as 'extends: baseline').")
    _check_keys(data, (), origin, [0])
    return data


MAX_NODES = 100_000


def _check_keys(data: Any, prefix: tuple, origin: str, count: list[int]) -> None:
    """Every key is text; and the file is not a YAML alias bomb."""
    count[0] += 1
    if count[0] > MAX_NODES or len(prefix) > 50:
        raise ScenarioError(f"{origin} holds more than {MAX_NODES:,} values or is nested too "
                            "deeply to be a scenario file.")
    if isinstance(data, Mapping):
        for k, v in data.items():
            if not isinstance(k, str):
                raise ScenarioError(
                    f"{origin}: the key {_show(k)} in '{_key(prefix)}' is not text (YAML reads yes, "
                    "no, on, off, null and numbers as values); put it in quotes.")
            _check_keys(v, prefix + (k,), origin, count)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_keys(v, prefix + (i,), origin, count)


def _layers(path: Path, top: Path, stack: tuple[Path, ...] = ()) -> list[tuple[Path, dict]]:
    """The file's layers, bases first (depth-first), each without its `extends`."""
    real = path.resolve()
    if real in stack:
        chain = " -> ".join(f"'{_display_path(p)}'" for p in (*stack, real))
        raise ScenarioError(f"{_file_origin(top)}: 'extends' makes a cycle: {chain}.")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{_file_origin(top)}: 'extends' chains more than "
                            f"{MAX_EXTENDS_DEPTH} files.")
    origin = _file_origin(path, top)
    data = _read_layer(path, origin)
    bases = data.pop("extends", None)
    if bases is None:
        bases = []
    elif isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ScenarioError(f"{origin}: extends = {_show(bases)}: expected the path or bundled name "
                            "of a base scenario (or a list of them).")
    out: list[tuple[Path, dict]] = []
    for base in bases:
        base_path = resolve_scenario_path(base, base_dir=path.parent, referrer=origin + ", extends")
        out.extend(_layers(base_path, top, (*stack, real)))
    out.append((path, data))
    return out


def _stem_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", path.stem).strip("-.")[:100]
    return name or "scenario"


# --------------------------------------------------------------------------- public API
def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings (as given to `--set`) as {dotted key: value}, VALUE read as YAML."""
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
        try:
            out[key] = _parse_yaml(text) if text.strip() else None
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ScenarioError(f"--set {key}: the value {text!r} is not valid YAML ({problem}); "
                                "quote text, and write lists as [a, b].") from None
    return out


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
    for key, value, origin in _overrides(overrides):
        segments = _resolve(data, key, origin)
        _set(data, segments, value)
        origins.record(value if isinstance(value, Mapping) else None, origin, tuple(segments))
    scenario = _validate(data, origins.of)
    validate_sweep(scenario, top_origin)
    return scenario, path


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
        _set(data, _resolve(data, key, where), value)
    return _validate(data, lambda loc: where)


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
    if key in UNSWEEPABLE or key.startswith("sweep"):
        raise ScenarioError(f"{label}: '{key}' cannot be swept ({', '.join(UNSWEEPABLE)} and the "
                            "sweep itself are fixed for a whole experiment); set it outside the sweep.")
    segments = _resolve(base, key, f"{label}, swept key '{key}'")
    value = _get(base, segments)
    if isinstance(value, dict):
        leaves = [_key(segments + [k]) for k in value][:4]
        raise ScenarioError(f"{label}: '{key}' is a section, not one parameter; sweep its keys, "
                            f"such as {', '.join(leaves)}.")


def dump_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML: every key, lists not tuples, no `extends`; runnable as is."""
    data = _plain(scenario.model_dump(mode="python", exclude={"sweep"}))
    if scenario.sweep is not None:
        data["sweep"] = _plain(scenario.sweep.model_dump(mode="python", exclude_none=True))
    header = (f"# Resolved scenario '{scenario.name}' (pcnsim {pcnsim.__version__}): every "
              "parameter, runnable as it is.\n")
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88)
