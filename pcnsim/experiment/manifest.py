"""What a run folder's manifest.json records about where its numbers came from.

Versions of Python and the packages, the git commit, a fingerprint of the model's sources,
the seeds scheme; and the checks that refuse to resume a run with other code or another scenario.
"""
from __future__ import annotations

import datetime as _dt
import email
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from pcnsim._version import __version__
from pcnsim.config import Scenario
from pcnsim.errors import RunFolderError, ScenarioError

MANIFEST_VERSION = 1
_PACKAGES = ("simpy", "numpy", "pandas", "pyarrow", "scipy", "SALib", "pydantic", "click", "tqdm",
             "PyYAML", "dask", "distributed")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent   # pcnsim/


def now() -> str:
    """The local time with its offset, to the second (ISO 8601)."""
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def base_manifest(scenario: Scenario, source_path: Any, keys: Sequence[str], n_points: int,
                  targets: Mapping[str, float], max_reps: int, fingerprint: str | None = None) -> dict[str, Any]:
    """The manifest a new run starts with: provenance, the resolved scenario, the seeds scheme.
    `fingerprint`: the model fingerprint the run already computed (else computed here)."""
    from pcnsim import model

    seed = scenario.run.seed
    return {
        "manifest_version": MANIFEST_VERSION,
        "pcnsim_version": __version__,
        **git_commit(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": versions(),
        "model_fingerprint": fingerprint or model_fingerprint(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "name": scenario.name,
        "source_path": str(source_path) if source_path is not None else None,
        "scenario": scenario.model_dump(mode="json"),
        "sweep_kind": scenario.sweep.kind if scenario.sweep is not None else None,
        "swept_keys": list(keys),
        "points": n_points,
        "seed": seed,
        "seeds": {
            "scheme": model.STREAM_SCHEME,
            "entropy": seed,
            "spawn_key": model.STREAM_SPAWN_KEY,
            "stream_names": model.STREAM_NAME_PATTERN,
            "processes": list(model.STREAM_PROCESSES),
            "design_seed": seed if scenario.sweep is not None and scenario.sweep.kind in ("lhs", "sobol") else None,
        },
        "warmup_weeks": scenario.run.warmup_weeks,
        "horizon_weeks": scenario.run.horizon_weeks,
        "replications": scenario.run.replications,
        "replications_requested": scenario.run.replications,
        "target_halfwidth": dict(targets) or None,
        "max_replications": max_reps if targets else None,
    }


def git_commit() -> dict[str, Any]:
    """{"git_commit": hash or None, "git_dirty": bool or None} of the source tree, read only."""
    none = {"git_commit": None, "git_dirty": None}
    root = _PACKAGE_ROOT.parent
    if not (root / ".git").exists():
        return none
    started: list[subprocess.Popen] = []
    try:   # the two questions asked at once: a run starts 10 ms sooner
        for args, out in ((["rev-parse", "HEAD"], subprocess.PIPE), (["diff-index", "--quiet", "HEAD", "--"],
                                                                     subprocess.DEVNULL)):
            started.append(subprocess.Popen(["git", "-C", str(root), *args], stdout=out, stderr=subprocess.DEVNULL,
                                            text=True))
        head, _ = started[0].communicate(timeout=5)
        started[1].wait(timeout=5)
        if started[0].returncode != 0:
            return none
        return {"git_commit": head.strip(), "git_dirty": started[1].returncode != 0}
    except (OSError, subprocess.SubprocessError):
        return none
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _hash_sources(digest, name: str) -> None:
    """Feed `pcnsim/<name>/` to the digest (every .py file: its relative path, then its bytes, sorted
    by path), or the module `pcnsim/<name>.py` where there is no package."""
    package = _PACKAGE_ROOT / name
    if package.is_dir():
        for path in sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix()):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
        return
    module = _PACKAGE_ROOT / f"{name}.py"
    if module.is_file():
        digest.update(module.read_bytes())


def model_fingerprint() -> str:
    """sha256 of the sources that decide a cell's numbers: the model, the schema, the loader.

    These are the packages `pcnsim/model/`, `pcnsim/config/` and `pcnsim/scenario/`, in that
    order, each as every .py file (its relative path, then its bytes, sorted by path), or the
    module (`pcnsim/model.py`...) where there is no package. A resume compares the fingerprint
    with the manifest's, so that one run never mixes cells computed by two versions of the
    model (after a `git pull`, say)."""
    digest = hashlib.sha256()
    for name in ("model", "config", "scenario"):
        _hash_sources(digest, name)
    return digest.hexdigest()


def scenario_fingerprint(scenario: Mapping[str, Any]) -> str:
    """sha256 of the resolved scenario (`Scenario.model_dump(mode="json")`, keys sorted).

    Recorded in the manifest (`scenario_fingerprint`) and in every cell file, so that a resume
    or the final combining refuses a cell computed for another scenario (two runs into one
    folder) instead of mixing it into the results."""
    text = json.dumps(scenario, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str | None]:
    """The installed version of each package a run depends on (None if absent)."""
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = _version(importlib.metadata.distribution(name))
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _version(dist: importlib.metadata.Distribution) -> str | None:
    """`dist.version`, from the metadata's header block alone: `Distribution.version` parses the
    whole file, long description included (a run's twelve packages: 5.5 ms, against 3 ms)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    if text is None:
        return dist.version
    head, blank, _ = text.partition("\n\n")   # the headers end at the first empty line
    return email.message_from_string(head + blank)["Version"]


def check_same_code(folder: Path, manifest: Mapping[str, Any], design: str | None,
                    allow_unverified: bool = False) -> None:
    """Refuse to resume a run started by other model code (or, for lhs/sobol, another scipy/SALib),
    or by an older pcnsim that recorded no model fingerprint unless `allow_unverified`."""
    stored = manifest.get("model_fingerprint")
    if stored is None and not allow_unverified:
        raise RunFolderError(
            f"--resume: the run in '{folder}' records no model fingerprint (it was started by an older "
            f"pcnsim, {manifest.get('pcnsim_version', 'version unknown')}), so whether its finished cells "
            "came from the same model code cannot be checked, and cells computed differently could be "
            "mixed. Start a new run, or, if you know the model has not changed since, resume with "
            "--allow-unverified-model.")
    if stored is not None and stored != model_fingerprint():
        raise RunFolderError(
            f"--resume: the run in '{folder}' was started by a different version of pcnsim's model "
            f"(pcnsim {manifest.get('pcnsim_version', '?')}, commit {manifest.get('git_commit') or '?'}; "
            f"model fingerprint {stored[:12]}, this one {model_fingerprint()[:12]}). Its finished cells "
            "would be mixed with cells computed differently: finish it with the version that started it, "
            "or start a new run.")
    if design in ("lhs", "sobol"):
        now_installed = versions()
        for package in ("scipy", "SALib"):
            was = (manifest.get("packages") or {}).get(package)
            if was is not None and was != now_installed.get(package):
                raise RunFolderError(
                    f"--resume: the run in '{folder}' drew its {design} design with {package} {was}, and "
                    f"{package} {now_installed.get(package)} is installed here: the design's points could differ. "
                    f"Finish it with {package} {was}, or start a new run.")


def check_same_scenario(folder: Path, stored: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse to resume a run with a scenario other than the one it started with, naming the differences."""
    if stored == given:
        return
    a, b = _flatten(stored), _flatten(given)
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k, "(absent)") != b.get(k, "(absent)")]
    shown = "; ".join(f"{k}: folder has {json.dumps(a.get(k, '(absent)'))}, given "
                      f"{json.dumps(b.get(k, '(absent)'))}" for k in diff[:6])
    more = f" (and {len(diff) - 6} more)" if len(diff) > 6 else ""
    raise ScenarioError(f"--resume: the scenario differs from the one the run in '{folder}' started with "
                        f"({shown}{more}). Resume with the same file and options (or without FILE, to use "
                        "the folder's own scenario), or start a new run.")


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): data}
