"""How the practices' days run, chosen by the environment variable PCNSIM_ENGINE (docs/performance.md).

- "compiled" (the default): one pass an ICS-day over its PCNs (`practices.days` run by the ICS), each PCN's day one
  compiled call (`daybook.serve`);
- "per-pcn": the same compiled calls, from one SimPy process per PCN;
- "python": one process per PCN on the list reference (`booking.py`).

All three give the same numbers (tests/test_daybook.py). This module imports nothing heavy, so
the CLI can check the choice before a run starts.

The compiled day is built once per machine ahead of time (`serve`): numba's AOT compiler turns
`daybook.serve` into an extension module in the cache, and later processes import that module
without importing numba (about 1.1 s of start-up saved in every process that simulates). Where
it cannot be built (no C compiler, or numba without `numba.pycc`) the day runs under numba's
just-in-time compiler instead: the same machine code, the same numbers.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Callable, Optional

from pcnsim.errors import ScenarioError

ENGINES = ("compiled", "per-pcn", "python")


def engine() -> str:
    """The engine PCNSIM_ENGINE names (read when a simulation is built, so tests can switch it)."""
    name = os.environ.get("PCNSIM_ENGINE", "compiled")
    if name not in ENGINES:
        raise ScenarioError(f"environment variable PCNSIM_ENGINE = {name!r}: expected one of "
                            f"{', '.join(ENGINES)}, or unset for 'compiled' (docs/performance.md); nothing was run.")
    return name


def compiled_day_cached() -> bool:
    """Whether the compiled day for this source is built, so that no process compiles it: the
    ahead-of-time module, or (where that could not be built) numba's just-in-time cache."""
    ahead = ahead_of_time_path()
    if ahead.exists():
        return True
    return ahead.with_suffix(".failed").exists() and _jit_cached()


def _jit_cached() -> bool:
    """Whether numba's just-in-time cache holds the compiled day, read from the cache's index file
    names (`daybook.serve-<line>.py<version>.nbi`) without importing numba: in `NUMBA_CACHE_DIR`
    if set, else next to the source or in the user's cache."""
    source = Path(__file__).with_name("daybook.py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    line = next((min([n.lineno, *(d.lineno for d in n.decorator_list)]) for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name == "serve"), None)
    if line is None:
        return False
    index = f"daybook.serve-{line}.py{sys.version_info.major}{sys.version_info.minor}.nbi"
    root = os.environ.get("NUMBA_CACHE_DIR")
    places = [Path(root)] if root else [source.parent / "__pycache__", Path.home() / ".cache" / "numba"]
    return any(place.is_dir() and next(place.rglob(index), None) is not None for place in places)


# --------------------------------------------------------------------------- the day built ahead of time
_SERVE: Optional[Callable] = None          # the loaded `serve`, once per process


def cache_dir() -> Path:
    """Where the compiled day is kept: `NUMBA_CACHE_DIR` if set, else next to the source if it
    can be written, else the user's cache (as numba chooses for its own cache)."""
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        return Path(root)
    here = Path(__file__).parent / "__pycache__"
    if os.access(here if here.exists() else here.parent, os.W_OK):
        return here
    return Path.home() / ".cache" / "pcnsim"


def ahead_of_time_path() -> Path:
    """The extension module for this source of the day and this Python, numpy and numba."""
    import numpy
    key = hashlib.sha256()
    key.update(Path(__file__).with_name("daybook.py").read_bytes())
    key.update(f"{sys.version}|{numpy.__version__}|{_numba_version()}".encode())
    return cache_dir() / f"pcnsim_daybook_{key.hexdigest()[:16]}{sysconfig.get_config_var('EXT_SUFFIX')}"


def _numba_version() -> str:
    """numba's version as its `_version.py` records it, read without importing numba (or scanning
    the installed distributions' metadata, which takes 50 ms)."""
    spec = importlib.util.find_spec("numba")
    if spec is None or not spec.origin:
        return "none"
    version = Path(spec.origin).with_name("_version.py")
    return version.read_text(encoding="utf-8") if version.exists() else spec.origin


def serve() -> Callable:
    """`daybook.serve` as this process calls it: the module built ahead of time (built now, once per
    machine, if it is missing), else numba's just-in-time dispatcher."""
    global _SERVE
    if _SERVE is None:
        _SERVE = _ahead_of_time() or _just_in_time()
    return _SERVE


def _just_in_time() -> Callable:
    from pcnsim.model import daybook
    return daybook.serve


def _ahead_of_time() -> Optional[Callable]:
    """The built module's `serve`, building it first if need be; None where it cannot be had (the
    cache cannot be written, the build failed, or the file does not load), for the JIT day."""
    path = ahead_of_time_path()
    failed = path.with_suffix(".failed")
    try:
        if not path.exists() and not failed.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(path.with_suffix(".lock")):          # one process builds; the others wait for it
                if not path.exists() and not failed.exists():
                    _build(path, failed)
        if not path.exists():
            return None
        name = path.name.split(".", 1)[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.serve
    except (OSError, ImportError):
        return None


@contextlib.contextmanager
def _locked(lock: Path):
    import fcntl
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build(path: Path, failed: Path) -> None:
    """Build the module in a child process (numba is imported there, not here), into a temporary
    folder, then move it into place; a failed build leaves `<name>.failed` with the reason, so
    that later processes go straight to the just-in-time day."""
    import tempfile
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".build-") as tmp:
        name = path.name.split(".", 1)[0]
        code = f"from pcnsim.model.engine import build_ahead_of_time; build_ahead_of_time({tmp!r}, {name!r})"
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        built = Path(tmp) / path.name
        if done.returncode == 0 and built.exists():
            os.replace(built, path)
        else:
            reason = (done.stderr or done.stdout or f"exit status {done.returncode}").strip().splitlines()[-20:]
            failed.write_text("\n".join(reason) + "\n", encoding="utf-8")


def build_ahead_of_time(folder: str, name: str) -> None:
    """Compile `daybook.serve` with numba's AOT compiler (`numba.pycc`) into `folder/name<suffix>`.

    The day's functions are imported without their eager just-in-time compilation (their explicit
    signatures set aside), so that only the AOT compiler works; `serve` is exported with its own
    signature, and the functions it calls are compiled into it for the types it passes.
    """
    import warnings

    import numba
    warnings.simplefilter("ignore")                 # numba.pycc's pending deprecation
    from numba.pycc import CC
    signatures: dict[str, str] = {}
    eager = numba.njit

    def lazy(signature=None, **options):
        def decorate(function):
            signatures[function.__name__] = signature
            return eager(**options)(function)
        return decorate

    numba.njit = lazy
    try:
        from pcnsim.model import daybook
    finally:
        numba.njit = eager
    cc = CC(name)
    cc.output_dir = folder
    cc.verbose = False
    cc.export("serve", signatures["serve"])(daybook.serve.py_func)
    cc.compile()
