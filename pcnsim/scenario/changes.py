"""A run's changes from the scenario it starts from, in plain words.

A run made with `--set pcn.list_size=62000 --set pcn.practices=7 --set
funding.arrs_per_patient=*0.9` is no longer the scenario it names: its pages, sheets and
figures must say so, or a planner who e-mails them misinforms the reader. This module turns
the overrides into phrases people read ("62,000 patients in 7 practices", "ARRS budget 90% of
baseline"), from the parameter catalogue's descriptions and units (`pcnsim.config.parameter_rows`).

`describe_changes(base, overrides)` is pure and model-free (it imports only the config layer),
so the command line and the app call the same function; the run records its result in the
manifest (`changes`, with `based_on`, the base scenario's name) and every output reads it
from there (`RunData.changes`).

`conflicting_overrides(keys)` names two overrides that set the same thing two ways (the PCN's
whole list and the list of each practice): such a run is refused, not run with one of them
silently winning.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from pcnsim.config import Scenario
from pcnsim.scenario.keys import CONFLICTS, conflicting_overrides  # noqa: F401 (re-exported)

__all__ = ["describe_changes", "changes_sentence", "conflicting_overrides", "parameter_words", "CONFLICTS"]

#: Short words for the levers people change most (the catalogue's description is used otherwise).
_WORDS = {
    "funding.arrs_per_patient": "ARRS budget",
    "funding.cd_wte_per_50k": "funded CD time",
    "funding.manager_wte": "PCN manager time",
    "funding.backfill_meetings": "locum backfill of meetings",
    "funding.backfill_leadership": "locum backfill of leadership work",
    "clinical_director.extra_protected_sessions": "extra protected CD sessions",
    "ics.meeting_load": "system meeting load",
    "ics.pcns": "PCNs in the ICS",
    "ics.representation": "system meeting representation",
    "demand.appointments_per_patient_year": "demand",
    "gps.wte_per_10k": "GPs per 10,000 patients",
    "run.replications": "replications",
    "run.horizon_weeks": "weeks simulated",
    "run.warmup_weeks": "warm-up weeks",
}

_ROWS: dict[str, dict[str, Any]] = {}


def _rows() -> dict[str, dict[str, Any]]:
    if not _ROWS:
        from pcnsim.config import parameter_rows

        _ROWS.update({r["key"]: r for r in parameter_rows()})
    return _ROWS


def parameter_words(key: str) -> str:
    """A parameter in a few words: "funding.arrs_per_patient" -> "ARRS budget"; the catalogue's
    description up to its first bracket or semicolon otherwise; the dotted key if it has none."""
    if key in _WORDS:
        return _WORDS[key]
    text = str(_rows().get(key, {}).get("description") or "").strip()
    for stop in (" (", ";", ": "):
        text = text.split(stop)[0]
    return text or key


def _unit(key: str) -> str:
    unit = str(_rows().get(key, {}).get("unit") or "").strip()
    return "" if unit in ("-", "label", "integer", "series", "order") else unit


def _number(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.4g}" if abs(v) >= 1 else f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_number(x) for x in v) + "]"
    return str(v)


def _with_unit(key: str, v: Any) -> str:
    """A value with its unit: "£20.60 per patient per year", "1 sessions a week" -> "1 session a week"."""
    unit = _unit(key)
    if isinstance(v, bool) or not unit:
        return _number(v)
    if unit.startswith("£"):
        number = f"{float(v):,.2f}" if isinstance(v, float) and v != int(v) else _number(v)
        return f"£{number} {unit[1:].strip()}".strip()
    if unit.startswith("share"):
        return f"{float(v):.0%}" if isinstance(v, (int, float)) else _number(v)
    if v == 1 and unit.split()[0].endswith("s") and unit.split()[0] not in ("hours", "weeks", "days"):
        unit = unit.split()[0][:-1] + unit[len(unit.split()[0]):]
    return f"{_number(v)} {unit}"


def _get(data: Mapping[str, Any], key: str) -> Any:
    here: Any = data
    for part in key.split("."):
        if not isinstance(here, Mapping) or part not in here:
            return None
        here = here[part]
    return here


def _parsed(overrides: Any) -> dict[str, Any]:
    """{key: value or Relative} from a mapping or `KEY=VALUE` strings (`*F` is relative)."""
    from pcnsim.scenario.keys import Relative
    from pcnsim.scenario.loading import parse_set

    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        out = {}
        for k, v in overrides.items():
            if isinstance(v, str) and v.strip().startswith("*"):
                v = parse_set([f"{k}={v}"])[str(k)]
            out[str(k)] = v
        return out
    items = [overrides] if isinstance(overrides, str) else list(overrides)
    return {k: v for k, v in parse_set(items).items()} if items else {}


def _factor_words(factor: float, base_name: str) -> str:
    pct = factor * 100
    text = f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:.3g}%"
    return f"{text} of {base_name}"


def describe_changes(base: Scenario | Mapping[str, Any], overrides: Any) -> list[str]:
    """The changes `overrides` make to the scenario `base`, one phrase each, in plain words.

    `base`: the scenario before the overrides (a `Scenario` or its dict, as in manifest.json);
    `overrides`: {dotted key: value} (a value may be a relative change, "*0.9") or `KEY=VALUE`
    strings as given to `--set`. The PCN's size is said as people say it ("62,000 patients in
    7 practices"); a relative change against the base's name ("ARRS budget 90% of baseline
    (£20.60 per patient per year)"); any other value with its unit and the base's value
    ("extra protected CD sessions 1 session a week (baseline: 0)"). A value equal to the
    base's is left out (nothing changed). Pure: no file is read."""
    from pcnsim.scenario.keys import Relative

    data = base.model_dump(mode="json") if isinstance(base, Scenario) else dict(base or {})
    name = str(data.get("name") or "the scenario")
    items = _parsed(overrides)
    values: dict[str, Any] = {}
    for key, v in items.items():
        old = _get(data, key)
        if isinstance(v, Relative):
            values[key] = (v, old)
        else:
            values[key] = (v, old)
    out: list[str] = []
    done: set[str] = set()
    pcn = data.get("pcn") if isinstance(data.get("pcn"), Mapping) else {}
    size_keys = {"pcn.list_size", "pcn.practices", "pcn.list_size_per_practice"}
    if size_keys & set(values):
        practices = _resolved(values.get("pcn.practices"), pcn.get("practices", 5))
        total = _resolved(values.get("pcn.list_size"), None)
        each = _resolved(values.get("pcn.list_size_per_practice"), pcn.get("list_size_per_practice", 9000))
        if total is None and "pcn.list_size_per_practice" not in values and isinstance(pcn.get("list_size"), int):
            total = pcn["list_size"]
        if isinstance(total, (int, float)) and isinstance(practices, int):
            out.append(f"{_number(int(total))} patients in {practices} practice{'s' if practices != 1 else ''}")
        elif isinstance(each, (int, float)) and isinstance(practices, int):
            out.append(f"{practices} practice{'s' if practices != 1 else ''} of {_number(int(each))} patients")
        done |= size_keys
    for key, (v, old) in values.items():
        if key in done:
            continue
        words = parameter_words(key)
        if isinstance(v, Relative):
            if v.factor == 1:
                continue
            text = f"{words} {_factor_words(v.factor, name)}"
            if isinstance(old, (int, float)) and not isinstance(old, bool):
                text += f" ({_with_unit(key, v.applied(old, key, key))})"
            out.append(text)
            continue
        if v == old:
            continue
        if isinstance(v, Mapping):
            out.append(f"{words}: {', '.join(f'{k} {_number(x)}' for k, x in v.items())}")
            continue
        text = f"{words} {_with_unit(key, v)}"
        if old is not None and not isinstance(old, (Mapping, list)):
            text += f" ({name}: {_with_unit(key, old)})"
        out.append(text)
    return out


def _resolved(item: Optional[tuple[Any, Any]], default: Any) -> Any:
    """A (value, old) pair's new value, a relative change applied; `default` without one."""
    from pcnsim.scenario.keys import Relative

    if item is None:
        return default
    v, old = item
    if isinstance(v, Relative):
        return v.applied(old, "", "") if isinstance(old, (int, float)) else default
    return v


def changes_sentence(changes: Sequence[str], based_on: str) -> str:
    """"Based on baseline, with these changes: 62,000 patients in 7 practices; ARRS budget 90% of
    baseline." ("" without changes): what a page, sheet or figure says in place of the base
    scenario's description."""
    if not changes:
        return ""
    return f"Based on {based_on}, with these changes: " + "; ".join(changes) + "."
