"""Bad input is an error that names the file and line, and loses nothing else.

Each project under ``roots/`` is built with the site's real configuration.  The
build keeps going past errors (as ``--keep-going`` does), so one run reports every
problem; the tests check the exact messages and that the good posts still build.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import build, copy_root, parse_warnings, sphinx_build

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def frontmatter(tmp_path_factory):
    srcdir = copy_root("frontmatter", tmp_path_factory.mktemp("fm"))
    app, _, warnings = build(srcdir)
    return srcdir, app, parse_warnings(warnings, srcdir)


CATEGORIES = "Python, Deep Learning, Machine Learning, Generative Model"


@pytest.mark.parametrize(("file", "line", "message"), [
    ("posts/bad-date.md", 2,
     "malformed date '2026-13-45': expected YYYY-MM-DD, e.g. 2026-01-11"),
    ("posts/no-date.md", 4, "post has no 'date' (write e.g. 'date: 2026-01-11')"),
    ("posts/unknown-category.md", 3, f"unknown category 'Physics'; use one of: {CATEGORIES}"),
    ("posts/tags-string.md", 4,
     "'tags' must be a list of strings, e.g. 'tags: [扩散模型, 采样]', not '甲, 乙'"),
    ("posts/no-title.md", 5, "post has no title: start the body with a '# 标题' heading"),
    ("posts/typo-key.md", 3, "unknown front-matter key 'catgory' "
     "(a post uses: author, category, date, draft, excerpt, series, tags)"),
    ("posts/typo-key.md", 4, f"post has no 'category' (one of: {CATEGORIES})"),
    ("posts/good.md", 1,
     "duplicate post slug 'good': also used by posts/dup/good.md; rename one of the files"),
])
def test_error_names_file_and_line(frontmatter, file, line, message):
    _, _, found = frontmatter
    assert (file, line, "ERROR", f"{message} [mlnotes.frontmatter]") in found


def test_no_other_errors(frontmatter):
    """Exactly the problems above, each once: no cascade of follow-up errors."""
    _, _, found = frontmatter
    ours = [w for w in found if w[3].endswith("[mlnotes.frontmatter]")]
    assert len(ours) == 8
    others = [w for w in found if not w[3].endswith("[mlnotes.frontmatter]")]
    # MyST itself cannot parse the impossible date either, and says so.
    assert others == [("posts/bad-date.md", 1, "WARNING", "Malformed YAML [myst.topmatter]")]


def test_good_posts_still_published(frontmatter):
    """Fatal problems unpublish only their own post; recoverable ones keep it."""
    srcdir, _, _ = frontmatter
    html = (srcdir / "_build" / "html" / "index.html").read_text(encoding="utf-8")
    titles = [a.get_text() for a in BeautifulSoup(html, "lxml").select(".mlnotes-post-title a")]
    assert sorted(titles) == sorted(["正常的文章", "分类未知的文章", "标签不是列表的文章",
                                     "键名拼错的文章", "同名的另一篇文章"])


def test_dropped_fields_do_not_leak(frontmatter):
    """The unknown category is not turned into an archive page of its own."""
    srcdir, _, _ = frontmatter
    out = srcdir / "_build" / "html" / "blog" / "category"
    assert not list(out.glob("physics*"))
    assert (out / "python.html").is_file()


@pytest.mark.parametrize(("root", "expected"), [
    ("duplicate-label", ("two.md", 6, "WARNING", "duplicate label same-label, other instance "
                         "in {srcdir}/one.md")),
    ("unknown-citation", ("posts/cites.md", 8, "WARNING",
                          "could not find bibtex key \"nosuchkey2099\" [bibtex.key_not_found]")),
])
def test_sphinx_errors_are_located(tmp_path, root, expected):
    srcdir = copy_root(root, tmp_path)
    _, _, warnings = build(srcdir)
    file, line, level, message = expected
    assert (file, line, level, message.format(srcdir=srcdir)) in parse_warnings(warnings, srcdir)


@pytest.mark.parametrize("root", ["frontmatter", "duplicate-label", "unknown-citation"])
def test_strict_build_fails(tmp_path, root):
    """Under the flags of ``make html``/``make test`` each of these fails the build."""
    srcdir = copy_root(root, tmp_path)
    result = sphinx_build(srcdir, tmp_path / "out", env={"PYTHONPATH": str(TESTS)})
    assert result.returncode == 1
    assert parse_warnings(result.stderr, srcdir), result.stderr


def test_two_posts_cite_one_paper(tmp_path):
    """Per-post reference lists: a shared key is no duplicate-citation problem."""
    srcdir = copy_root("citations", tmp_path)
    _, _, warnings = build(srcdir)
    assert warnings.strip() == ""
    html = srcdir / "_build" / "html" / "posts"

    def refs(name):
        page = BeautifulSoup((html / name).read_text(encoding="utf-8"), "lxml")
        heading = next(h for h in page.select("h2") if h.get_text().startswith("参考文献"))
        return [n.get_text(" ", strip=True) for n in heading.parent.select(".footnote p")]

    first, second = refs("first.html"), refs("second.html")
    assert first == ["Jane Doe and Richard Roe. A paper cited by two posts. "
                     "Journal of Tests , 2020."]
    assert first[0] in second and len(second) == 2
    assert any("Edgar Poe" in e for e in second)
