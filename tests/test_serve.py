"""``make serve`` (``tools/serve.py``): one Sphinx application built again for each change.

The preview server's premise is that building a kept application again gives what a new
``sphinx-build`` gives; the first test proves it on the site's configuration.  The browser
test drives the real server: a saved post shows in the open page, a saved Python file
starts a new build process.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
import serve
from conftest import ROOT, assert_same_as_clean_build, copy_root, replace_in, write_post


def blog_with_posts(tmp_path: Path) -> Path:
    src = copy_root("blog", tmp_path)
    (src / "posts").mkdir(exist_ok=True)
    write_post(src, "one", dt.date(2024, 1, 1), title="第一篇", body="第一篇的正文。", tags=("甲", "乙"))
    write_post(src, "two", dt.date(2024, 2, 1), title="第二篇", body="第二篇的正文，见[第一篇](one.md)。")
    return src


def test_building_one_application_again_equals_a_clean_build(tmp_path):
    """Edit a post's text, retag it, retitle the other, change a date: each built by the
    same application, as the preview server builds saved documents."""
    from sphinx.testing.util import SphinxTestApp

    src = blog_with_posts(tmp_path)
    warning = StringIO()
    app = SphinxTestApp("html", srcdir=src, builddir=src / "_build", status=StringIO(), warning=warning)
    try:
        app.build()
        one, two = src / "posts" / "one.md", src / "posts" / "two.md"
        steps = [
            lambda: replace_in(one, "第一篇的正文。", "第一篇的正文，改过了。"),
            lambda: replace_in(one, "tags: [甲, 乙]", "tags: [甲, 丙]"),
            lambda: replace_in(two, "# 第二篇", "# 第二篇，改了标题"),
            lambda: replace_in(one, "date: 2024-01-01", "date: 2024-03-01"),
        ]
        for step in steps:
            time.sleep(0.01)   # a new modification time
            step()
            app.build()
        assert app.statuscode == 0, warning.getvalue()
    finally:
        app.cleanup()
    html = (src / "_build" / "html" / "blog" / "tag" / "丙.html").read_text(encoding="utf-8")
    assert "第一篇" in html
    assert_same_as_clean_build(src, tmp_path)


def test_what_a_change_needs(tmp_path):
    args = serve.parse_args([str(tmp_path), str(tmp_path / "_build" / "serve"),
                             "-d", str(tmp_path / "_build" / "doctrees-serve")])
    post, concept = tmp_path / "posts" / "a.md", tmp_path / "concepts" / "b.rst"
    for path in (post, concept, tmp_path / "_build" / "serve" / "c.md", tmp_path / ".venv" / "d.md"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# 标题\n", encoding="utf-8")
    known = serve.documents(args)
    assert known == {post, concept}
    assert not serve.needs_new_worker([post, concept], known, args)
    for other in ("conf.py", "_ext/mlnotes_blog.py", "_templates/page.html", "refs.bib",
                  "_static/custom.css", "posts/figure.png"):
        assert serve.needs_new_worker([post, tmp_path / other], known, args), other
    new = tmp_path / "posts" / "new.md"
    new.write_text("# 新\n", encoding="utf-8")
    assert serve.needs_new_worker([new], known, args)      # a new post: ABlog must match it
    concept.unlink()
    assert serve.needs_new_worker([concept], known, args)  # a removed one
    assert serve.watched(post, args)
    for ignored in ("_build/serve/index.html", "_build/doctrees-serve/x.doctree", ".git/index",
                    ".venv/lib/x.py", "posts/.a.md.swp", "posts/4913", "node_modules/x/y.js",
                    "mlnotes/__pycache__/a.pyc"):
        assert not serve.watched(tmp_path / ignored, args), ignored


@pytest.mark.browser
def test_a_saved_post_shows_in_the_open_page(tmp_path, browser):
    src = blog_with_posts(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out, log = src / "_build" / "serve", tmp_path / "serve.log"
    cmd = [sys.executable, str(ROOT / "tools" / "serve.py"), "-d", str(src / "_build" / "doctrees-serve"),
           "-D", "mlnotes_search_index=0", str(src), str(out), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(src)])}
    url = f"http://127.0.0.1:{port}/posts/one.html"
    with log.open("w") as output:
        server = subprocess.Popen(cmd, cwd=src, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                text = log.read_text()
                assert server.poll() is None and time.monotonic() < deadline, text
                assert "the build stopped with an error" not in text, text
                time.sleep(0.3)
        page = browser.new_page()
        page.goto(url)

        def shows(text: str) -> None:
            page.wait_for_function("t => document.body && document.body.innerText.includes(t)",
                                   arg=text, timeout=120_000)

        replace_in(src / "posts" / "one.md", "第一篇的正文。", "第一篇的正文，第一次保存。")
        shows("第一次保存")
        assert "posts/one.md changed: building" in log.read_text()
        # Python code is read only when a process starts: a new worker builds the change
        (src / "helper.py").write_text("VALUE = 1\n", encoding="utf-8")
        time.sleep(1)
        replace_in(src / "posts" / "one.md", "第一次保存", "第二次保存")
        shows("第二次保存")
        assert "starting a new build process" in log.read_text()
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    text = log.read_text()
    assert "Traceback" not in text, text
