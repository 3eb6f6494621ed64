"""Random streams: one per stochastic process of each PCN, spawned from the run's root seed."""
from __future__ import annotations

import hashlib

import numpy as np

from pcnsim.config import DEFAULT_ICS_NAME, Scenario

#: The stochastic processes of a PCN, each with its own stream named `pcn{i}/{process}`.
STREAM_PROCESSES = ("demand", "demand/leads", "booking", "arrs", "arrs_recruitment", "clinical_director",
                    "cd_recruitment", "meetings",
                    "cd_commitment", "tasks/operations", "tasks/development", "tasks/system",
                    "tasks/access",
                    # leadership v3, part A: the claimants on the CD's protected time (claims.py)
                    "claims/system", "claims/practices", "claims/arrs")
STREAM_NAME_PATTERN = "pcn{i}/{process}, prefixed by '{ics.name}/' when ics.name is not the default 'ICS'"
#: How `stream` seeds, in words, for the run manifest.
STREAM_SCHEME = ("one numpy.random.Generator(PCG64) per stochastic process: SeedSequence(entropy=run.seed, "
                 "spawn_key=(replication, w0, w1, w2, w3)), w0..w3 the first 16 bytes of sha256(stream name) "
                 "as big-endian 32-bit words (pcnsim.model.stream); replication r uses the same streams at "
                 "every sweep point (common random numbers)")
STREAM_SPAWN_KEY = "(replication, *sha256(stream name)[:16] as 4 x uint32 big-endian)"


def stream(scenario: Scenario, replication: int, name: str) -> np.random.Generator:
    """The random stream of one stochastic process, spawned from the run's root seed.

    The spawn key is (replication, four 32-bit words of sha256(name)): the same replication sees
    the same numbers at every sweep point, and adding or changing one process never reshuffles
    another's draws (128 bits of the name: no two of England's ~10,000 streams can collide).
    """
    digest = hashlib.sha256(name.encode()).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "big") for i in range(0, 16, 4))
    seq = np.random.SeedSequence(entropy=scenario.run.seed, spawn_key=(replication, *words))
    return np.random.Generator(np.random.PCG64(seq))


def pcn_stream(scenario: Scenario, replication: int, index: int, process: str) -> np.random.Generator:
    """The stream of one process of PCN `index` (STREAM_NAME_PATTERN).

    A named ICS labels its PCNs' streams, so that the PCNs of different ICSs (the points of
    scenarios/england.yaml) draw independent numbers; sweeps that keep one name keep common
    random numbers, and the default unnamed ICS keeps the plain `pcnK/...` streams.
    """
    assert process in STREAM_PROCESSES, process     # the manifest lists them
    label = "" if scenario.ics.name == DEFAULT_ICS_NAME else f"{scenario.ics.name}/"
    return stream(scenario, replication, f"{label}pcn{index}/{process}")
