"""The `pcnsim` command line: thin wrappers over the library, one function per verb.

Every `PcnsimError` becomes a one-paragraph message on stderr and its exit status
(2 for bad input); no traceback reaches the user.
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


# ---- verbs are added below, one block each -------------------------------------------------
