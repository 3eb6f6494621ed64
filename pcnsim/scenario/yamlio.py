"""YAML in and out: a safe loader (no duplicate keys, `1e5` a number), the dumper of
resolved scenarios, and values shown as a user would write them."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from pcnsim._version import __version__
from pcnsim.config import Scenario

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


#: Digits a whole number may have (a scenario's largest is a seed, 20 digits): Python refuses
#: to read more than 4,300 (its int-string limit), and a longer one is never a parameter.
MAX_INT_DIGITS = 100


def _too_long(node: yaml.Node, text: str) -> yaml.constructor.ConstructorError:
    digits = sum(c.isdigit() for c in text)
    return yaml.constructor.ConstructorError(
        None, None, f"a whole number of {digits:,} digits (at most {MAX_INT_DIGITS} are read)", node.start_mark)


def _construct_int(loader: _Loader, node: yaml.Node) -> int:
    """A YAML integer, its length checked before it is read (Python refuses past 4,300 digits)."""
    text = str(node.value)
    if len(text) > MAX_INT_DIGITS + 3:   # a sign, a 0x/0o prefix
        raise _too_long(node, text)
    return loader.construct_yaml_int(node)


def _construct_exponent(loader: _Loader, node: yaml.Node) -> int | float:
    """`1e4` (YAML 1.1 reads it as text): a number, an integer when it is a whole one without a dot.

    A whole number of more than `MAX_INT_DIGITS` digits (`1e5000`) stays a float (infinite or
    huge), which validation refuses as out of range, rather than an integer Python cannot show."""
    text = loader.construct_scalar(node).replace("_", "")
    if len(text) > 400:
        raise _too_long(node, text)
    value = float(text)
    if "." not in text and value.is_integer() and abs(value) < 10.0 ** MAX_INT_DIGITS:
        import decimal   # exact, however large within the limit (1e18: then "out of range")

        return int(decimal.Decimal(text))
    return value


_Loader.add_implicit_resolver(
    "tag:pcnsim,2024:exponent",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))
_Loader.add_constructor("tag:pcnsim,2024:exponent", _construct_exponent)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


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



def dump_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML: every key, lists not tuples, no `extends`; runnable as is."""
    data = _plain(scenario.model_dump(mode="python", exclude={"sweep"}))
    if scenario.sweep is not None:
        data["sweep"] = _plain(scenario.sweep.model_dump(mode="python", exclude_none=True))
    header = (f"# Resolved scenario '{scenario.name}' (pcnsim {__version__}): every "
              "parameter, runnable as it is.\n")
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88)
