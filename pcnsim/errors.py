"""Errors users see as one clear paragraph (never a traceback)."""


class PcnsimError(Exception):
    """Base of every error pcnsim reports to the user; `exit_code` is the CLI's exit status."""

    exit_code = 1


class ScenarioError(PcnsimError):
    """Bad input: a scenario file, a dotted key, an override or an option (exit status 2)."""

    exit_code = 2


class RunFolderError(PcnsimError):
    """A run folder that cannot be written, resumed or read (exit status 2)."""

    exit_code = 2


class ClusterError(PcnsimError):
    """The cluster (or the local worker processes) stopped serving the run: the scheduler was
    lost, no worker joined, or every worker left. Finished cells are kept (exit status 1)."""

    exit_code = 1


class ModelMismatchError(PcnsimError):
    """A worker computed a cell with model code other than the run's (exit status 2)."""

    exit_code = 2
