"""Imported once by the fork server that local worker processes are forked from (Linux;
`executors.LocalPool`): the model and the compiled day load there, so every worker forked from
it starts with them loaded instead of importing them itself."""
from __future__ import annotations

from pcnsim.experiment.executors import load_model

load_model()
