"""report.html in a real browser: a tiny suite's report opened in headless
Chromium (Debian's, `make test` installs it; Playwright drives it, without
`playwright install`), screenshot taken, no console error, no request to
anywhere but the file itself, every image loaded.

Where no browser can be had, the browser test skips and says so loudly;
the checks that need no browser still run.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path

import pytest
from test_experiments import FAST_PLANNER
from test_suites import write_suite

from gtmgym.experiments.config import load_experiment
from gtmgym.experiments.html_report import markdown_to_html
from gtmgym.experiments.runner import run_experiment
from gtmgym.experiments.store import OutputError

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PER_SCENARIO = 5  # learning curves, final scores, money, customers, waterfall


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    agents = [
        {"agent": "planner", "hyperparameters": FAST_PLANNER},
        {"agent": "greedy"},
        {"agent": "random"},
    ]
    run_experiment(load_experiment(write_suite(folder, agents=agents)), folder / "out", jobs=1)
    return folder / "out"


def chromium() -> str | None:
    """A Chromium to drive: $GTMGYM_CHROMIUM, else the system's."""
    given = os.environ.get("GTMGYM_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def skip_loudly(reason: str) -> None:
    message = f"NO BROWSER: the HTML report was not checked in a browser: {reason}"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def test_the_html_report_is_self_contained_with_every_section(suite_run):
    page = (suite_run / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]{0,40})', page)
    assert len(images) == 2 * PER_SCENARIO + 2  # and the suite's aggregate and profiles
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page
    for heading in ("Scenario <code>default</code>", "Where the money went", "Across scenarios"):
        assert heading in page
    assert "<th>IQM return [95% CI]</th>" in page and "<td>planner</td>" in page


def test_an_image_from_outside_the_run_folder_is_refused(suite_run, tmp_path):
    with pytest.raises(OutputError, match="not a figure here"):
        markdown_to_html("# x\n\n![stolen](../secret.png)\n", suite_run)


def test_the_html_report_renders_in_chromium(suite_run, tmp_path):
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        skip_loudly("Playwright is not installed (pip install 'gtmgym[browser]')")
    executable = chromium()
    if executable is None:
        skip_loudly("no chromium on PATH (apt-get install chromium, or set GTMGYM_CHROMIUM)")
    url = (suite_run / "report.html").resolve().as_uri()
    errors, requests = [], []
    with sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        except Error as error:
            skip_loudly(f"{executable} does not start: {error}")
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url, wait_until="load")
        loaded = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
        )
        screenshot = tmp_path / "report.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    assert errors == []
    assert [r for r in requests if not r.startswith("data:")] == [url]
    assert len(loaded) == 2 * PER_SCENARIO + 2
    assert all(complete and width > 0 for complete, width, _ in loaded), loaded
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000
