"""The screening notebook in a real JupyterLab, driven through Debian's Chromium with Playwright.

Starts ``jupyter lab`` on 127.0.0.1 (token, temporary root and HOME, no network), opens
``notebooks/02_screening.ipynb``, runs it, screens three records with the keyboard and one
with a click, and checks those four decisions in the store. Saves a screenshot of the widget
to ``test-artifacts/screening_widget.png``.

In CI (``CI`` set) a missing Chromium or Playwright is a failure; elsewhere the test is skipped.
"""
from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from jupyter_support import ARTIFACTS, NOTEBOOKS, PROTOCOL, jupyter_lab, searched_demo_store, with_parameters

from review import Store

CHROMIUM = Path("/usr/bin/chromium")
REVIEWER = "browser-tester"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require_browser():
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test must run in CI: {missing}")
        pytest.skip(missing)


def test_screening_notebook_in_jupyterlab(tmp_path):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    t0 = time.monotonic()
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    store_path = tmp_path / "demo.sqlite"
    build = ThreadPoolExecutor(1).submit(searched_demo_store, store_path)  # while JupyterLab starts
    with_parameters(NOTEBOOKS / "02_screening.ipynb", root / "screening.ipynb",
                    PROTOCOL=str(PROTOCOL), STORE=str(store_path), REVIEWER=REVIEWER)
    ARTIFACTS.mkdir(exist_ok=True)
    decided: dict[str, str] = {}
    marks = []

    def mark(what):
        marks.append(f"{what} {time.monotonic() - t0:.1f}s")

    with jupyter_lab(root, home) as (base, token), sync_playwright() as pw:
        mark("server")
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-dev-shm-usage"])  # containers have a small /dev/shm
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{base}/lab/tree/screening.ipynb?token={token}", timeout=90_000)
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=90_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
            # wait until the kernel is connected and idle, then run every cell
            page.wait_for_function(
                """() => { const w = window.jupyterapp.shell.currentWidget;
                           const k = w && w.sessionContext && w.sessionContext.session
                                     && w.sessionContext.session.kernel;
                           return k && k.connectionStatus === 'connected' && k.status === 'idle'; }""",
                timeout=90_000)
            mark("kernel idle")
            build.result()
            mark("store")
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            keypad = page.locator(".rv-keypad")
            keypad.wait_for(state="visible", timeout=150_000)
            counts = page.locator(".rv-counts")
            expect(counts).to_have_text(re.compile(r"^0 of \d+ screened"), timeout=30_000)
            mark("widget")
            card_id = page.locator(".rv-card code")
            keypad.click()
            for n, (key, decision) in enumerate((("i", "include"), ("e", "exclude"), ("m", "maybe")), start=1):
                rid = card_id.inner_text()
                page.keyboard.press(key)
                expect(counts).to_have_text(re.compile(rf"^{n} of \d+ screened"), timeout=30_000)
                decided[rid] = decision
                expect(card_id).not_to_have_text(rid, timeout=30_000)
            mark("3 keys")
            rid = card_id.inner_text()
            page.get_by_role("button", name="Include (i)").click()
            expect(counts).to_have_text(re.compile(r"^4 of \d+ screened"), timeout=30_000)
            decided[rid] = "include"
            expect(page.locator(".rv-status")).to_contain_text("saved ✓")
            expect(card_id).not_to_have_text(rid, timeout=30_000)
            # the record now on screen has its protocol terms highlighted
            widget = page.locator(".rv-screening")
            widget.scroll_into_view_if_needed()
            assert page.locator(".rv-card .rv-abstract mark").count() > 0
            widget.screenshot(path=str(ARTIFACTS / "screening_widget.png"))
            page.screenshot(path=str(ARTIFACTS / "screening_notebook.png"))
        finally:
            browser.close()

    with Store(store_path) as store:
        got = {rid: row["decision"] for rid, row in store.current_decisions(reviewer=REVIEWER).items()}
    assert got == decided
    mark("done")
    print("browser test:", ", ".join(marks))
