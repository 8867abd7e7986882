"""The built site in a real browser (Debian's Chromium driven by Playwright), offline.

Every request to a host other than the local test server is blocked and
recorded; the tests assert there were none, and that the pages still work.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Screenshots the tests take, to look at (not compared with anything).
SHOTS = Path(__file__).resolve().parents[1] / "_build" / "screenshots"


def _require_chromium():
    if CHROMIUM:
        return
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("MLNOTES_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; MLNOTES_REQUIRE_BROWSER=1 forbids skipping")
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site_html):
    handler = functools.partial(_QuietHandler, directory=str(site_html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser
        browser.close()


class Visit:
    """One page load, recording blocked requests, failed requests and errors."""

    def __init__(self, browser, server, path):
        self.page = browser.new_page()
        self.external, self.failed, self.errors = [], [], []
        host = urlsplit(server).netloc

        def route(r):
            if urlsplit(r.request.url).netloc == host:
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(r.url))
        self.page.goto(server + "/" + path)

    def assert_clean(self):
        assert self.external == [], "requests to other hosts"
        assert self.failed == [], "requests that failed"
        assert self.errors == [], "JavaScript errors"


@pytest.mark.parametrize(("query", "expected"), [
    ("扩散模型", "posts/ddim.html"),
    ("采样", "posts/ddim.html"),
    ("后验", "concepts/ddpm.html"),
])
def test_chinese_search_finds_posts(browser, server, query, expected):
    visit = Visit(browser, server, f"search.html?q={quote(query)}")
    visit.page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    hrefs = visit.page.eval_on_selector_all("#search-results ul.search li a",
                                            "els => els.map(e => e.getAttribute('href'))")
    assert any(h.split("?")[0].split("#")[0] == expected for h in hrefs), hrefs
    visit.assert_clean()
    visit.page.close()


def test_math_renders_offline(browser, server):
    visit = Visit(browser, server, "posts/ddim.html")
    visit.page.wait_for_selector("mjx-container", timeout=15_000)
    visit.page.wait_for_load_state("networkidle")
    rendered = visit.page.eval_on_selector_all("mjx-container", "els => els.length")
    raw = visit.page.eval_on_selector_all(
        ".math", "els => els.filter(e => e.textContent.includes('\\\\(')).length")
    assert rendered > 50 and raw == 0
    visit.assert_clean()
    visit.page.close()


@pytest.mark.parametrize("path", ["index.html", "blog.html", "blog/category/generative-model.html",
                                  "concepts/ddpm.html", "api/diffusion.html"])
def test_pages_load_clean_offline(browser, server, path):
    visit = Visit(browser, server, path)
    visit.page.wait_for_load_state("networkidle")
    visit.assert_clean()
    visit.page.close()


@pytest.mark.parametrize(("how", "selector", "expected"), [
    # a link to a page: its title and first paragraph, with math typeset
    ("hover", 'article a.reference.internal[href="../concepts/ddpm.html#concept-ddpm"]', "DDPM"),
    # keyboard focus shows the preview too
    ("focus", 'article a.reference.internal[href="../concepts/ddpm.html#concept-ddpm"]', "DDPM"),
    # a link to an equation shows the equation
    ("hover", 'article a.reference.internal[href$="#equation-eq-ddpm-closed-form"]', None),
])
def test_cross_references_show_a_preview(browser, server, how, selector, expected):
    visit = Visit(browser, server, "posts/guidance.html")
    visit.page.wait_for_load_state("networkidle")
    link = visit.page.locator(selector).first
    link.hover() if how == "hover" else link.focus()
    tip = visit.page.locator("#mlnotes-preview")
    tip.wait_for(state="visible", timeout=10_000)
    assert link.get_attribute("aria-describedby") == "mlnotes-preview"
    if expected:
        assert expected in tip.locator(".mlnotes-preview-title").inner_text()
        assert len(tip.locator("p").nth(1).inner_text()) > 20   # the first paragraph
    visit.page.wait_for_function(
        "() => document.querySelector('#mlnotes-preview mjx-container') !== null", timeout=15_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SHOTS / f"preview-{how}-{len(expected or '')}.png"))
    visit.page.keyboard.press("Escape")
    tip.wait_for(state="detached", timeout=5_000)
    visit.assert_clean()
    visit.page.close()
