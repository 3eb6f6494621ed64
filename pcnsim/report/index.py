"""index.html of a scenario pack (`pcnsim run scenarios/workshop/`): each scenario under its
question with its one-sentence answer (a what-if: against the pack's baseline, with the paired
differences of its focus metrics and their 95% intervals), linking its report. One self-contained page, no scripts, no web addresses; the
links are relative, so the whole pack folder can be copied or zipped and opened offline."""
from __future__ import annotations

from dataclasses import dataclass, field
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
    #: its answer in a sentence (a baseline or a scenario not compared), and its comparisons with
    #: the pack's baseline (`pcnsim.report.pack.Against`), each with its paired differences
    answer: list[str] = field(default_factory=list)
    against: list = field(default_factory=list)


def render_index(title: str, entries: list[PackEntry], base: Path) -> str:
    """The index page as a string (`templates/index.html.j2`); links are relative to `base`
    (the pack folder)."""
    shown = []
    for e in entries:
        report = e.folder / "report.html" if e.folder is not None else None
        href = ""
        if report is not None and report.exists():
            href = report.relative_to(base).as_posix() if report.is_relative_to(base) else report.as_posix()
        against = []
        for a in e.against:
            compare = ""
            if e.folder is not None and (e.folder / a.href).exists():
                page = e.folder / a.href
                compare = page.relative_to(base).as_posix() if page.is_relative_to(base) else page.as_posix()
            against.append({**vars(a), "compare": compare})
        shown.append({"heading": e.question or e.name, "name": e.name, "description": e.description,
                      "source": e.source, "note": e.note, "href": href, "answer": list(e.answer),
                      "against": against})
    room = (base / "room.html").exists() or any(e.against or e.answer for e in entries)
    return render("index.html.j2", title=title, entries=shown, room=room,
                  written=datetime.now().strftime("%Y-%m-%d %H:%M"))


def write_index(folder: Path, title: str, entries: list[PackEntry]) -> Path:
    """Write `<folder>/index.html` (atomically); return its path."""
    path = Path(folder) / "index.html"
    write_text_atomic(path, render_index(title, entries, Path(folder)))
    return path
