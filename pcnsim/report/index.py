"""index.html of a scenario pack (`pcnsim run scenarios/workshop/`): each scenario under its
question, linking its report. One self-contained page, no scripts, no web addresses; the
links are relative, so the whole pack folder can be copied or zipped and opened offline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

from pcnsim.experiment.folder import write_text_atomic
from pcnsim.report.rendering import render

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
    """The index page as a string (`templates/index.html.j2`); links are relative to `base`
    (the pack folder)."""
    shown = []
    for e in entries:
        report = e.folder / "report.html" if e.folder is not None else None
        href = ""
        if report is not None and report.exists():
            href = report.relative_to(base).as_posix() if report.is_relative_to(base) else report.as_posix()
        shown.append({"heading": e.question or e.name, "name": e.name, "description": e.description,
                      "source": e.source, "note": e.note, "href": href})
    return render("index.html.j2", title=title, entries=shown, written=datetime.now().strftime("%Y-%m-%d %H:%M"))


def write_index(folder: Path, title: str, entries: list[PackEntry]) -> Path:
    """Write `<folder>/index.html` (atomically); return its path."""
    path = Path(folder) / "index.html"
    write_text_atomic(path, render_index(title, entries, Path(folder)))
    return path
