"""The `pcnsim` command line: thin wrappers over the library, one function per verb.

Every `PcnsimError` becomes a one-paragraph message on stderr and its exit status
(2 for bad input); no traceback reaches the user.

This module holds the group (`main`, the console script `pcnsim.cli:main`) and the shared
`friendly_errors`; each verb is in a module of the package, by job:

- `scenario_commands`: `validate`, `params`, `scenarios`;
- `run_command`: `run` (one scenario or a folder of them), with `terminal` (the progress
  bar, the messages, SIGTERM as Ctrl-C);
- `report_commands`: `report` and `compare`;
- `verify_command`: `verify`;
- `app_command`: `app`, the live workshop page.

Each verb's function is re-exported here under its old name (`run_cmd`, `verify`...).
"""
from __future__ import annotations

import functools
import sys

import click

from pcnsim import __version__
from pcnsim.errors import PcnsimError


def friendly_errors(func):
    """Turn pcnsim's own errors into a message and an exit status."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PcnsimError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(err.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pcnsim")
def main() -> None:
    """pcnsim: capacity and leadership time in NHS England primary care networks.

    Run `pcnsim run baseline` to simulate the England-baseline PCN; `pcnsim scenarios`
    lists the bundled scenarios and `pcnsim params` every parameter with its source.
    """


# The verbs register themselves on `main` as their modules are imported.
from pcnsim.cli.app_command import app_cmd  # noqa: E402
from pcnsim.cli.report_commands import compare_cmd, report_cmd  # noqa: E402
from pcnsim.cli.run_command import run_cmd  # noqa: E402
from pcnsim.cli.scenario_commands import params, scenarios, validate  # noqa: E402
from pcnsim.cli.verify_command import verify  # noqa: E402

__all__ = ["app_cmd", "compare_cmd", "friendly_errors", "main", "params", "report_cmd", "run_cmd",
           "scenarios", "validate", "verify"]
