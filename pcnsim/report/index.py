"""index.html of a scenario pack (`pcnsim run scenarios/workshop/`): each scenario under its
question, linking its report. One self-contained page, no scripts, no web addresses; the
links are relative, so the whole pack folder can be copied or zipped and opened offline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

from pcnsim.experiment.folder import write_text_atomic
from pcnsim.report.tables import esc

__all__ = ["PackEntry", "render_index", "write_index"]


@dataclass
class PackEntry:
    """One scenario of a pack: its file, name, question, description and run folder (None if
    it did not run) and a note (why it did not, or that a cell failed)."""

    source: str
    name: str
    question: str
    description: str
    folder: Optional[Path]
    note: str = ""


def render_index(title: str, entries: list[PackEntry], base: Path) -> str:
    """The index page as a string; links are relative to `base` (the pack folder)."""
    from pcnsim.report.page import PAGE_CSS

    items = []
    for i, e in enumerate(entries, 1):
        report = e.folder / "report.html" if e.folder is not None else None
        if report is not None and report.exists():
            href = report.relative_to(base).as_posix() if report.is_relative_to(base) else report.as_posix()
            link = f"<a href=\"{esc(href)}\">Open the report of {esc(e.name)}</a>"
        else:
            link = "<span class=flag>no report</span>"
        note = f"<p class=note>{esc(e.note)}</p>" if e.note else ""
        items.append(f"<section><h2>{i}. {esc(e.question or e.name)}</h2>\n<p>{esc(e.description)}</p>\n"
                     f"<p>{link} <small>({esc(e.source)})</small></p>{note}</section>")
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}: pcnsim</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<header>
<p class=meta>pcnsim scenario pack</p>
<h1>{esc(title)}</h1>
<p class=lede>{len(entries)} scenarios, each under the question it answers. Each report opens offline;
compare two of them with <code>pcnsim compare A B</code>.</p>
</header>
<main>
{''.join(items)}
</main>
<footer><p class=meta>Written by pcnsim on {esc(datetime.now().strftime('%Y-%m-%d %H:%M'))}.</p></footer>
</body>
</html>
"""


def write_index(folder: Path, title: str, entries: list[PackEntry]) -> Path:
    """Write `<folder>/index.html` (atomically); return its path."""
    path = Path(folder) / "index.html"
    write_text_atomic(path, render_index(title, entries, Path(folder)))
    return path
