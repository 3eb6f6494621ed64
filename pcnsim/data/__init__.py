"""Published data in, scenarios out: readers for NHS Digital's open CSVs (`readers`), the
calibration targets GPAD gives and a simulated PCN written in GPAD's layout (`targets`), and
`pcnsim build`'s scenarios (`build`). Reads files; never runs the model (docs/data.md)."""
from __future__ import annotations

from pcnsim.data.build import Built, DataFiles, build_england, build_pcn, find_files
from pcnsim.data.readers import (LEAD_BINS, DataFileError, read_gpad, read_patients, read_pcn_workforce,
                                 read_workforce)
from pcnsim.data.targets import gpad_targets, write_gpad_like

__all__ = ["Built", "DataFileError", "DataFiles", "LEAD_BINS", "build_england", "build_pcn", "find_files",
           "gpad_targets", "read_gpad", "read_patients", "read_pcn_workforce", "read_workforce",
           "write_gpad_like"]
