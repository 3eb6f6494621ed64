"""Figures a room can read, and the workshop pack answered against its baseline.

The figure check (`pcnsim.report.figcheck`) measures every figure the report and compare draw:
no overlapping text, nothing outside the figure, no squashed panel, no large blank area. It
runs on a short real run of the workshop pack (every scenario, its comparisons with the
baseline) and on synthetic run folders shaped like the other bundled scenarios (sweeps of
every kind, a national run, a Sobol design), which would take minutes to run for real.
The room view is opened in headless Chromium at 1280x720: each question must fit one screen."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcnsim.report import figcheck, write_report
from tests.fake_runs import make_run_folder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """The workshop pack on a short horizon (30 weeks, 3 replications), every figure checked."""
    from pcnsim.cli import main

    out = tmp_path_factory.mktemp("pack") / "workshop"
    with figcheck.collecting() as checked:
        result = CliRunner().invoke(main, ["run", "workshop", "--set", "run.horizon_weeks=30", "--set",
                                           "run.warmup_weeks=4", "--replications", "3", "--jobs", "1",
                                           "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, list(checked), result.output


def _problems(checked):
    return {f"{c.path.parent.name}/{c.path.name}": c.problems for c in checked if c.problems}


def test_every_figure_of_the_workshop_pack_and_its_comparisons_is_readable(pack):
    out, checked, _ = pack
    names = {c.path.name for c in checked}
    assert {"focus.png", "delivery.png", "cd_hours.png", "compare.png"} <= names
    assert sum(c.path.name == "compare.png" for c in checked) == 5     # 3 what-ifs, the forum's 2 points
    assert _problems(checked) == {}


@pytest.mark.parametrize("sweep", [None, "grid1", "grid2", "categorical", "national", "england", "lhs", "sobol"])
def test_every_figure_of_each_kind_of_run_is_readable(tmp_path, sweep):
    folder = make_run_folder(tmp_path / "run", sweep=sweep)
    with figcheck.collecting() as checked:
        write_report(folder)
    assert checked and _problems(checked) == {}


def test_the_check_finds_overlapping_clipped_squashed_and_blank_figures():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title("A title that collides")
    ax.text(0.5, 1.02, "with this text", transform=ax.transAxes, ha="center")
    fig.text(0.9, 0.5, "far out past the right edge of the figure")
    problems = " ".join(figcheck.check_figure(fig).problems)
    assert "overlapping text" in problems and "outside the figure" in problems

    fig = Figure(figsize=(6, 8))
    tiny = fig.add_axes((0.1, 0.9, 0.3, 0.005))
    tiny.plot([0, 1], [0, 1])
    problems = " ".join(figcheck.check_figure(fig).problems)
    assert "px tall" in problems and "blank" in problems


def test_each_what_if_report_opens_with_its_difference_from_the_baseline(pack):
    out, _, output = pack
    assert "Against the baseline: In short" in output
    page = (out / "workshop-arrs-cut" / "report.html").read_text()
    assert page.index('id="against"') < page.index('id="question"')
    against = page[page.index('id="against"'):page.index('id="question"')]
    assert "Paired replication by replication" in against and "95% CI" in against
    assert (out / "workshop-arrs-cut" / "against-baseline" / "compare.html").exists()
    assert 'id="against"' not in (out / "workshop-baseline" / "report.html").read_text()
    forum = (out / "workshop-forum" / "report.html").read_text()
    assert forum.count("<h3>") >= 2 and (out / "workshop-forum" / "against-baseline" / "point-1").is_dir()


def test_the_index_answers_each_question_with_its_paired_difference(pack):
    out, _, _ = pack
    page = (out / "index.html").read_text()
    sections = page.split("<section>")[1:]
    assert len(sections) == 5
    for section in sections[1:]:
        assert "In short" in section and "95% CI" in section and "replication" in section
    assert re.search(r"[Aa]ppointments delivered:? [\d,]+", sections[0])     # the baseline: its own answer
    assert 'href="room.html"' in page


def test_the_room_view_fits_each_question_on_a_1280x720_screen(pack, chromium):
    from playwright.sync_api import sync_playwright

    from tests.test_app_browser import CHROMIUM_ARGS

    out, _, _ = pack
    pages = [out / "room.html", out / "workshop-arrs-cut" / "room.html", out / "workshop-baseline" / "room.html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        for path in pages:
            page.goto(path.as_uri())
            slides = page.locator("section.slide")
            count = slides.count()
            assert count == (6 if path == out / "room.html" else 1)     # the forum: one screen per point
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            for i in range(count):
                slide = slides.nth(i)
                box = slide.bounding_box()
                assert box["height"] <= 720.5 and box["width"] <= 1280
                for part in slide.locator(".question, .answer, .figure img, .foot").all():
                    inner = part.bounding_box()
                    assert inner is not None and inner["y"] + inner["height"] <= box["y"] + box["height"] + 0.5, \
                        f"{path.name} screen {i + 1}: {part.evaluate('e => e.className || e.tagName')} overflows"
                img = slide.locator(".figure img")
                assert img.bounding_box()["height"] >= 250, f"{path.name} screen {i + 1}: the figure is too small"
                size = slide.locator(".answer").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
                assert size >= 20
        browser.close()
