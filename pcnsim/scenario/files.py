"""Finding scenario files (a path or a bundled name), reading one safely, and its `extends`
chain."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import yaml

from pcnsim.errors import ScenarioError
from pcnsim.scenario.keys import RENAMED_KEYS, _closest, _key, _sentence
from pcnsim.scenario.messages import _display_path, _file_origin
from pcnsim.scenario.yamlio import _parse_yaml, _show

#: Where bundled scenarios live: inside an installed wheel first, then the repository.
_PACKAGE = Path(__file__).resolve().parent.parent    # pcnsim/, found without importing the façade
BUNDLED_SEARCH_PATH: list[Path] = [_PACKAGE / "_scenarios", _PACKAGE.parent / "scenarios"]
MAX_FILE_BYTES = 5_000_000
MAX_EXTENDS_DEPTH = 64
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*$")


# --------------------------------------------------------------------------- finding files
def _bundled_root() -> Optional[Path]:
    for root in BUNDLED_SEARCH_PATH:
        if root.is_dir() and any(root.rglob("*.yaml")):
            return root
    return None


def bundled_names() -> list[str]:
    """The bundled scenarios' names (`baseline`, `workshop/forum`...), sorted; nothing is read.

    `bundled_scenarios` (in `loading`, as a description may need its bases loaded) lists them
    with their descriptions."""
    root = _bundled_root()
    if root is None:
        return []
    return [path.relative_to(root).with_suffix("").as_posix() for path in sorted(root.rglob("*.y*ml"))
            if path.suffix in (".yaml", ".yml") and path.is_file()]


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


def scenario_pack(path_or_name: str | Path) -> Optional[list[Path]]:
    """The scenario files of a folder (a path, or a bundled folder such as `workshop`), sorted
    by name; None when `path_or_name` is not a folder. Raises `ScenarioError` for a folder
    holding no .yaml file."""
    text = str(path_or_name).strip()
    folder = Path(text).expanduser()
    if not folder.is_dir():
        root = _bundled_root()
        folder = root / text if root is not None and text and _NAME_RE.match(text.rstrip("/")) else folder
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise ScenarioError(f"scenario folder '{_display_path(folder)}' holds no .yaml scenario file; give a "
                            "folder of scenario files (such as scenarios/workshop) or one file.")
    return files


def resolve_scenario_path(path_or_name: str | Path, base_dir: Optional[Path] = None,
                          referrer: Optional[str] = None) -> Path:
    """The file a path or a bundled name designates (relative paths from base_dir)."""
    text = str(path_or_name).strip()
    if not text:
        raise ScenarioError(f"{referrer or 'scenario'}: an empty name is not a scenario file.")
    path = Path(text).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    try:
        is_file = path.is_file()
    except OSError as err:   # a name too long, a folder not searchable: refused before anything is read
        shown = text if len(text) <= 120 else f"{text[:60]}... ({len(text):,} characters)"
        raise ScenarioError(f"{referrer + ': base scenario' if referrer else 'scenario file'} '{shown}' cannot be "
                            f"read: {err.strerror or err}.") from None
    if is_file:
        return path
    if path.exists() and not path.is_dir():   # a device, a FIFO, a socket: refused on its stat, unread
        what = f"{referrer}: base scenario" if referrer else "scenario file"
        raise ScenarioError(f"{what} '{text}' is not a regular file (a device, a pipe or a socket); a scenario "
                            "is a YAML text file.")
    bundled = _bundled_path(text)
    if bundled is not None:
        return bundled
    what = f"{referrer}: base scenario" if referrer else "scenario file"
    if path.is_dir():
        raise ScenarioError(f"{what} '{text}' is a folder, not a scenario file; give the path of "
                            "a .yaml file inside it.")
    names = bundled_names()
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


def _read_bytes(path: Path, origin: str) -> bytes:
    """A scenario file's bytes, refusing without reading anything but a regular file.

    A FIFO, a device or a socket (`extends: /dev/zero`, `/dev/stdin`) is refused on its
    `os.stat` before it is opened (reading one could block for ever or never end); the file is
    opened without blocking and checked again (`fstat`), and at most `MAX_FILE_BYTES` + 1
    bytes are read, so a file of the kernel's (`/proc/kmsg`, which says it is empty and blocks)
    is not read either: a size of 0 is an empty file, refused unread."""
    import os
    import stat

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{origin} is not a regular file (a device, a pipe or a socket); a scenario is "
                                "a YAML text file.")
        if info.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{origin} is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                                "a scenario file is a short YAML text.")
        if info.st_size == 0:
            return b""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):   # swapped since the stat
                raise ScenarioError(f"{origin} is not a regular file; a scenario is a YAML text file.")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ScenarioError(f"{origin} cannot be read: {exc.strerror or exc}.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{origin} is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                            "a scenario file is a short YAML text.")
    return raw


def _read_layer(path: Path, origin: str) -> dict[str, Any]:
    """One scenario file's own mapping (not yet merged)."""
    raw = _read_bytes(path, origin)
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
        hint = "" if isinstance(exc, yaml.constructor.ConstructorError) else \
            " Check the indentation and the ':' after each key."
        raise ScenarioError(f"{origin} is not valid YAML{where}: {problem}.{hint}") from None
    if data is None:
        raise ScenarioError(f"{origin} is empty; a scenario is a YAML mapping such as "
                            "'extends: baseline' followed by the keys it changes.")
    if not isinstance(data, dict):   # its content is not quoted: it may be no scenario (/etc/passwd)
        kind = {str: "text", list: "a list"}.get(type(data), f"a {type(data).__name__}")
        raise ScenarioError(f"{origin}: the top level is {kind}, not a mapping of keys to values (such as "
                            "'extends: baseline'), so this is not a scenario file.")
    _check_keys(data, (), origin, [0])
    _check_is_scenario(data, origin)
    _rename_old_keys(data, origin)
    return data


def _rename_old_keys(data: dict[str, Any], origin: str) -> None:
    """A file written before a rename (`keys.RENAMED_KEYS`) still loads: its old key's value moves to the
    new key, with a FutureWarning naming it; a file giving both is refused (docs/interface.md)."""
    import warnings

    for old, (new, why) in RENAMED_KEYS.items():
        *path, old_leaf = old.split(".")
        section = data
        for seg in path:
            section = section.get(seg) if isinstance(section, dict) else None
        if not isinstance(section, dict) or old_leaf not in section:
            continue
        new_path, new_leaf = new.split(".")[:-1], new.split(".")[-1]
        if new_path != path:         # pragma: no cover - every rename so far keeps the key's section
            raise AssertionError(f"rename {old} -> {new} moves the key to another section")
        if new_leaf in section:
            raise ScenarioError(f"{origin}: '{old}' and '{new}' are both given; '{old}' is the old name of "
                                f"'{new}' ({why}): give '{new}' only.")
        section[new_leaf] = section.pop(old_leaf)
        warnings.warn(f"{origin}: '{old}' was renamed '{new}' in delivery v3 ({why}); its value is used as "
                      f"'{new}'. Write '{new}': the old name will be refused in a later version.",
                      FutureWarning, stacklevel=2)


def _check_is_scenario(data: dict[str, Any], origin: str) -> None:
    """Refuse, without quoting it, a mapping none of whose keys is (or nearly is) a scenario's:
    another program's YAML or configuration file (`extends: /etc/some.conf`), whose content
    an error naming its keys and values would repeat."""
    from pcnsim.config import Scenario

    known = [*Scenario.model_fields, "extends"]
    if not data or any(k in known or _closest(k, known) for k in data):
        return
    raise ScenarioError(f"{origin} holds none of a scenario's keys (such as extends, name, run, pcn), so it is "
                        "not a scenario file.")


MAX_NODES = 100_000


def _check_keys(data: Any, prefix: tuple, origin: str, count: list[int]) -> None:
    """Every key is text; and the file is not a YAML alias bomb."""
    count[0] += 1
    if count[0] > MAX_NODES or len(prefix) > 50:
        raise ScenarioError(f"{origin} holds more than {MAX_NODES:,} values or is nested more than 50 levels "
                            "deep (a YAML alias counts each time it is used), which no scenario is.")
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


#: Files an `extends` graph may load in all, counting a base each time it is reached (a
#: diamond reaches its shared bases by every path: 12 levels deep, 4,096 times).
MAX_EXTENDS_LOADS = 1_000


def _layers(path: Path, top: Path, stack: tuple[Path, ...] = (),
            seen: Optional[dict[Path, tuple[dict, list[str]]]] = None, loads: Optional[list[int]] = None,
            ) -> list[tuple[Path, dict]]:
    """The file's layers, bases first (depth-first), each without its `extends`.

    Each file is read and parsed once (`seen`), however many paths reach it, and the layers
    reached in all are counted (`loads`): a graph past `MAX_EXTENDS_LOADS` is refused at
    once rather than merged for seconds."""
    seen = {} if seen is None else seen
    loads = [0] if loads is None else loads
    real = path.resolve()
    if real in stack:
        chain = " -> ".join(f"'{_display_path(p)}'" for p in (*stack, real))
        raise ScenarioError(f"{_file_origin(top)}: 'extends' makes a cycle: {chain}.")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{_file_origin(top)}: 'extends' chains more than "
                            f"{MAX_EXTENDS_DEPTH} files.")
    loads[0] += 1
    if loads[0] > MAX_EXTENDS_LOADS:
        raise ScenarioError(f"{_file_origin(top)}: its 'extends' bases reach more than {MAX_EXTENDS_LOADS:,} "
                            "files in all (a base shared by several bases counts each time it is reached); "
                            "extend fewer files, or copy the keys needed into one base.")
    origin = _file_origin(path, top)
    if real not in seen:
        data = _read_layer(path, origin)
        bases = data.pop("extends", None)
        if bases is None:
            bases = []
        elif isinstance(bases, str):
            bases = [bases]
        if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
            raise ScenarioError(f"{origin}: extends = {_show(bases)}: expected the path or bundled name "
                                "of a base scenario (or a list of them).")
        seen[real] = (data, bases)
    data, bases = seen[real]
    out: list[tuple[Path, dict]] = []
    for base in bases:
        base_path = resolve_scenario_path(base, base_dir=path.parent, referrer=origin + ", extends")
        out.extend(_layers(base_path, top, (*stack, real), seen, loads))
    out.append((path, data))
    return out


def _stem_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", path.stem).strip("-.")[:100]
    return name or "scenario"

