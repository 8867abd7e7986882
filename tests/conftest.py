"""Shared fixtures: Sphinx's test fixtures, test roots, and the built site."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest

pytest_plugins = ("sphinx.testing.fixtures",)
collect_ignore = ["roots"]  # small Sphinx projects, not test modules

ROOT = Path(__file__).resolve().parents[1]
ROOTS = Path(__file__).resolve().parent / "roots"


# -- the site's own posts ---------------------------------------------------------------

def published_posts() -> list[str]:
    """The docnames of the site's posts that the site publishes, sorted: a draft (what
    ``make new-post`` writes) or a post dated in the future is not on the site, so tests
    about the built site must not expect it."""
    from mlnotes_postfile import is_draft, parse_post

    conf = {"categories": {name: 1 for name in _site_conf()["blog_categories"]},
            "authors": {name: 1 for name in _site_conf()["blog_authors"]}}
    published = []
    for path in sorted(ROOT.glob("posts/**/*.md")):
        meta, _ = parse_post(path.read_text(encoding="utf-8"), **conf)
        if not is_draft(meta):
            published.append(path.relative_to(ROOT).with_suffix("").as_posix())
    return published


@functools.cache
def _site_conf() -> dict:
    from sitecfg import site_config

    return site_config()


# -- the browser (Debian's Chromium, driven by Playwright) ------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _require_chromium():
    if CHROMIUM:
        return
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("MLNOTES_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; MLNOTES_REQUIRE_BROWSER=1 forbids skipping")
    pytest.skip(reason)


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


@pytest.fixture(scope="session")
def rootdir() -> Path:
    return ROOTS


STRICT = ("-W", "--keep-going", "-n")   # make html's and make test's flags


def sphinx_build(srcdir: Path, outdir: Path, *options: str, builder: str = "html", strict: bool = True,
                 env: dict | None = None, unset: tuple = (), **run) -> subprocess.CompletedProcess:
    """One ``python -m sphinx`` process, as ``make html`` runs it (strict, quiet): the one
    place the tests spell the command.  *env* is added to this process's environment,
    without the variables in *unset*; *run* goes to :func:`subprocess.run` (default: the
    output captured as text, the exit status left to the caller)."""
    cmd = [sys.executable, "-m", "sphinx", "-b", builder, *(STRICT if strict else ()), "-q", *options,
           str(srcdir), str(outdir)]
    run.setdefault("cwd", srcdir)
    if not run.get("stdout") and not run.get("stderr"):
        run.setdefault("capture_output", True)
    variables = {key: value for key, value in {**os.environ, **(env or {})}.items() if key not in unset}
    return subprocess.run(cmd, env=variables, text=True, **run)


@pytest.fixture(scope="session")
def site_html(tmp_path_factory) -> Path:
    """The site built strictly (``-W --keep-going -n``).

    ``make test`` builds it first and passes the directory in
    ``MLNOTES_BUILT_HTML``; run alone, pytest builds it into a temporary directory.
    """
    built = os.environ.get("MLNOTES_BUILT_HTML")
    if built:
        path = Path(built)
        if not path.is_absolute():
            path = ROOT / path
        assert (path / "index.html").is_file(), f"no built site in {path}"
        return path
    out = tmp_path_factory.mktemp("site") / "html"
    sphinx_build(ROOT, out, "-d", str(out.parent / "doctrees"), check=True, capture_output=False)
    return out


WARNING_LINE = re.compile(r"^(?P<file>[^\s:]+?):(?P<line>\d+): (?P<level>WARNING|ERROR): (?P<msg>.*)$")


def parse_warnings(text: str, srcdir: Path) -> list[tuple[str, int, str, str]]:
    """``(file relative to srcdir, line, level, message)`` for each located warning."""
    # Sphinx colours its log unless told otherwise; strip ANSI codes.
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    found = []
    for line in text.splitlines():
        m = WARNING_LINE.match(line.strip())
        if m:
            rel = Path(m["file"]).resolve().relative_to(srcdir.resolve()).as_posix()
            found.append((rel, int(m["line"]), m["level"], m["msg"]))
    return found


def build(srcdir: Path, outdir: Path | None = None, *, buildername: str = "html",
          freshenv: bool = False):
    """Build *srcdir* in-process with the real extensions.

    Returns ``(app, read_docnames, warnings_text)``; ``app.written`` lists the
    documents whose pages were written.  Each call is a new Sphinx
    application, as each run of ``sphinx-build`` is, sharing the pickled
    environment in ``outdir/doctrees``.
    """
    from sphinx.testing.util import SphinxTestApp

    outdir = outdir or srcdir / "_build"
    status, warning = StringIO(), StringIO()
    read: list[str] = []
    app = SphinxTestApp(buildername, srcdir=srcdir, builddir=outdir, freshenv=freshenv,
                        status=status, warning=warning)
    app.connect("env-before-read-docs", lambda app, env, docnames: read.extend(docnames))
    app.written = []
    app.connect("html-page-context", lambda app, pagename, *args: app.written.append(pagename))
    try:
        app.build()
    finally:
        app.cleanup()
    return app, sorted(read), warning.getvalue()


def write_post(srcdir, slug, date, *, category="Python", tags=("甲",), title=None,
               body="正文第一段。", extra=""):
    """A post of a test project: front matter, a title, *body*, and a closing section."""
    tag_list = ", ".join(tags)
    (srcdir / "posts" / f"{slug}.md").write_text(
        f"---\ndate: {date:%Y-%m-%d}\ncategory: {category}\ntags: [{tag_list}]\n{extra}---\n\n"
        f"# {title or '文章 ' + slug}\n\n{body}\n\n## 小节\n\n更多内容。\n", encoding="utf-8")


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit a source file of a test project; *old* must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def copy_root(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(ROOTS / f"test-{name}", target)
    return target


# -- comparing builds ------------------------------------------------------------

def feed_entries(path):
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.bozo_exception
    return [(e.link.rsplit("/", 1)[-1], e.title, e.updated) for e in feed.entries]


def html_files(html: Path) -> dict[str, bytes]:
    """Each HTML page under the directory *html*, by its path relative to it."""
    return {p.relative_to(html).as_posix(): p.read_bytes()
            for p in sorted(html.rglob("*.html"))
            if ".doctrees" not in p.relative_to(html).parts}    # (a build without -d)


def search_bundle(html: Path) -> dict[str, bytes]:
    """Every file of the search index (Pagefind's bundle, ``pagefind/``) by its path."""
    return {p.relative_to(html).as_posix(): p.read_bytes()
            for p in sorted((html / "pagefind").rglob("*")) if p.is_file()}


def search_fragments(html: Path) -> dict[str, dict]:
    """The page records of the search index, by URL: ``content`` (the indexed text, Chinese
    as character pairs) and ``meta``.  Pagefind writes each as gzip'd JSON."""
    records = {}
    for path in (html / "pagefind" / "fragment").glob("*.pf_fragment"):
        data = json.loads(gzip.decompress(path.read_bytes()).removeprefix(b"pagefind_dcd"))
        records[data["url"]] = data
    return records


def feeds(outdir):
    html = outdir / "html"
    return {p.relative_to(html).as_posix(): feed_entries(p) for p in sorted(html.rglob("atom.xml"))}


def assert_same_as_clean_build(srcdir, tmp_path):
    """The incremental output equals a clean build of the same sources, page for page."""
    clean_src = tmp_path / "clean-src"
    shutil.rmtree(clean_src, ignore_errors=True)
    shutil.copytree(srcdir, clean_src, ignore=shutil.ignore_patterns("_build"))
    build(clean_src, freshenv=True)
    pages = assert_same_html(srcdir / "_build" / "html", clean_src / "_build" / "html")
    assert feeds(srcdir / "_build") == feeds(clean_src / "_build")
    # the search index, file for file (Pagefind names its files after their content)
    incremental = search_bundle(srcdir / "_build" / "html")
    clean = search_bundle(clean_src / "_build" / "html")
    assert sorted(incremental) == sorted(clean)
    assert [name for name in clean if incremental[name] != clean[name]] == []
    # sphinx-sitemap alone lists only the pages written by the last build
    sitemap = sitemap_pages(srcdir / "_build")
    assert sitemap == sitemap_pages(clean_src / "_build")
    assert pages >= sitemap
    assert "index.html" in sitemap


def sitemap_pages(outdir) -> set[str]:
    """The pages ``sitemap.xml`` lists, relative to the site's base URL."""
    from sitecfg import site_config

    base = site_config()["html_baseurl"]
    text = (outdir / "html" / "sitemap.xml").read_text(encoding="utf-8")
    return {unquote(loc).removeprefix(base) for loc in re.findall(r"<loc>([^<]*)</loc>", text)}


def build_serial_and_parallel(srcdir: Path, tmp_path: Path) -> dict[str, Path]:
    """Build *srcdir* strictly with -j 1 and -j 2; return both output directories.

    A probe extension leaves a file behind when Sphinx merges a parallel reader's
    environment, and the parallel build must have done so: the read really ran in
    parallel (the probe's file is then removed, so the outputs can be compared).
    """
    (srcdir / "merge_probe.py").write_text(
        "from pathlib import Path\n"
        "def setup(app):\n"
        "    app.connect('env-merge-info', lambda app, env, docs, other:\n"
        "                Path(app.outdir, 'merged').write_text('yes'))\n"
        "    return {'parallel_read_safe': True, 'parallel_write_safe': True}\n")
    with (srcdir / "conf.py").open("a") as conf:
        conf.write("extensions.append('merge_probe')\n")
    env = {"PYTHONPATH": f"{Path(__file__).resolve().parent}:{srcdir}"}
    outs = {}
    for jobs in ("1", "2"):
        outs[jobs] = tmp_path / f"out-j{jobs}"
        result = sphinx_build(srcdir, outs[jobs], "-j", jobs, env=env)
        assert result.returncode == 0, result.stderr
    assert (outs["2"] / "merged").is_file()              # the read really ran in parallel
    assert not (outs["1"] / "merged").exists()
    (outs["2"] / "merged").unlink()
    return outs


def assert_same_html(first: Path, second: Path) -> set[str]:
    """The same HTML pages, byte for byte, under two output directories; their names."""
    one, two = html_files(first), html_files(second)
    assert sorted(one) == sorted(two)
    assert [name for name in two if one[name] != two[name]] == []
    return set(two)


# -- make test-fast ------------------------------------------------------------------------

#: Fixtures that need the whole site or book built, or a browser: what the edit loop leaves out.
SITE_FIXTURES = {"site_html", "latex_dir", "browser", "server", "gzip_server"}


def pytest_addoption(parser):
    parser.addoption("--fast", action="store_true",
                     help="leave out the tests that need the whole site built or a browser "
                          "(make test-fast; make test runs everything)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--fast"):
        return
    slow = [item for item in items if SITE_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.get_closest_marker("slow") or item.get_closest_marker("browser")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]
