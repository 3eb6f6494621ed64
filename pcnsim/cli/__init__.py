"""The `pcnsim` command line: thin wrappers over the library, one function per verb.

Every `PcnsimError` becomes a one-paragraph message on stderr and its exit status
(2 for bad input); no traceback reaches the user.

This module holds the group (`main`, the console script `pcnsim.cli:main`) and adds to it the
verbs, each a click command in a module of the package, by job:

- `scenario_commands`: `validate`, `params`, `scenarios`, `metrics`;
- `build_command`: `build`, a scenario from NHS Digital's published CSVs;
- `run_command`: `run` (one scenario or a folder of them), with `terminal` (the progress
  bar, the messages, SIGTERM as Ctrl-C, and `friendly_errors`, shared by every verb);
- `report_commands`: `report` and `compare`;
- `calibrate_command`: `calibrate`, a scenario fitted to its `calibration:` targets;
- `verify_command`: `verify`;
- `app_command`: `app`, the live workshop page.

Each verb's function is re-exported here under its old name (`run_cmd`, `verify`...).
"""
from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

import click

from pcnsim._version import __version__


def exit_now(code: object) -> None:
    """End the process with exit status `code` without tearing down its modules.

    Python's own exit frees every object of every module one by one: after a run (numba,
    scipy, pandas, pyarrow loaded) that takes 0.4-0.5 s and decides nothing. Here the atexit
    handlers still run (logging flushed, worker processes ended, temporary files removed) and
    stdout and stderr are flushed; then `os._exit`. Returns (the normal exit follows) while a
    thread other than the main one is alive, so no thread's work is cut short, and under a
    profiler or debugger (`python -m cProfile -o F -m pcnsim ...` writes F after the command).
    """
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        return
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:   # sys.exit("message"): Python prints it and exits with 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):   # a closed pipe (`pcnsim run ... | head`): as Python does
            status = status or 120
    os._exit(status & 0xFF)   # as the system reports sys.exit(status)


#: The command's collector thresholds: Python's first generation is collected every 700 new
#: objects, so loading numba, scipy and pandas (a million objects that all live to the end)
#: triggers some 400 collections, 0.15 to 0.25 s of a baseline run; every 10,000, 30 do.
GC_THRESHOLD = (10_000, 10, 10)


class _Command(click.Group):
    """The `pcnsim` group; run from the command line (no `args`), it sets `GC_THRESHOLD` and
    exits through `exit_now`. Called by code (CliRunner, a script), it changes neither."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is not None or not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        gc.set_threshold(*GC_THRESHOLD)
        try:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        except SystemExit as done:
            exit_now(done.code)
            raise


@click.group(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pcnsim")
def main() -> None:
    """pcnsim: capacity and leadership time in NHS England primary care networks.

    Run `pcnsim run baseline` to simulate the England-baseline PCN; `pcnsim scenarios`
    lists the bundled scenarios and `pcnsim params` every parameter with its source.
    """


# The verbs, each a click command of its module, added to `main` here: the verb modules do not
# import this package, so the command line has no import cycle (pyproject.toml's contracts).
from pcnsim.cli.app_command import app_cmd  # noqa: E402
from pcnsim.cli.build_command import build_cmd  # noqa: E402
from pcnsim.cli.calibrate_command import calibrate_cmd  # noqa: E402
from pcnsim.cli.report_commands import compare_cmd, report_cmd  # noqa: E402
from pcnsim.cli.run_command import run_cmd  # noqa: E402
from pcnsim.cli.scenario_commands import metrics_cmd, params, scenarios, validate  # noqa: E402
from pcnsim.cli.terminal import friendly_errors  # noqa: E402
from pcnsim.cli.verify_command import verify  # noqa: E402

for _verb in (validate, params, scenarios, metrics_cmd, build_cmd, run_cmd, report_cmd, compare_cmd, calibrate_cmd,
              verify, app_cmd):
    main.add_command(_verb)

__all__ = ["app_cmd", "build_cmd", "calibrate_cmd", "compare_cmd", "friendly_errors", "main", "metrics_cmd", "params",
           "report_cmd", "run_cmd",
           "scenarios", "validate", "verify"]
