"""The documentation stands alone and matches the code.

- Nothing in the package, the tests, the docs, the bundled scenarios or the README names the
  project's spec files, which live outside the repository (their names are built below, so
  this file does not name them either).
- Every relative link in README.md and docs/*.md points to a file that exists, and a link's
  anchor (`file.md#heading`) to a heading of that file.
- docs/architecture.md's module tables list exactly the modules of each package on disk.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pcnsim"
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"

#: Files outside the repository that nothing in it may point to.
OUTSIDE = ("MODEL" + ".md", "INTERFACE" + ".md", "../" + "shared")
SEARCHED = ("pcnsim", "docs", "tests", "scenarios", "benchmarks", "README.md", "CHANGELOG.md")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".txt", ".toml", ".json", ".html", ".css", ".j2", ".jinja"}


def _text_files():
    for name in SEARCHED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts:
                    yield p


def test_nothing_points_to_files_outside_the_repository():
    found = []
    for path in _text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            for name in OUTSIDE:
                if name in line:
                    found.append(f"{path.relative_to(ROOT)}:{n}: {name}")
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


# --------------------------------------------------------------------------- links
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`]*`", "", _prose_keep_code(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a markdown file's headings (duplicates numbered as GitHub does)."""
    seen: dict[str, int] = {}
    out = set()
    for line in _prose_keep_code(path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = slug(m.group(1))
        k = seen.get(s, 0)
        out.add(s if k == 0 else f"{s}-{k}")
        seen[s] = k + 1
    return out


def _markdown_files():
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "benchmarks" / "results" / "HISTORY.md",
            *sorted(DOCS.glob("*.md"))]


def test_slug_is_githubs():
    assert slug("7.1 England as it is: national totals beside published figures") == \
        "71-england-as-it-is-national-totals-beside-published-figures"
    assert slug("`report:`: the question and its answer") == "report-the-question-and-its-answer"
    assert slug("National totals (`pcnsim run england`)") == "national-totals-pcnsim-run-england"
    assert slug("Start-up and the compiled day") == "start-up-and-the-compiled-day"


@pytest.mark.parametrize("doc", [p for p in _markdown_files() if p.exists()], ids=lambda p: p.name)
def test_every_relative_link_points_to_a_file_and_heading_that_exist(doc):
    broken = []
    for m in LINK.finditer(_prose(doc.read_text(encoding="utf-8"))):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):       # https:, mailto: ...: not ours to check
            continue
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading '{anchor}' in {path.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}:\n" + "\n".join(broken)


# --------------------------------------------------------------------------- architecture
def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of each `## ` section."""
    parts = re.split(r"^## +(.*)$", _prose_keep_code(text), flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def _prose_keep_code(text: str) -> str:
    """The text without fenced code blocks (inline code kept: the tables name modules in it)."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            out.append(line)
    return "\n".join(out)


def module_tables(text: str) -> dict[str, set[str]]:
    """{package folder: the modules its table lists} for every table whose first column is
    `module`; the package is the last `pcnsim/<name>/` named before it in its section. A module is
    `name.py`, or `name/` for a subpackage, written in backticks in the first column."""
    tables: dict[str, set[str]] = {}
    for heading, body in _sections(text):
        lines = body.splitlines()
        for i, line in enumerate(lines):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not (line.lstrip().startswith("|") and cells and cells[0] == "module"):
                continue
            named = re.findall(r"pcnsim/(\w+)/", "\n".join(lines[:i]))
            assert named, f"architecture.md, section '{heading}': no pcnsim/<package>/ named before a module table"
            listed = tables.setdefault(named[-1], set())
            for row in lines[i + 2:]:
                if not row.lstrip().startswith("|"):
                    break
                first = row.strip().strip("|").split("|")[0]
                listed.update(re.findall(r"`(\w+\.py|\w+/)`", first))
    return tables


def modules_on_disk(package: Path) -> set[str]:
    """The package's modules (`__init__.py` aside) and subpackages (`name/`)."""
    found = {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    found |= {f"{p.name}/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return found


def test_architecture_lists_exactly_the_modules_of_each_package():
    tables = module_tables(ARCHITECTURE.read_text(encoding="utf-8"))
    packages = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    problems = []
    for name in packages:
        if name not in tables:
            problems.append(f"pcnsim/{name}/ has no module table")
            continue
        on_disk, listed = modules_on_disk(PACKAGE / name), tables[name]
        if on_disk - listed:
            problems.append(f"pcnsim/{name}/: not in the table: {sorted(on_disk - listed)}")
        if listed - on_disk:
            problems.append(f"pcnsim/{name}/: in the table, not on disk: {sorted(listed - on_disk)}")
    for name in sorted(set(tables) - set(packages)):
        problems.append(f"a module table for pcnsim/{name}/, which is not a package")
    assert not problems, "docs/architecture.md and the code differ:\n" + "\n".join(problems)


def test_the_module_table_reader_sees_a_missing_and_an_extra_module():
    text = ("## The config package\n\n`pcnsim/config/` holds them.\n\n| module | job |\n| --- | --- |\n"
            "| `base.py` | units |\n| `gone.py`, `figures/` | old |\n\nAfter the table: `later.py`.\n")
    assert module_tables(text) == {"config": {"base.py", "gone.py", "figures/"}}


def test_interface_lists_every_metric_of_the_catalogue():
    from pcnsim import metrics

    listed = set(re.findall(r"^\| `(\w+)` \|", (DOCS / "interface.md").read_text(encoding="utf-8"), flags=re.M))
    assert set(metrics.CATALOGUE) <= listed, sorted(set(metrics.CATALOGUE) - listed)
