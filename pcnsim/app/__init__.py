"""The live workshop page (`pcnsim app`): controls for the main levers, the model rerun in seconds.

- `logic`: the page's decisions without Streamlit (controls -> scenario -> run or cached run ->
  the report's sentences); tested directly;
- `page.py`: the Streamlit script that draws the page (`streamlit run` runs it as a file);
- `PAGE`: its path, for `pcnsim app` and Streamlit's `AppTest`.

Needs the optional `[app]` dependencies (`pip install "pcnsim[app]"`). How to use it: docs/app.md.
"""
from __future__ import annotations

from pathlib import Path

#: The Streamlit script of the page.
PAGE = Path(__file__).resolve().parent / "page.py"

__all__ = ["PAGE"]
