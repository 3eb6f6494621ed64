#!/usr/bin/env python
"""Thin entry point: `python run_sim.py ...` is `pcnsim ...`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcnsim.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
