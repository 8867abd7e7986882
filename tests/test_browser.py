"""The built site in a real browser (Debian's Chromium driven by Playwright), offline.

Every request to a host other than the local test server is blocked and
recorded; the tests assert there were none, and that the pages still work.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import threading
import tomllib
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from conftest import published_posts

pytestmark = pytest.mark.browser

# Screenshots the tests take, to look at (not compared with anything).
SHOTS = Path(__file__).resolve().parents[1] / "_build" / "screenshots"
PHONE = {"width": 375, "height": 812}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(site_html, handler_class):
    """The built site on a local port, served by *handler_class*; yields its base URL."""
    handler = functools.partial(handler_class, directory=str(site_html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def server(site_html):
    with serving(site_html, _QuietHandler) as url:
        yield url


class Visit:
    """One page load, recording blocked requests, failed requests and errors.

    *viewport* and *dark* set the window size and the colour mode before the page loads
    (the theme reads the mode from localStorage, as its toggle leaves it).
    """

    def __init__(self, browser, server, path, *, viewport=None, dark=None):
        self.page = browser.new_page(viewport=viewport) if viewport else browser.new_page()
        self.external, self.failed, self.errors = [], [], []
        host = urlsplit(server).netloc

        def route(r):
            if urlsplit(r.request.url).netloc == host:
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        if dark is not None:
            mode = "dark" if dark else "light"
            self.page.add_init_script(
                f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")
        self.page.route("**/*", route)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(r.url))
        # a local request that never got an answer (a font the page asked for, say)
        self.page.on("requestfailed", lambda r: urlsplit(r.url).netloc == host
                     and self.failed.append(f"{r.url} ({r.failure})"))
        self.page.goto(server + "/" + path)

    def settle(self):
        """Wait until the page has loaded and its fonts have loaded.

        (Network idleness is only waited for a while: on a busy machine Chromium may take
        long to declare it, and everything the checks need is covered by the above.)
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.page.wait_for_load_state("load")
        self.page.evaluate("async () => { await document.fonts.ready; }")
        with contextlib.suppress(PlaywrightTimeout):
            self.page.wait_for_load_state("networkidle", timeout=10_000)
        return self

    def assert_clean(self):
        assert self.external == [], "requests to other hosts"
        assert self.failed == [], "requests that failed"
        assert self.errors == [], "JavaScript errors"


# -- search (_ext/mlnotes_search.py, _static/mlnotes-search.js) ---------------------------

# The relevance set: queries a reader would type, each with the page that should come
# first (kinds: title, heading, body, english, mixed, compound).  Extend it with posts.
QUERIES = tomllib.loads((Path(__file__).resolve().parent / "search_queries.toml")
                        .read_text(encoding="utf-8"))["query"]
STATUS_DONE = """q => { const s = document.querySelector('.mlnotes-search-status').textContent;
                       return s.includes('“' + q + '”') && !s.includes('正在搜索'); }"""


def search_page_results(page, query: str) -> list[str]:
    """Type *query* into the search page's field; the result links' paths, in rank order."""
    page.fill("#mlnotes-search-input", query)
    page.wait_for_function(STATUS_DONE, arg=query, timeout=30_000)
    return page.eval_on_selector_all(".mlnotes-search-result h2 a",
                                     "els => els.map(e => new URL(e.href).pathname)")


def test_search_relevance(browser, server):
    """Every query of the set typed into the real search page: mean reciprocal rank of the
    expected page >= 0.9, and no query without results."""
    visit = Visit(browser, server, "search.html").settle()
    ranks, report = [], {}
    for query in QUERIES:
        found = search_page_results(visit.page, query["q"])
        want = "/" + query["expect"] + ".html"
        rank = found.index(want) + 1 if want in found else None
        ranks.append(1 / rank if rank else 0.0)
        report.setdefault(query["kind"], []).append(ranks[-1])
        if rank != 1:
            print(f"  {query['q']}: {query['expect']} at {rank}, first {found[:3]}")
        assert found, f"no results for {query['q']}"
    mrr = sum(ranks) / len(ranks)
    print(f"\nMRR {mrr:.3f} over {len(ranks)} queries; by kind: "
          + ", ".join(f"{k} {sum(v) / len(v):.2f} ({len(v)})" for k, v in sorted(report.items())))
    assert len(QUERIES) >= 60
    assert mrr >= 0.9
    visit.assert_clean()
    visit.page.close()


def test_query_is_cut_like_the_index(browser, server):
    """The browser cuts a query into the words the index holds (Chinese as character
    pairs): the same words as the build's ``index_text`` for the same string."""
    from mlnotes_search import index_text

    queries = ["空洞卷积", "在线 softmax", "环形 all-reduce", "tf_export", "Robbins-Monro",
               "FP32 主权重", "感受野", "偏"]
    visit = Visit(browser, server, "index.html").settle()
    cut = visit.page.evaluate("qs => qs.map(q => MLNotesSearch.queryTerms(q))", queries)
    assert cut == [" ".join(index_text(q).split()) for q in queries]
    visit.page.close()


def test_search_page_reads_the_url_and_shows_text(browser, server):
    """search.html?q= lists results as links in rank order; the query is only ever text."""
    attack = '<img src=x onerror="window.__xss=1">"><script>window.__xss=2</script>'
    visit = Visit(browser, server, "search.html?q=" + quote(attack))
    dialogs = []
    visit.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    visit.settle()
    visit.page.wait_for_function(STATUS_DONE, arg=attack, timeout=30_000)
    assert visit.page.input_value("#mlnotes-search-input") == attack
    assert attack in visit.page.text_content(".mlnotes-search-status")
    assert visit.page.evaluate("window.__xss") is None and dialogs == []
    assert visit.page.locator("#mlnotes-search-page img, #mlnotes-search-page script").count() == 0
    # a real query from the URL: results in rank order, each a link with place and snippet
    visit.page.goto(server + "/search.html?q=" + quote("注意力"))
    visit.page.wait_for_function(STATUS_DONE, arg="注意力", timeout=30_000)
    items = visit.page.locator(".mlnotes-search-result")
    assert items.count() >= 2
    first = items.first
    assert first.locator("h2 a").get_attribute("href")
    assert first.locator(".mlnotes-search-place").text_content().strip()
    assert "注意力" in first.locator(".mlnotes-search-excerpt mark").first.text_content()
    visit.assert_clean()
    visit.page.close()


def test_search_from_a_file_says_it_needs_http(browser, site_html):
    """Opened from disk (file://), browsers run no worker and fetch no index: the page says
    what to do instead of searching forever."""
    page = browser.new_page()
    page.goto((site_html / "search.html").resolve().as_uri() + "?q=" + quote("卷积"))
    page.wait_for_function("() => document.querySelector('.mlnotes-search-status')"
                           ".textContent.includes('HTTP')", timeout=30_000)
    page.close()


def test_search_facets_narrow_the_results(browser, server):
    visit = Visit(browser, server, "search.html").settle()
    page = visit.page
    everything = search_page_results(page, "卷积")
    category = page.locator("select[name=category] option").nth(1)
    label = category.text_content().split("（")[0]
    page.select_option("select[name=category]", category.get_attribute("value"))
    page.wait_for_function(STATUS_DONE, arg="卷积", timeout=30_000)
    places = page.eval_on_selector_all(".mlnotes-search-result .mlnotes-search-place",
                                       "els => els.map(e => e.textContent)")
    assert places and all(place.startswith(label + " · ") for place in places), (label, places)
    assert len(places) <= len(everything)
    assert "category=" in page.url          # the choice is in the URL, to share or bookmark
    page.select_option("select[name=category]", "")
    page.select_option("select[name=kind]", label="API（" + page.locator(
        "select[name=kind] option", has_text="API").text_content().split("（")[1])
    page.wait_for_function(STATUS_DONE, arg="卷积", timeout=30_000)
    places = page.eval_on_selector_all(".mlnotes-search-result .mlnotes-search-place",
                                       "els => els.map(e => e.textContent)")
    assert places and set(places) == {"API"}
    visit.assert_clean()
    page.close()


def _open_header_box(page):
    page.keyboard.press("Control+k")
    box = page.locator("#pst-search-dialog input[name=q]")
    box.wait_for(state="visible")
    return box


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_search_as_you_type_from_the_header(browser, server, viewport):
    """The header's box (the theme's search dialog, Ctrl+K) lists results while the reader
    types: arrows move, Esc closes the list, Enter opens the selected page."""
    post = POSTS[0] + ".html"
    visit = Visit(browser, server, post, viewport=viewport).settle()
    page = visit.page
    if viewport:      # on a phone the header shows a search button
        page.locator(".search-button__button:visible").first.click()
        box = page.locator("#pst-search-dialog input[name=q]")
    else:
        box = _open_header_box(page)
    box.press_sequentially("空洞卷积", delay=30)
    listbox = page.locator("#mlnotes-search-suggestions")
    listbox.locator("[role=option]").first.wait_for(timeout=30_000)
    assert box.get_attribute("aria-expanded") == "true"
    options = listbox.locator("[role=option]")
    assert options.count() >= 2
    first_id = box.get_attribute("aria-activedescendant")
    assert first_id == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    assert "空洞卷积" in "".join(options.first.locator("mark").all_text_contents()) \
        or "卷积" in options.first.text_content()
    if viewport:      # the list fits the phone: nothing scrolls sideways
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert width <= viewport["width"]
        right = listbox.evaluate("e => e.getBoundingClientRect().right")
        assert right <= viewport["width"] + 1
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.nth(1).get_attribute("id")
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == first_id
    box.press("Escape")               # closes the list and the theme's search dialog
    assert listbox.is_hidden() and box.get_attribute("aria-expanded") == "false"
    assert not page.evaluate("document.getElementById('pst-search-dialog').open")
    if viewport:
        page.locator(".search-button__button:visible").first.click()
    else:
        _open_header_box(page)
    box.press("End")
    box.press_sequentially(" ", delay=30)     # typing again brings the list back
    options.first.wait_for(timeout=30_000)
    target = options.first.locator("a").get_attribute("href")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.split("#")[0] == target.split("#")[0]
    visit.assert_clean()
    page.close()


def test_header_box_shows_a_query_as_text(browser, server):
    visit = Visit(browser, server, "index.html").settle()
    page = visit.page
    box = _open_header_box(page)
    box.fill('<img src=x onerror="window.__xss=1">扩散')
    page.locator("#mlnotes-search-suggestions [role=option]").first.wait_for(timeout=30_000)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#mlnotes-search-suggestions img").count() == 0
    visit.assert_clean()
    page.close()


@pytest.mark.parametrize("kind", ["front", "post_most_math", "tag"])
def test_no_page_fetches_the_index_before_a_search(browser, server, site_html, kind):
    """Pages load nothing of the search until the reader opens the search box; then the
    worker loads Pagefind and the index chunks the query needs."""
    visit = Visit(browser, server, _page_types(site_html)[kind])
    requested = []
    visit.page.on("request", lambda r: requested.append(urlsplit(r.url).path))
    visit.settle()
    assert [p for p in requested if "pagefind" in p or "search-worker" in p] == []
    box = _open_header_box(visit.page)
    box.press_sequentially("扩散", delay=30)
    visit.page.locator("#mlnotes-search-suggestions [role=option]").first.wait_for(timeout=30_000)
    assert any(p.endswith(".pf_index") for p in requested)
    visit.assert_clean()
    visit.page.close()


def test_search_results_arrive_quickly_once_loaded(browser, server):
    """Reader-side speed of the search itself: from the last keystroke to the results on
    screen, once Pagefind and the index chunks are loaded (budget: page_budgets.toml)."""
    visit = Visit(browser, server, "search.html").settle()
    page = visit.page
    queries = [q["q"] for q in QUERIES[:12]]
    for query in queries:              # load the chunks these queries need
        search_page_results(page, query)
    times = []
    for query in queries:
        page.fill("#mlnotes-search-input", "")
        times.append(page.evaluate("""q => new Promise(done => {
            const input = document.querySelector('#mlnotes-search-input');
            const status = document.querySelector('.mlnotes-search-status');
            const start = performance.now();
            new MutationObserver((_, observer) => {
                if (status.textContent.includes('“' + q + '”') && !status.textContent.includes('正在搜索')) {
                    observer.disconnect(); done(performance.now() - start); }
            }).observe(status, {childList: true, characterData: true, subtree: true});
            input.value = q;
            input.dispatchEvent(new Event('input'));
        })""", query))
    times.sort()
    median = times[len(times) // 2]
    print(f"\nlast keystroke to results: median {median:.0f} ms, max {times[-1]:.0f} ms")
    assert median <= BUDGETS["search"]["max_result_ms"]
    visit.assert_clean()
    page.close()


def test_math_renders_offline(browser, server):
    """Formulas arrive drawn (SVG made at build time): each has a size, every glyph it uses
    is defined on the page, none is an error, and no math script or font is fetched."""
    visit = Visit(browser, server, "posts/ddim.html").settle()
    page = visit.page
    drawn = page.eval_on_selector_all(
        "article .math mjx-container > svg",
        "els => els.filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })"
        ".length")
    assert drawn > 50
    assert page.evaluate(UNRESOLVED_GLYPHS, "article") == []
    assert page.locator("[data-mml-node='merror'], .mlnotes-math-error").count() == 0
    fetched = page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert not [url for url in fetched if "mathjax" in url.lower() or url.endswith((".woff", ".woff2"))]
    visit.assert_clean()
    visit.page.close()


@pytest.mark.parametrize("path", ["index.html", "blog.html", "blog/category/generative-model.html",
                                  "concepts/ddpm.html", "api/diffusion.html"])
def test_pages_load_clean_offline(browser, server, path):
    visit = Visit(browser, server, path)
    visit.page.wait_for_load_state("networkidle")
    visit.assert_clean()
    visit.page.close()


# The glyph references of the formulas under a selector that name no glyph on the page.
UNRESOLVED_GLYPHS = """(root) => [...document.querySelectorAll(root + ' mjx-container use')]
    .map(use => (use.getAttribute('xlink:href') || use.getAttribute('href') || '').slice(1))
    .filter(id => !document.getElementById(id))"""


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
        "() => document.querySelector('#mlnotes-preview mjx-container svg') !== null", timeout=15_000)
    # the formulas' glyphs come along from the page the preview was taken from
    assert visit.page.evaluate(UNRESOLVED_GLYPHS, "#mlnotes-preview") == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SHOTS / f"preview-{how}-{len(expected or '')}.png"))
    visit.page.keyboard.press("Escape")
    tip.wait_for(state="detached", timeout=5_000)
    visit.assert_clean()
    visit.page.close()


# -- every tested page works offline: icons, fonts, math ------------------------------

ROOT = Path(__file__).resolve().parents[1]
POSTS = published_posts()  # not the drafts: a new post (make new-post) is one


def _count(pattern, doc):
    import re

    return len(re.findall(pattern, (ROOT / f"{doc}.md").read_text(encoding="utf-8")))


def heaviest(pattern, n=2):
    """The *n* posts whose sources match *pattern* most often (picked by counting, not by hand)."""
    return sorted(POSTS, key=lambda doc: (-_count(pattern, doc), doc))[:n]


# display math ($$, {math} blocks, amsmath environments) and inline $...$
MATH = r"\$\$|```\{math\}|\\begin\{|(?<![\$\\])\$(?!\$)"
# fenced code, literalinclude, doctest prompts
CODE = r"```\{?(?:code|literalinclude|python|py|sh|bash)|\{literalinclude\}|^>>> "
HEAVY_POSTS = sorted({f"{doc}.html" for doc in heaviest(MATH) + heaviest(CODE)})
PAGES = ["index.html", "search.html", "api/diffusion.html", *HEAVY_POSTS]


@pytest.mark.parametrize("path", PAGES)
def test_icons_fonts_and_math_load(browser, server, path):
    visit = Visit(browser, server, path).settle()
    page = visit.page
    # The theme's Font Awesome icons, drawn with the subset font (tools/icons.py): every
    # visible icon shows a glyph of that font, and neither Font Awesome's script nor the
    # theme's full font is loaded.
    icons = page.evaluate("""() => {
        const shown = [...document.querySelectorAll('i[class*="fa-"]')]
            .filter(e => e.getClientRects().length);
        return {
            shown: shown.length,
            blank: shown.filter(e => {
                const before = getComputedStyle(e, '::before');
                return !before.content || before.content === 'none' || before.content === 'normal'
                    || !before.fontFamily.includes('Font Awesome');
            }).map(e => e.className),
            loaded: document.fonts.check('16px "Font Awesome 7 Free"'),
            requested: performance.getEntriesByType('resource').map(r => r.name)
                .filter(n => /fontawesome/.test(n)),
        };
    }""")
    assert icons["shown"] >= 3 and icons["blank"] == [] and icons["requested"] == [], icons
    assert "Font Awesome 7 Free" in {f for f, status in page.evaluate(
        "() => [...document.fonts].map(f => [f.family.replace(/\"/g, ''), f.status])") if status == "loaded"}
    # Every font face a page used has loaded (none is stuck in "error").
    fonts = page.evaluate("() => [...document.fonts].map(f => [f.family, f.status])")
    assert [f for f in fonts if f[1] == "error"] == []
    if page.locator(".math, span.math, div.math").count():
        assert page.locator(".math mjx-container > svg").count() == page.locator(".math").count()
        assert page.evaluate(UNRESOLVED_GLYPHS, "body") == []
    visit.assert_clean()
    page.close()


# -- the front page reaches every post; category and tag pages list the right ones ----

def _front_matter(doc):
    import yaml

    text = (ROOT / f"{doc}.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---", 2)[1])


def _links(page, selector):
    """Absolute paths (site-relative) of the links *selector* finds on *page*."""
    return page.eval_on_selector_all(
        selector, "els => els.map(e => new URL(e.href).pathname.replace(/^\\//, ''))")


def test_front_page_pagination_reaches_every_post(browser, server):
    visit = Visit(browser, server, "index.html")
    page, seen, listed = visit.page, set(), []
    while True:
        page.wait_for_load_state("load")
        seen.add(page.url)
        listed += _links(page, ".mlnotes-post-title a")
        nxt = page.locator('.mlnotes-pager a[rel="next"]')
        if not nxt.count():
            break
        nxt.first.click()
        assert page.url not in seen, "the pager loops"
    assert sorted(listed) == [f"{doc}.html" for doc in POSTS]
    visit.assert_clean()
    page.close()


def _expected_lists():
    import sys

    sys.path.insert(0, str(ROOT))
    from conf import blog_categories

    categories, tags = {}, {}
    for doc in POSTS:
        meta = _front_matter(doc)
        if meta.get("draft"):
            continue
        categories.setdefault(blog_categories[meta["category"]], set()).add(f"{doc}.html")
        for tag in meta.get("tags", []):
            tags.setdefault(tag, set()).add(f"{doc}.html")
    return {"category": categories, "tag": tags}


@pytest.mark.parametrize("kind", ["category", "tag"])
def test_category_and_tag_pages_list_the_right_posts(browser, server, kind):
    """Follow each link of the overview page (blog/category.html, blog/tag.html) and
    compare the posts its page lists with the posts' front matter."""
    expected = _expected_lists()[kind]
    visit = Visit(browser, server, f"blog/{kind}.html")
    page = visit.page
    overview = page.eval_on_selector_all(
        "ul.mlnotes-catalog-counts a", "els => els.map(e => [e.textContent.trim(), e.href])")
    assert sorted(name for name, _ in overview) == sorted(expected)
    found = {}
    for name, href in overview:
        page.goto(href)
        found[name] = set(_links(page, "article .ablog-post-title a"))
    assert found == expected
    visit.assert_clean()
    page.close()


# -- a phone: no sideways scrolling; wide formulas and code scroll in their own box ----


@pytest.mark.parametrize("path", ["index.html", HEAVY_POSTS[0]])
def test_sidebar_buttons_open_the_sidebars(browser, server, path):
    """The buttons a reader sees open the sidebars: on a phone, the navigation drawer and
    the contents; on a wide screen, the navigation hides (``_static/mlnotes-toggles.js``:
    the themes wire only the first button of each kind, which the book layout hides)."""
    page = Visit(browser, server, path, viewport=PHONE).settle().page
    page.locator(".primary-toggle:visible").first.click()
    page.wait_for_function("document.getElementById('pst-primary-sidebar-modal').open")
    assert page.locator("dialog[open] nav.mlnotes-categories").is_visible()
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('pst-primary-sidebar-modal').open")
    if page.locator(".secondary-toggle:visible").count():
        page.locator(".secondary-toggle:visible").first.click()
        page.wait_for_function("document.getElementById('pst-secondary-sidebar-modal').open")
    page.close()
    page = Visit(browser, server, path, viewport={"width": 1280, "height": 900}).settle().page
    assert page.locator("#pst-primary-sidebar").is_visible()
    page.locator(".primary-toggle:visible").first.click()
    page.wait_for_function(
        "document.getElementById('pst-primary-sidebar').classList.contains('pst-sidebar-hidden')")
    page.close()


@pytest.mark.parametrize("path", ["index.html", *HEAVY_POSTS])
def test_no_horizontal_scrolling_on_a_phone(browser, server, path):
    visit = Visit(browser, server, path, viewport=PHONE).settle()
    page = visit.page
    sizes = page.evaluate("""() => {
        const s = document.scrollingElement;
        return [s.scrollWidth, s.clientWidth];
    }""")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                     && getComputedStyle(e).position !== 'fixed'
                     && e.getClientRects().length
                     && getComputedStyle(e).visibility !== 'hidden')
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)""")
    assert sizes[0] <= sizes[1], (sizes, wide)
    # display math and code blocks; inline math too, when it is wider than its box
    boxes = page.evaluate("""() => [...document.querySelectorAll(
            'article mjx-container[display="true"], article div.highlight pre, article span.math')]
        .filter(e => e.tagName !== 'SPAN' || e.scrollWidth > e.clientWidth)
        // (a box inside a scrolling table scrolls with the table: the table is checked)
        .filter(e => !e.parentElement.closest('.pst-scrollable-table-container, .table-wrapper'))
        .map(e => ({what: e.tagName + ' ' + (e.textContent || '').slice(0, 40),
                    overflow: getComputedStyle(e).overflowX,
                    width: e.getBoundingClientRect().width,
                    right: e.getBoundingClientRect().right,
                    scrolls: e.scrollWidth > e.clientWidth}))""")
    assert boxes or path == "index.html"
    viewport = PHONE["width"]
    bad = [b for b in boxes if b["overflow"] not in ("auto", "scroll")
           or b["width"] > viewport or b["right"] > viewport + 1]
    assert bad == []
    visit.assert_clean()
    page.close()


# -- colours: WCAG contrast of text, links, code and math, light and dark -------------

CONTRAST_JS = """() => {
    const rgba = s => { const m = s.match(/[\\d.]+/g).map(Number);
                        return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const over = (top, below) => { const a = top[3];
        return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]); };
    const background = el => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] >= 1) break;
        }
        let bg = [255, 255, 255, 1];
        for (const c of layers.reverse()) bg = over(c, bg);
        return bg;
    };
    const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
    const ratio = el => { const bg = background(el);
        const fg = over(rgba(getComputedStyle(el).color), bg);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05); };
    const kinds = {
        text: 'article p',
        link: 'article a.reference, article p a',
        code: 'article code.literal, article div.highlight pre span',
        math: 'article mjx-container',
    };
    const out = {};
    for (const [kind, sel] of Object.entries(kinds)) {
        // what a reader sees: not hidden (permalink signs show only on hover)
        const els = [...document.querySelectorAll(sel)].filter(
            e => e.textContent.trim() && e.getClientRects().length
                 && getComputedStyle(e).visibility === 'visible');
        const worst = els.map(e => [ratio(e), e.tagName + '.' + e.className + ' '
                                     + e.textContent.trim().slice(0, 20)])
                         .sort((x, y) => x[0] - y[0])[0];
        out[kind] = worst || null;
    }
    out.theme = document.documentElement.dataset.theme;
    return out;
}"""
CONTRAST_PAGES = ["index.html", "posts/ddim.html", "api/diffusion.html"]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("path", CONTRAST_PAGES)
def test_text_contrast(browser, server, path, dark):
    """WCAG AA: every text, link, code and math colour has contrast >= 4.5 against the
    background it is drawn on (the page's own, composited through transparent layers)."""
    visit = Visit(browser, server, path, dark=dark).settle()
    found = visit.page.evaluate(CONTRAST_JS)
    assert found.pop("theme") == ("dark" if dark else "light")
    low = {kind: worst for kind, worst in found.items() if worst and worst[0] < 4.5}
    assert low == {}
    assert found["text"] and found["link"]
    visit.assert_clean()
    visit.page.close()


# -- screenshots to look at: desktop and phone, light and dark ---------------------------

@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize(("device", "viewport"), [("desktop", {"width": 1280, "height": 900}),
                                                  ("phone", PHONE)])
@pytest.mark.parametrize("path", ["index.html", "posts/ddim.html"])
def test_screenshots(browser, server, path, device, viewport, dark):
    visit = Visit(browser, server, path, viewport=viewport, dark=dark).settle()
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = f"{Path(path).stem}-{device}-{'dark' if dark else 'light'}.png"
    visit.page.screenshot(path=str(SHOTS / name))
    if path != "index.html":     # a screen further down: formulas and code
        visit.page.locator("article div.highlight pre").first.scroll_into_view_if_needed()
        visit.page.screenshot(path=str(SHOTS / name.replace(".png", "-code.png")))
    visit.assert_clean()
    visit.page.close()


# -- accessibility: axe-core ---------------------------------------------------------------

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"   # axe-core 4.14.1 (MPL-2.0)
# Every kind of page the site has, each picked from the built site (not by name where
# the name would tie the test to today's posts).
AXE_PAGE_KINDS = ["front", "post", "concept", "api", "source", "graph", "glossary", "archive",
                  "category", "tag", "year", "search", "genindex"]


def axe_page(site_html: Path, kind: str) -> str:
    def first(pattern: str) -> str:
        return sorted(p.relative_to(site_html).as_posix() for p in site_html.glob(pattern))[0]

    return {
        "front": lambda: "index.html",
        "post": lambda: _page_types(site_html)["post_most_math"],
        "concept": lambda: first("concepts/[!i]*.html"),
        "api": lambda: first("api/[!i]*.html"),
        "source": lambda: first("_modules/mlnotes/*.html"),
        "graph": lambda: "graph.html",
        "glossary": lambda: "glossary.html",
        "archive": lambda: "blog/archive.html",
        "category": lambda: first("blog/category/*.html"),
        "tag": lambda: _page_types(site_html)["tag"],
        "year": lambda: first("blog/[0-9]*.html"),
        "search": lambda: "search.html?q=" + quote("采样"),
        "genindex": lambda: "genindex.html",
    }[kind]()


# Serious or critical findings that come from the upstream theme or ABlog and cannot
# be fixed from this site's templates or CSS: (rule id, selector substring, why).
# Everything else axe reports as serious or critical fails the test.
AXE_UPSTREAM: list[tuple[str, str, str]] = []


def _upstream(rule, target):
    return any(rule == r and sel in target for r, sel, _ in AXE_UPSTREAM)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("kind", AXE_PAGE_KINDS)
def test_accessibility(browser, server, site_html, kind, dark):
    path = axe_page(site_html, kind)
    visit = Visit(browser, server, path, dark=dark).settle()
    if path.startswith("search"):
        visit.page.wait_for_selector(".mlnotes-search-result", timeout=30_000)
    visit.page.add_script_tag(path=str(AXE))
    result = visit.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = [(v["id"], " ".join(map(str, node["target"])), v["impact"], v["help"])
             for v in result["violations"] if v["impact"] in ("serious", "critical")
             for node in v["nodes"]]
    assert [f for f in found if not _upstream(f[0], f[1])] == []
    visit.assert_clean()
    visit.page.close()


# -- page budgets: bytes, requests and paint times of a first visit ------------------------

BUDGETS = tomllib.loads((Path(__file__).resolve().parent / "page_budgets.toml").read_text(encoding="utf-8"))
# Served compressed, as Read the Docs serves them (images and fonts are compressed already).
GZIP_TYPES = (".html", ".css", ".js", ".json", ".svg", ".xml", ".txt")


class _GzipHandler(_QuietHandler):
    """Serves text files gzip-compressed to a client that accepts it, as a real host does."""

    _cache: dict[str, bytes] = {}

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.suffix in GZIP_TYPES and path.is_file()):
            return super().send_head()
        body = self._cache.get(str(path))
        if body is None:
            body = self._cache[str(path)] = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@pytest.fixture(scope="module")
def gzip_server(site_html):
    with serving(site_html, _GzipHandler) as url:
        yield url


def _page_types(site_html: Path) -> dict[str, str]:
    """One page of each type, picked from the built site by counting, not by name."""
    formulas = {doc: (site_html / f"{doc}.html").read_text(encoding="utf-8").count('class="math')
                for doc in POSTS if (site_html / f"{doc}.html").is_file()}
    least_math = min(formulas, key=lambda doc: (formulas[doc], doc))
    most_math = max(formulas, key=lambda doc: (formulas[doc], doc))
    tags = sorted((site_html / "blog" / "tag").glob("*.html"),
                  key=lambda p: (-p.read_text(encoding="utf-8").count("mlnotes-post-card"), p.name))
    return {
        "front": "index.html",
        "post_least_math": f"{least_math}.html",
        "post_most_math": f"{most_math}.html",
        "tag": tags[0].relative_to(site_html).as_posix(),
        "search": "search.html?q=" + quote("扩散模型"),
    }


# Paint timings, read once the page has settled: first contentful paint, the last
# largest-contentful-paint candidate, and the layout shifts not caused by input.
METRICS_JS = """async () => {
    const entries = type => new Promise(done => {
        new PerformanceObserver(list => done(list.getEntries()))
            .observe({type, buffered: true});
        setTimeout(() => done([]), 1000);
    });
    const lcp = await entries('largest-contentful-paint');
    const shifts = await entries('layout-shift');
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const loaded = performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'));
    return {
        fcp_ms: fcp ? fcp.startTime : null,
        lcp_ms: lcp.length ? lcp[lcp.length - 1].startTime : null,
        cls: shifts.filter(s => !s.hadRecentInput).reduce((sum, s) => sum + s.value, 0),
        gzip_kb: loaded.reduce((sum, e) => sum + e.encodedBodySize, 0) / 1000,
        requests: loaded.length,
        files: loaded.map(e => [e.name.replace(location.origin, ''), e.encodedBodySize]),
    };
}"""


def measure_first_visit(browser, url: str, *, viewport=PHONE) -> dict:
    """Load *url* in a fresh context (empty cache) over the emulated network; return its metrics."""
    net = BUDGETS["network"]
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False,
        "latency": net["latency_ms"],
        "downloadThroughput": net["download_kbit_s"] * 1000 / 8,
        "uploadThroughput": net["upload_kbit_s"] * 1000 / 8,
    })
    host = urlsplit(url).netloc
    external = []

    def route(r):
        if urlsplit(r.request.url).netloc == host:
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load", timeout=120_000)
    page.evaluate("async () => { await document.fonts.ready; }")
    if "search.html" in url:
        page.wait_for_selector(".mlnotes-search-result", timeout=60_000)
    metrics = page.evaluate(METRICS_JS)
    # what the search worker fetched (Pagefind, its index) is in the worker's timeline
    for worker in page.workers:
        files = worker.evaluate("() => performance.getEntriesByType('resource')"
                                ".map(e => [e.name.replace(location.origin, ''), e.encodedBodySize])")
        metrics["files"] += files
        metrics["gzip_kb"] += sum(size for _, size in files) / 1000
        metrics["requests"] += len(files)
    context.close()
    assert external == [], "requests to other hosts"
    return metrics


def over_budget(kind: str, metrics: dict) -> list[str]:
    budget = BUDGETS["pages"][kind]
    return [f"{key} {metrics[key]:.4g} > {budget['max_' + key]}"
            for key in ("gzip_kb", "requests", "fcp_ms", "lcp_ms", "cls")
            if metrics[key] is None or metrics[key] > budget["max_" + key]]


@pytest.mark.parametrize("kind", sorted(BUDGETS["pages"]))
def test_page_budget(browser, gzip_server, site_html, kind):
    path = _page_types(site_html)[kind]
    metrics = measure_first_visit(browser, f"{gzip_server}/{path}")
    goals = {key[5:]: value for key, value in BUDGETS["pages"][kind].items() if key.startswith("goal_")}
    print(f"\n{kind} ({path}): " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if k != "files"))
    missed = [f"{k} {metrics[k]:.4g} > {v}" for k, v in goals.items() if metrics[k] > v]
    print("  goals not met yet: " + ", ".join(missed) if missed else "  all goals met")
    for name, size in sorted(metrics["files"], key=lambda f: -f[1])[:8]:
        print(f"  {size / 1000:8.1f} kB  {name}")
    assert over_budget(kind, metrics) == []


def test_boxes_keep_their_padding(browser, server):
    """Seen on the screenshots: the theme's ``.docutils.container`` rule had removed the
    series and link boxes' horizontal padding, so their text touched the border."""
    visit = Visit(browser, server, "posts/ddim.html", viewport=PHONE).settle()
    gaps = visit.page.evaluate("""() => [...document.querySelectorAll('.mlnotes-series, .mlnotes-linkbox')]
        .map(box => box.querySelector('p').getBoundingClientRect().left
                    - box.getBoundingClientRect().left)""")
    assert gaps and min(gaps) >= 10, gaps
    visit.assert_clean()
    visit.page.close()
