"""Side caches in the doctree directory are dropped when the code that wrote them changes.

Each stores ``mlnotes_core.code_version`` of its modules with its inputs' versions; a
cache written by other code is not read.  Here the caches of a built project are rewritten
as other code would have left them (another version, wrong content) and the next build
must not show that content.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path

import mlnotes_core
from conftest import build, copy_root, replace_in, write_post


def test_code_version_follows_the_source(tmp_path):
    one, two = tmp_path / "a.py", tmp_path / "b.py"
    one.write_text("X = 1\n")
    two.write_text("X = 1\n")
    first = mlnotes_core.code_version(str(one))
    assert first == mlnotes_core.code_version(str(two))      # by content, not by name
    three = tmp_path / "c.py"     # (a process computes each file's once: code does not change under it)
    three.write_text("X = 2\n")
    assert mlnotes_core.code_version(str(three)) != first


def test_caches_written_by_other_code_are_not_read(tmp_path):
    src = copy_root("blog", tmp_path)
    (src / "posts").mkdir(exist_ok=True)
    write_post(src, "one", dt.date(2024, 1, 1), title="第一篇", body="公式 $a^2+b^2$ 在这里。")
    write_post(src, "two", dt.date(2025, 1, 1), title="第二篇", body="草稿。", extra="draft: true\n")
    build(src)
    doctrees, html = src / "_build" / "doctrees", src / "_build" / "html"
    assert not (html / "posts" / "two.html").exists()

    # the formulas drawn, as other code would have left them
    math = doctrees / "mlnotes-mathsvg.pickle"
    stored = pickle.loads(math.read_bytes())
    assert stored["formulas"]
    stored["key"] = ("other code",)
    stored["formulas"] = {key: "<b>STALE</b>" for key in stored["formulas"]}
    math.write_bytes(pickle.dumps(stored))
    # the drafts, as other code would have left them: "two" recorded as published
    drafts = doctrees / "mlnotes-drafts.json"
    record = json.loads(drafts.read_text(encoding="utf-8"))
    ext = Path(mlnotes_core.__file__).parent
    assert record["version"] == mlnotes_core.code_version(str(ext / "mlnotes_frontmatter.py"),
                                                          str(ext / "mlnotes_postfile.py"))
    posts = {rel: [*entry[:3], False, entry[4]] for rel, entry in record["posts"].items()}
    drafts.write_text(json.dumps({"version": "other code", "posts": posts}), encoding="utf-8")

    replace_in(src / "posts" / "one.md", "在这里。", "在这里，改过。")
    build(src)
    page = (html / "posts" / "one.html").read_text(encoding="utf-8")
    assert "改过" in page and "STALE" not in page and "<svg" in page
    assert not (html / "posts" / "two.html").exists()      # still a draft
