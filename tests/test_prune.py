"""Pages no longer made leave the output (``_ext/mlnotes_prune.py``, ``mlnotes_blog``).

Sphinx never deletes a page: a deleted post, and the tag page and feed of a tag no post
has any more, stayed in ``_build/html`` (published) after an incremental build, which a
clean build does not have.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import assert_same_as_clean_build, build, copy_root, replace_in, write_post


def test_removed_post_and_its_tag_leave_the_output(tmp_path):
    src = copy_root("blog", tmp_path)
    (src / "posts").mkdir(exist_ok=True)
    write_post(src, "one", dt.date(2024, 1, 1), title="第一篇", tags=("甲", "乙"))
    write_post(src, "two", dt.date(2024, 2, 1), title="第二篇", tags=("甲",))
    write_post(src, "three", dt.date(2024, 3, 1), title="第三篇", tags=("丙",))
    build(src)
    html = src / "_build" / "html"
    made = [html / "posts" / "one.html", html / "blog" / "tag" / "乙.html",
            html / "blog" / "tag" / "乙" / "atom.xml", html / "posts" / "three.html",
            html / "blog" / "tag" / "丙.html"]
    assert all(path.is_file() for path in made)
    (src / "posts" / "one.md").unlink()                                     # deleted
    replace_in(src / "posts" / "three.md", "tags: [丙]", "draft: true\ntags: [丙]")  # a draft again
    build(src)
    assert [path.relative_to(html).as_posix() for path in made if path.exists()] == []
    assert not (html / "blog" / "tag" / "乙").exists()   # the feed's directory too
    assert (html / "posts" / "two.html").is_file() and (html / "blog" / "tag" / "甲.html").is_file()
    assert_same_as_clean_build(src, tmp_path)


def test_other_files_in_the_output_are_kept(tmp_path):
    """Only pages a recorded build made are removed."""
    src = copy_root("blog", tmp_path)
    (src / "posts").mkdir(exist_ok=True)
    write_post(src, "one", dt.date(2024, 1, 1))
    build(src)
    html = src / "_build" / "html"
    (html / "notes.html").write_text("<p>mine</p>", encoding="utf-8")
    (html / "posts" / "extra.html").write_text("<p>mine</p>", encoding="utf-8")
    write_post(src, "two", dt.date(2024, 2, 1))
    build(src)
    assert (html / "notes.html").is_file() and (html / "posts" / "extra.html").is_file()


@pytest.mark.sphinx("html", testroot="prune")
def test_a_deleted_document_loses_its_page_on_the_next_build(app):
    """On a root that loads mlnotes_prune alone, with one application built twice."""
    app.build()
    gone, kept = app.outdir / "notes" / "gone.html", app.outdir / "notes" / "kept.html"
    assert gone.is_file() and kept.is_file()
    (app.srcdir / "notes" / "gone.rst").unlink()
    app.build()
    assert not gone.exists() and kept.is_file()
    assert (app.outdir / "notes").is_dir()
