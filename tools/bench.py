"""Build-performance benchmark: ``make bench`` (``python tools/bench.py --help``).

Generates synthetic corpora shaped like the real posts (Chinese prose, headings,
display math, code, cross-references to posts and concept pages, citations from
a bib of 100 entries, categories, tags, series) and builds each corpus three ways,
side by side in one run:

``site``
    this site's real configuration and extensions (ABlog, the book theme,
    sphinxcontrib-bibtex, our ``_ext``);
``floor``
    plain Sphinx + MyST, alabaster with ``html_sidebars = {"**": []}``, a globbed
    toctree, no ABlog, no bibtex (citations become plain text): what Sphinx itself
    costs to read, resolve and write the posts;
``alabaster-nav``
    the floor with alabaster's default navigation sidebar, which renders the
    whole-site toctree into every page.

For each it measures a full build and the incremental steps a writer makes (no
change, one post's body edited, one post added, one post's tags changed): wall
time, documents re-read, pages written, peak memory (RSS of the build process),
output size and the size of one post page; for ``site`` also ``-j 2`` and
``make latexpdf``.  It prints a Markdown table and writes a plot of build time
against N.  Times are whole-process wall times on this machine; compare the
ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ["Python", "Deep Learning", "Machine Learning", "Generative Model"]
N_CONCEPTS = 10
N_BIB = 100

SENTENCES = [
    "我们先从最简单的情形出发，看清楚问题到底在哪里。",
    "这一步的关键是把期望写成积分，再交换求导与积分的次序。",
    "直观地说，噪声越大，信号在总方差中所占的比例就越小。",
    "为了让推导可以复现，下面给出每一个符号的定义和假设。",
    "注意这里的矩阵是对称正定的，所以它的特征值都大于零。",
    "把这个式子代回原来的目标函数，就得到了一个更简单的形式。",
    "在实践中，学习率和批量大小往往需要一起调整。",
    "如果去掉这个约束，优化问题就不再有唯一解。",
    "采样的步数越少，离散化带来的误差通常越大。",
    "这个结论对任意维度都成立，证明只用到了线性代数的基本事实。",
    "梯度的方差决定了随机梯度下降的收敛速度。",
    "我们用一个只有三个类别的小例子来检查上面的公式。",
]
TAGS = [f"标签{i:02d}" for i in range(40)]
GLOSSARY = ["学习率", "批量大小", "特征值", "随机梯度下降", "方差", "离散化误差", "目标函数"]
CODE_FUNCTIONS = ["score", "softplus", "log_normal", "running_mean"]
CODE = '''\
"""Reference code the synthetic posts show (literalinclude :pyobject:)."""
import numpy as np


def score(x, mu, sigma):
    """The score of a normal distribution."""
    return -(x - mu) / sigma**2


def softplus(x):
    """log(1 + e^x), computed without overflow."""
    return np.logaddexp(0.0, x)


def log_normal(x, mu, sigma):
    """The log density of a normal distribution."""
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi))


def running_mean(xs):
    """The mean of each prefix of xs."""
    return np.cumsum(xs) / np.arange(1, len(xs) + 1)
'''


def glossary_text() -> str:
    terms = "\n\n".join(f"{term}\n   {SENTENCES[k % len(SENTENCES)]}" for k, term in enumerate(GLOSSARY))
    return f"# 术语表\n\n```{{glossary}}\n{terms}\n```\n"


# -- corpus ------------------------------------------------------------------

def bib_entries() -> str:
    out = []
    for i in range(N_BIB):
        out.append(f"@article{{bench{i:03d},\n  author = {{Author{i}, Alice and Writer{i}, Bob}},\n"
                   f"  title = {{{{Synthetic Paper Number {i}}}}},\n"
                   f"  journal = {{Journal of Benchmarks}},\n"
                   f"  volume = {{{i % 40 + 1}}},\n  pages = {{{i}--{i + 9}}},\n"
                   f"  year = {{{1990 + i % 35}}},\n}}\n")
    return "\n".join(out)


def post_text(i: int, n: int, rng: random.Random, *, citations: bool, date: dt.date,
              tags: list[str]) -> str:
    others = rng.sample([j for j in range(n) if j != i], k=min(2, n - 1))
    concept = rng.randrange(N_CONCEPTS)
    cites = [f"bench{rng.randrange(N_BIB):03d}" for _ in range(2)]

    def cite(key):
        return f"{{footcite:p}}`{key}`" if citations else f"[{key}]"

    def para(k):
        return "".join(rng.choice(SENTENCES) for _ in range(k))

    refs = "、".join(f"{{ref}}`文章 {j} <post-{j:04d}>`" for j in others)
    body = [
        "---",
        f"date: {date:%Y-%m-%d}",
        f"category: {CATEGORIES[i % len(CATEGORIES)]}",
        f"tags: [{', '.join(tags)}]",
        f"series: {{name: s{i % 7}, part: {i // 7 + 1}}}",
        "---",
        "",
        f"(post-{i:04d})=",
        f"# 合成文章 {i}：梯度与采样",
        "",
        para(4) + f"相关的文章有 {refs}，基础概念见 {{ref}}`概念 {concept} <concept-{concept:02d}>`。"
        + cite(cites[0]),
        "",
        "## 推导",
        "",
        para(5),
        "",
        "$$",
        r"\nabla_\theta \mathbb{E}_{x\sim p_\theta}[f(x)] = \mathbb{E}_{x\sim p_\theta}"
        r"\bigl[f(x)\,\nabla_\theta \log p_\theta(x)\bigr]",
        f"$$ (eq-bench-{i:04d})",
        "",
        para(3) + f"式 {{eq}}`eq-bench-{i:04d}` 是后文的出发点。" + cite(cites[1]),
        "",
        "## 代码",
        "",
        "```python",
        "import numpy as np",
        "",
        "def score(x, mu, sigma):",
        "    # (N,) -> (N,)",
        "    return -(x - mu) / sigma**2",
        "```",
        "",
        # as every real post shows its reference code: one function of a module
        "```{literalinclude} ../bench_code.py",
        ":language: python",
        f":pyobject: {CODE_FUNCTIONS[i % len(CODE_FUNCTIONS)]}",
        "```",
        "",
        para(2) + f"这里的{{term}}`{GLOSSARY[i % len(GLOSSARY)]}`和{{term}}"
        f"`{GLOSSARY[(i + 3) % len(GLOSSARY)]}`都在术语表里。",
        "",
        # as all real posts draw their figures: the plot directive, inside {eval-rst}
        "```{eval-rst}",
        ".. plot::",
        f"   :alt: 一条折线，斜率为 {i % 5}",
        f"   :filename-prefix: post-{i:04d}",
        "",
        "   import matplotlib.pyplot as plt",
        f"   plt.figure(figsize=(2, 1.5)); plt.plot([0, 1], [0, {i % 5}])",
        "```",
        "",
        para(4),
        "",
        "## 小结",
        "",
        para(2),
        "",
    ]
    if citations:
        body += ["## 参考文献", "", "```{footbibliography}", "```", ""]
    return "\n".join(body)


def concept_text(k: int) -> str:
    return (f"(concept-{k:02d})=\n# 概念 {k}\n\n" + "".join(SENTENCES[:6]) + "\n\n"
            "$$\np(x) = \\frac{1}{Z} e^{-E(x)}\n$$\n")


SITE_CONF = '''\
import runpy, types
from pathlib import Path
ROOT = Path({root!r})
_conf = runpy.run_path(str(ROOT / "conf.py"))
globals().update({{k: v for k, v in _conf.items() if not k.startswith("_")
                  and not isinstance(v, (types.ModuleType, type)) and k != "ROOT"}})
templates_path = [str(ROOT / "_templates")]
html_static_path = [str(ROOT / "_static")]
locale_dirs = [str(ROOT / "locales")]
exclude_patterns = ["_build"]
extensions = extensions + ["bench_probe"]
blog_series = {{f"s{{k}}": f"系列{{k}}" for k in range(7)}}
'''

FLOOR_CONF = '''\
import sys
sys.path.insert(0, {probe_dir!r})
project = "bench"
language = "zh_CN"
extensions = ["myst_parser", "matplotlib.sphinxext.plot_directive", "bench_probe"]
myst_enable_extensions = ["dollarmath", "amsmath"]
html_theme = "alabaster"
exclude_patterns = ["_build"]
{sidebars}
'''

PROBE = '''\
"""Records what each build read and wrote (bench only)."""
import json
from pathlib import Path

def _read(app, env, docnames):
    app._bench_read = len(docnames)

def _page(app, pagename, templatename, context, doctree):
    app._bench_written = getattr(app, "_bench_written", 0) + (1 if doctree is not None else 0)

def _done(app, exc):
    Path(app.outdir, "..", "bench-probe.json").write_text(json.dumps(
        {"read": getattr(app, "_bench_read", 0), "written": getattr(app, "_bench_written", 0)}))

def setup(app):
    app.connect("env-before-read-docs", _read)
    app.connect("html-page-context", _page)
    app.connect("build-finished", _done)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
'''


def write_corpus(dest: Path, n: int, variant: str, seed: int = 0) -> None:
    """A project of *n* posts for *variant* ('site', 'floor' or 'alabaster-nav')."""
    rng = random.Random(seed)
    site = variant == "site"
    (dest / "posts").mkdir(parents=True)
    (dest / "concepts").mkdir()
    (dest / "bench_probe.py").write_text(PROBE)
    (dest / "bench_code.py").write_text(CODE, encoding="utf-8")
    (dest / "glossary.md").write_text(glossary_text(), encoding="utf-8")
    start = dt.date(2020, 1, 1)
    for i in range(n):
        date = start + dt.timedelta(days=i * 2000 // max(n, 1))
        tags = rng.sample(TAGS, k=3)
        (dest / "posts" / f"post-{i:04d}.md").write_text(
            post_text(i, n, rng, citations=site, date=date, tags=tags), encoding="utf-8")
    for k in range(N_CONCEPTS):
        (dest / "concepts" / f"c{k:02d}.md").write_text(concept_text(k), encoding="utf-8")
    concepts_index = "# 概念\n\n```{toctree}\n:glob:\n\nc*\n```\n"
    (dest / "concepts" / "index.md").write_text(concepts_index, encoding="utf-8")
    if site:
        (dest / "conf.py").write_text(SITE_CONF.format(root=str(ROOT)) +
                                      f"import sys; sys.path.insert(0, {str(dest)!r})\n")
        (dest / "refs.bib").write_text(bib_entries(), encoding="utf-8")
        shutil.copy(ROOT / "book.rst", dest / "book.rst")
        shutil.copy(ROOT / "graph.rst", dest / "graph.rst")     # the concept graph, as on the site
        shutil.copytree(ROOT / "_intersphinx", dest / "_intersphinx")  # read on every build
        (dest / "index.rst").write_text(
            "基准\n====\n\n.. latest-posts::\n\n.. toctree::\n   :hidden:\n\n   concepts/index\n"
            "   graph\n   glossary\n", encoding="utf-8")
    else:
        sidebars = 'html_sidebars = {"**": []}' if variant == "floor" else ""
        (dest / "conf.py").write_text(FLOOR_CONF.format(probe_dir=str(dest), sidebars=sidebars))
        (dest / "index.rst").write_text(
            "基准\n====\n\n.. toctree::\n   :glob:\n\n   concepts/index\n   glossary\n   posts/*\n",
            encoding="utf-8")


# -- measuring ---------------------------------------------------------------

def run_build(src: Path, *extra: str, builder: str = "html") -> dict:
    """One sphinx-build process: wall time, peak RSS, what it read and wrote."""
    out = src / "_build"
    cmd = [sys.executable, "-m", "sphinx", "-b", builder, "-q", *extra, str(src), str(out / builder)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    # stderr goes to a file, not a pipe: a worker process that outlives a killed
    # build (-j 2 under the OOM killer) would hold a pipe open and hang the read.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, cwd=src, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"build failed: {' '.join(cmd)}\n{stderr[-3000:]}")
    probe = json.loads((out / "bench-probe.json").read_text()) \
        if (out / "bench-probe.json").exists() else {}
    return {"seconds": elapsed, "peak_mib": usage.ru_maxrss / 1024, **probe}


def html_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and ".doctrees" not in p.parts)


def edit_body(src: Path) -> None:
    post = src / "posts" / "post-0001.md"
    post.write_text(post.read_text(encoding="utf-8").replace("## 小结\n\n", "## 小结\n\n补充一句。"),
                    encoding="utf-8")


def add_post(src: Path, n: int, variant: str) -> None:
    text = post_text(n, n + 1, random.Random(1), citations=variant == "site",
                     date=dt.date(2026, 1, 1), tags=["标签00"])
    (src / "posts" / f"post-{n:04d}.md").write_text(text, encoding="utf-8")


def retag(src: Path) -> None:
    post = src / "posts" / "post-0002.md"
    text = post.read_text(encoding="utf-8")
    start = text.index("tags: [")
    end = text.index("]", start)
    post.write_text(text[:start] + "tags: [新标签]" + text[end + 1:], encoding="utf-8")


def serve_latency(src: Path, runs: int = 3, *, autobuild: bool = False) -> dict:
    """``make serve`` at work: seconds from saving a post to Chromium showing the change.

    The preview server as the Makefile starts it (``tools/serve.py``, the search index left
    out: ``-D mlnotes_search_index=0``), on the output the benchmark's builds left; a post
    open in the browser; each run appends a sentence to it and waits until the page,
    reloaded by the server, shows it.  The median of *runs*.  With *autobuild*, the same
    with sphinx-autobuild, which runs a new ``sphinx-build`` for each change (what ``make
    serve`` ran before ``tools/serve.py``): the baseline, measured in the same run."""
    import socket
    import urllib.request

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        return {}
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = src / "_build" / "html"
    cmd = [sys.executable, str(ROOT / "tools" / "serve.py"), "-d", str(out / ".doctrees"),
           "-D", "mlnotes_search_index=0", str(src), str(out), "--host", "127.0.0.1", "--port", str(port)]
    if autobuild:
        cmd = [sys.executable, "-m", "sphinx_autobuild", "-b", "html", "-q", "-D", "mlnotes_search_index=0",
               str(src), str(out), "--host", "127.0.0.1", "--port", str(port),
               "--ignore", str(src / "_build")]
    env = {**os.environ, "PYTHONPATH": str(src)}
    server = subprocess.Popen(cmd, cwd=src, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/posts/post-0001.html"
    post = src / "posts" / "post-0001.md"
    seconds = []
    try:
        deadline = time.monotonic() + 600
        while True:   # the first build, then the server
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the preview server did not start") from None
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page()
            page.goto(url)
            for i in range(runs):
                marker = f"预览第{i}次改动{time.time_ns()}"   # new to the page each time
                time.sleep(2)   # the previous reload has settled
                t0 = time.perf_counter()
                text = post.read_text(encoding="utf-8")
                post.write_text(text.replace("## 小结\n\n", f"## 小结\n\n{marker}"), encoding="utf-8")
                while True:
                    try:
                        if marker in page.evaluate("document.body ? document.body.innerText : ''"):
                            break
                    except PlaywrightError:   # the page is reloading
                        pass
                    if time.perf_counter() - t0 > 300:
                        raise RuntimeError("the preview never showed the change")
                    time.sleep(0.05)
                seconds.append(time.perf_counter() - t0)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"seconds": statistics.median(seconds), "runs": seconds}


def bench_variant(work: Path, n: int, variant: str, *, steps: bool, parallel: bool,
                  latex: bool, serve: bool = False) -> dict:
    src = work / f"{variant}-{n}"
    write_corpus(src, n, variant)
    res: dict = {"variant": variant, "n": n}
    res["full"] = run_build(src)
    out = src / "_build" / "html"
    res["output_mib"] = html_bytes(out) / 2**20
    res["post_page_kib"] = (out / "posts" / "post-0000.html").stat().st_size / 1024
    res["front_page_kib"] = (out / "index.html").stat().st_size / 1024
    doctrees = out / ".doctrees"
    res["doctrees_mib"] = sum(p.stat().st_size for p in doctrees.rglob("*") if p.is_file()) / 2**20
    res["largest_post_doctree_kib"] = max(
        p.stat().st_size for p in (doctrees / "posts").glob("*.doctree")) / 1024
    if variant == "site":
        res["search"] = search_measures(out, doctrees)
    if steps:
        res["nochange"] = run_build(src)
        edit_body(src)
        res["edit"] = run_build(src)
        add_post(src, n, variant)
        res["add"] = run_build(src)
        retag(src)
        res["retag"] = run_build(src)
    if serve:
        res["serve"] = serve_latency(src)
        res["serve_autobuild"] = serve_latency(src, autobuild=True)
    if parallel:
        shutil.rmtree(src / "_build")
        # parallel read: ABlog made parallel-read safe by _ext/mlnotes_blog.py
        res["full_j2"] = run_build(src, "-j", "2")
    if latex:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sphinx", "-M", "latexpdf", str(src),
                        str(src / "_build"), "-q"], cwd=src, check=True,
                       env={**os.environ, "PYTHONPATH": str(src)},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        res["latexpdf_seconds"] = time.perf_counter() - t0
    shutil.rmtree(src)
    return res


# The queries whose cost is measured: words every synthetic post has, and rarer ones.
SEARCH_QUERIES = ["随机梯度下降", "特征值 对称正定", "学习率", "标签07"]


def search_measures(out: Path, doctrees: Path) -> dict:
    """The search index: time to build it, its size, and what one query downloads.

    Bytes per query are measured in Chromium (when Debian's ``chromium`` is there): each
    query typed into ``search.html`` in a fresh browser context (empty cache), summing the
    response bodies of everything under ``pagefind/``, split into the engine (Pagefind's
    script and WebAssembly, the same for any query) and index data (the entry, the
    metadata, the index chunks the query's words are in and one record per result shown).
    """
    stats = json.loads((doctrees / "mlnotes-search" / "stats.json").read_text())
    bundle = out / "pagefind"
    res = {"index_seconds": stats["seconds"], "pages": stats["pages"],
           "index_mib": sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 2**20}
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        return res
    import functools
    import http.server
    import threading
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    per_query = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            for query in SEARCH_QUERIES:
                context = browser.new_context()
                page = context.new_page()
                sizes: dict[str, int] = {}
                page.on("requestfinished", lambda r, sizes=sizes: sizes.__setitem__(
                    r.url, r.sizes()["responseBodySize"]) if "/pagefind/" in r.url else None)
                page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/search.html?q={quote(query)}")
                page.wait_for_function(
                    "q => document.querySelector('.mlnotes-search-status')"
                    ".textContent.includes('“' + q + '”')", arg=query, timeout=120_000)
                engine = sum(n for url, n in sizes.items() if url.endswith((".js", ".pagefind")))
                per_query.append({"query": query, "engine_kib": engine / 1024,
                                  "index_kib": (sum(sizes.values()) - engine) / 1024,
                                  "results": page.locator(".mlnotes-search-result").count()})
                context.close()
            browser.close()
    finally:
        httpd.shutdown()
    res["queries"] = per_query
    res["max_index_kib_per_query"] = max(q["index_kib"] for q in per_query)
    return res


# -- reporting ---------------------------------------------------------------

def table(results: list[dict]) -> str:
    floor = {r["n"]: r["full"]["seconds"] for r in results if r["variant"] == "floor"}
    lines = [
        "| N | build | full (s) | × floor | per post (ms) | peak RSS (MiB) | output (MiB) | post page (KiB) "
        "| front page (KiB) "
        "| .doctrees (MiB) | largest post doctree (KiB) "
        "| no change (s, read/written) | body edit | add post | retag | -j 2 (s) | latexpdf (s) "
        "| preview (s; sphinx-autobuild) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def step(r, name):
        if name not in r:
            return "–"
        s = r[name]
        share = 100 * s["seconds"] / r["full"]["seconds"]
        return f"{s['seconds']:.1f} ({share:.0f}%), {s.get('read', '?')}/{s.get('written', '?')}"

    for r in results:
        full = r["full"]["seconds"]
        ratio = f"{full / floor[r['n']]:.2f}" if r["n"] in floor else "–"
        j2 = f"{r['full_j2']['seconds']:.1f}" if "full_j2" in r else "–"
        latex = f"{r['latexpdf_seconds']:.0f}" if "latexpdf_seconds" in r else "–"
        serve = f"{r['serve']['seconds']:.1f}" if r.get("serve") else "–"
        if r.get("serve_autobuild"):
            serve += f"; {r['serve_autobuild']['seconds']:.1f}"
        lines.append(
            f"| {r['n']} | {r['variant']} | {full:.1f} | {ratio} | {1000 * full / r['n']:.0f} | "
            f"{r['full']['peak_mib']:.0f} | {r['output_mib']:.1f} | {r['post_page_kib']:.1f} | "
            f"{r['front_page_kib']:.1f} | "
            f"{r['doctrees_mib']:.1f} | {r['largest_post_doctree_kib']:.0f} | "
            f"{step(r, 'nochange')} | {step(r, 'edit')} | {step(r, 'add')} | {step(r, 'retag')} | "
            f"{j2} | {latex} | {serve} |")
    return "\n".join(lines)


def search_table(results: list[dict]) -> str:
    """The search index of the site builds: its build time, size and cost per query."""
    lines = ["| N | pages indexed | index build (s) | share of full build | index files (MiB) "
             "| index data per query, max (KiB) | engine, once (KiB) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        if "search" not in r:
            continue
        q = r["search"]
        engine = f"{max(x['engine_kib'] for x in q['queries']):.0f}" if q.get("queries") else "–"
        per_query = f"{q['max_index_kib_per_query']:.0f}" if q.get("queries") else "– (no chromium)"
        lines.append(f"| {r['n']} | {q['pages']} | {q['index_seconds']:.1f} | "
                     f"{100 * q['index_seconds'] / r['full']['seconds']:.0f}% | {q['index_mib']:.1f} | "
                     f"{per_query} | {engine} |")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for variant in ("site", "floor", "alabaster-nav"):
        rows = sorted((r["n"], r["full"]["seconds"]) for r in results if r["variant"] == variant)
        if rows:
            ax.plot(*zip(*rows, strict=True), marker="o", label=variant)
    ax.set_xlabel("posts (N)")
    ax.set_ylabel("full HTML build (s)")
    ax.set_title("Build time against N (one run, 2-core machine)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="30,300,1000", help="comma-separated N")
    parser.add_argument("--variants", default="site,floor,alabaster-nav")
    parser.add_argument("--latex-sizes", default="30,300", help="N at which to time latexpdf")
    parser.add_argument("--parallel-sizes", default="30,300,1000", help="N at which to time -j 2")
    parser.add_argument("--serve-sizes", default="1000", help="N at which to time make serve's preview")
    parser.add_argument("--out", type=Path, default=ROOT / "tools" / "bench-results",
                        help="where to write results.md, results.json and build-time.png")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = args.variants.split(",")
    latex_sizes = {int(s) for s in args.latex_sizes.split(",") if s}
    parallel_sizes = {int(s) for s in args.parallel_sizes.split(",") if s}
    serve_sizes = {int(s) for s in args.serve_sizes.split(",") if s}
    results = []
    with tempfile.TemporaryDirectory(prefix="mlnotes-bench-") as tmp:
        for n in sizes:
            for variant in variants:
                print(f"-- N={n} {variant}", file=sys.stderr, flush=True)
                results.append(bench_variant(
                    Path(tmp), n, variant, steps=variant != "alabaster-nav",
                    parallel=variant == "site" and n in parallel_sizes,
                    latex=variant == "site" and n in latex_sizes,
                    serve=variant == "site" and n in serve_sizes))
    md = table(results) + "\n\nSearch index (site builds):\n\n" + search_table(results)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(md + "\n", encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    plot(results, args.out / "build-time.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
