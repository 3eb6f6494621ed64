"""The HTML pages from Jinja2 templates: one environment that escapes every value it prints.

The templates are `pcnsim/report/templates/*.html.j2` (package data, shipped in the wheel):
`base` (the page's head, style sheet and footer), `report`, `compare`, `index`, and `parts`
(macros for the figures and the tables of the report). The modules that write pages build
plain data (text, numbers, lists of rows) and hand it to `render`; the templates lay it out.

Every `{{ value }}` is HTML-escaped (autoescape), so text from a scenario, a `--set` value or a
file name cannot become markup; a value the template does not receive is an error, not an
empty string (`StrictUndefined`). `finalize` also takes the scheme off any web address in a
value ("https://example.org" prints as "example.org"), so a page never references anything
online and opens offline as it is. No value is marked safe (`Markup`): the figures are
base64 text in a data URI, which escaping leaves as it is.
"""
from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

__all__ = ["render", "embedded_figure", "offline_text"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_URL = re.compile(r"\b(?:https?|ftp)://", re.IGNORECASE)


def offline_text(value: Any) -> Any:
    """A value as a page prints it: text loses the scheme of any web address; markup the
    templates produced (a macro's output) passes as it is."""
    if value is None or isinstance(value, Markup):
        return value
    return _URL.sub("", str(value))


@functools.cache
def _environment() -> Environment:
    """The one environment, built on first use (the command line never imports Jinja2 unless
    it writes a page)."""
    return Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       finalize=offline_text, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render(template: str, **context: Any) -> str:
    """A page of `templates/` rendered with `context` (a whole, self-contained HTML document)."""
    return _environment().get_template(template).render(**context)


def embedded_figure(path: Path, title: str, caption: str) -> dict[str, str]:
    """A PNG for the `figure` macro: its bytes as base64 (a data URI, so the page needs no other
    file), its title with a closing full stop, and its caption."""
    return {"data": base64.b64encode(Path(path).read_bytes()).decode("ascii"), "title": title,
            "stop": "" if title.endswith((".", "?", "!")) else ".", "caption": caption}
