"""The terminal's side of a command: pcnsim's errors as one paragraph and an exit status
(`friendly_errors`); a run's progress bar and the library's messages (`Terminal`); SIGTERM
stopping a run as Ctrl-C does (`sigterm_as_interrupt`)."""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys

import click

from pcnsim.errors import PcnsimError


def friendly_errors(func):
    """Turn pcnsim's own errors into a message and an exit status; an `OSError` no layer
    expected (a path too long, a folder not readable) too, in one paragraph (exit status 2)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PcnsimError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(err.exit_code)
        except OSError as err:   # a path the system refuses (too long, no permission...): no traceback
            name = str(err.filename) if err.filename is not None else ""
            shown = name if len(name) <= 120 else f"{name[:60]}... ({len(name):,} characters)"
            reason = os.strerror(err.errno) if err.errno else str(err)
            click.echo(f"Error: {reason}" + (f": '{shown}'" if shown else "") + ". Check the paths given "
                       "(a file or folder name of at most 255 characters, in a folder you may read and write).",
                       err=True)
            sys.exit(2)

    return wrapper


class Terminal(logging.Handler):
    """The run's progress bar (tqdm on stderr) and its messages (`logging`), on the terminal.

    `progress` receives the library's `Progress` events; as a logging handler on the `pcnsim`
    logger it shows messages above the bar (INFO and up, or WARNING and up with --quiet)."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = None

    def progress(self, event) -> None:
        if event.closed:
            self.close_bar()
            return
        if self.bar is None:
            from tqdm.std import tqdm   # the terminal one: tqdm.auto adds asyncio (40 ms) for notebooks

            self.bar = tqdm(total=event.total, initial=event.done, desc=event.name, unit="cell",
                            file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
            return
        if self.bar.total != event.total:
            self.bar.total = event.total
            self.bar.refresh()
        if event.done > self.bar.n:
            if event.failed:
                self.bar.set_postfix(failed=event.failed, refresh=False)
            self.bar.update(event.done - self.bar.n)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            click.echo(text, err=True)

    @contextlib.contextmanager
    def attached(self, quiet: bool):
        """Show the `pcnsim` logger's messages while the block runs."""
        logger = logging.getLogger("pcnsim")
        self.setLevel(logging.WARNING if quiet else logging.INFO)
        logger.addHandler(self)
        level = logger.level
        logger.setLevel(min(level or logging.INFO, self.level))
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)
            self.close_bar()



class Terminated(list):
    """Whether SIGTERM arrived (truthy once it has)."""


@contextlib.contextmanager
def sigterm_as_interrupt(terminated: Terminated):
    """SIGTERM (a scheduler ending a job, `kill PID`) stops the run as Ctrl-C does: running cells
    finish, the manifest says `interrupted`, the worker processes end (exit status 143)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def handler(signum, frame):
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)
