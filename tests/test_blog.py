"""The blog on a generated project: front page, archives, feeds, drafts, incremental builds."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from bs4 import BeautifulSoup
from conftest import (
    ROOT,
    assert_same_as_clean_build,
    assert_same_html,
    build,
    build_serial_and_parallel,
    copy_root,
    feed_entries,
    replace_in,
    write_post,
)

N_POSTS = 26          # three front pages: 12 + 12 + 2
CATS = ["Python", "Deep Learning", "Machine Learning", "Generative Model"]


def make_blog(dest):
    srcdir = copy_root("blog", dest)
    (srcdir / "posts").mkdir()
    posts = {}
    for i in range(N_POSTS):
        slug = f"post-{i:02d}"
        date = dt.date(2025, 12, 20) + dt.timedelta(days=i // 2)   # pairs share a date
        category = CATS[i % 4]
        tags = ("甲",) if i % 2 else ("甲", "乙")
        write_post(srcdir, slug, date, category=category, tags=tags)
        posts[f"posts/{slug}"] = (date, category, tags)
    return srcdir, posts


def expected_order(posts):
    by_name = sorted(posts)
    return sorted(by_name, key=lambda doc: posts[doc][0], reverse=True)


def soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def front_pages(html):
    """Follow the pager from index.html; return [(page file, [post hrefs])]."""
    pages, path = [], html / "index.html"
    while path is not None:
        doc = soup(path)
        hrefs = [a["href"] for a in doc.select(".mlnotes-post-title a")]
        pages.append((path.relative_to(html).as_posix(), hrefs))
        nxt = doc.select_one('.mlnotes-pager a[rel="next"]')
        path = (path.parent / nxt["href"]).resolve() if nxt else None
    return pages


def docname_of(page, href):
    return (page.rsplit("/", 1)[0] + "/" + href if "/" in page else href) \
        .replace("../", "").removesuffix(".html").replace("page/", "", 0)


@pytest.fixture(scope="module")
def blog(tmp_path_factory):
    srcdir, posts = make_blog(tmp_path_factory.mktemp("blog"))
    build(srcdir)
    return srcdir, posts, srcdir / "_build" / "html"


def listed(html, page_rel):
    """Post docnames linked from the post list on one front page."""
    out = []
    for href in soup(html / page_rel).select(".mlnotes-post-title a"):
        target = ((html / page_rel).parent / href["href"]).resolve()
        out.append(target.relative_to(html.resolve()).as_posix().removesuffix(".html"))
    return out


def test_front_page_lists_every_post_once_newest_first(blog):
    _, posts, html = blog
    pages = front_pages(html)
    assert [p for p, _ in pages] == ["index.html", "page/2.html", "page/3.html"]
    assert [len(h) for _, h in pages] == [12, 12, 2]
    everything = [doc for page, _ in pages for doc in listed(html, page)]
    assert everything == expected_order(posts)          # once each, newest first, ties by name


def test_pager_has_numbered_links_without_javascript(blog):
    _, _, html = blog
    for page in ["index.html", "page/2.html", "page/3.html"]:
        pager = soup(html / page).select_one("nav.mlnotes-pager")
        numbers = [el.get_text() for el in pager.select("li > a, li > span")
                   if el.get_text().isdigit()]
        assert numbers == ["1", "2", "3"]
        current = pager.select_one('[aria-current="page"]').get_text()
        assert current == ("1" if page == "index.html" else page[5])
        for a in pager.select("a"):
            assert (html / page).parent.joinpath(a["href"]).resolve().is_file()


def test_pager_stays_short_with_many_pages():
    """The first, the last and two either side of the current page: the front page's
    weight must not grow with the number of posts (issue 18)."""
    from mlnotes_frontpage import pager_numbers

    assert pager_numbers(5, 84) == [1, 3, 4, 5, 6, 7, 84]
    assert len(pager_numbers(84, 84)) == 4 and pager_numbers(2, 2) == [1, 2]


def test_entry_shows_title_category_chinese_date_excerpt(blog):
    _, _, html = blog
    card = soup(html / "index.html").select_one(".mlnotes-post-card")
    # newest: post-25 and post-24 share 2026-01-01; post-24 sorts first by name
    assert card.select_one(".mlnotes-post-title").get_text() == "文章 post-24"
    assert card.select_one("time").get_text() == "2026年1月1日"
    assert card.select_one("time")["datetime"] == "2026-01-01"
    assert card.select_one(".mlnotes-category").get_text() == "Python"   # 24 % 4 == 0
    assert card.select_one(".mlnotes-post-excerpt").get_text(strip=True) == "正文第一段。"


def archive_posts(path):
    return sorted(a["href"].rsplit("/", 1)[-1].removesuffix(".html")
                  for a in soup(path).select(".ablog-post-title a"))


@pytest.mark.parametrize("category", CATS)
def test_category_archive(blog, category):
    _, posts, html = blog
    slug = category.lower().replace(" ", "-")
    expect = sorted(d.split("/")[1] for d, (_, c, _) in posts.items() if c == category)
    assert archive_posts(html / "blog" / "category" / f"{slug}.html") == expect


@pytest.mark.parametrize("tag", ["甲", "乙"])
def test_tag_archive(blog, tag):
    _, posts, html = blog
    expect = sorted(d.split("/")[1] for d, (_, _, tags) in posts.items() if tag in tags)
    assert archive_posts(html / "blog" / "tag" / f"{tag}.html") == expect


@pytest.mark.parametrize("year", [2025, 2026])
def test_year_archive(blog, year):
    _, posts, html = blog
    expect = sorted(d.split("/")[1] for d, (date, _, _) in posts.items() if date.year == year)
    assert archive_posts(html / "blog" / f"{year}.html") == expect


def test_feeds_contain_every_post(blog):
    _, posts, html = blog
    entries = feed_entries(html / "blog" / "atom.xml")
    assert sorted(link.removesuffix(".html") for link, _, _ in entries) == \
        sorted(d.split("/")[1] for d in posts)
    for category in CATS:
        slug = category.lower().replace(" ", "-")
        got = feed_entries(html / "blog" / "category" / slug / "atom.xml")
        expect = [d for d, (_, c, _) in posts.items() if c == category]
        assert len(got) == len(expect)


def test_post_page_shows_date_category_tags(blog):
    _, _, html = blog
    info = soup(html / "posts" / "post-03.html").select_one("p.mlnotes-post-info")
    assert info.get_text() == "发表于 2025年12月21日 · 阅读约 1 分钟 · 分类：生成模型 · 标签：甲"
    link = info.select_one("a")
    assert (html / "posts" / link["href"]).resolve() == \
        (html / "blog" / "category" / "generative-model.html").resolve()


def test_drafts_are_not_published(tmp_path):
    srcdir, _ = make_blog(tmp_path)
    write_post(srcdir, "draft", dt.date(2025, 12, 1), extra="draft: true\n")
    write_post(srcdir, "future", dt.date.today() + dt.timedelta(days=30))
    _, read, _ = build(srcdir)
    html = srcdir / "_build" / "html"
    assert "posts/draft" not in read and "posts/future" not in read
    assert not (html / "posts" / "draft.html").exists()
    assert not (html / "posts" / "future.html").exists()
    links = [link for link, _, _ in feed_entries(html / "blog" / "atom.xml")]
    assert "draft.html" not in links and "future.html" not in links


def test_drafts_follow_edits_and_the_calendar(tmp_path, monkeypatch):
    """Whether a post is a draft is remembered per file version, its date rechecked each build."""
    srcdir, _ = make_blog(tmp_path)
    future = dt.date(2026, 3, 1)
    write_post(srcdir, "future", future)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp())))
    _, read, _ = build(srcdir)
    assert "posts/future" not in read
    replace_in(srcdir / "posts" / "post-03.md", "tags: [甲]", "tags: [甲]\ndraft: true")
    _, read, _ = build(srcdir)
    html = srcdir / "_build" / "html"
    assert "post-03.html" not in [link for link, _, _ in feed_entries(html / "blog" / "atom.xml")]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp())))
    _, read, _ = build(srcdir)
    assert "posts/future" in read
    assert "future.html" in [link for link, _, _ in feed_entries(html / "blog" / "atom.xml")]


# -- incremental builds --------------------------------------------------------

@pytest.fixture
def built_blog(tmp_path):
    srcdir, posts = make_blog(tmp_path)
    _, read, _ = build(srcdir)
    assert len(read) == N_POSTS + 1
    return srcdir, posts


def written_docs(app):
    """Source documents whose pages this build wrote (archive pages are always written)."""
    return sorted(set(app.written) & set(app.env.found_docs))


def test_no_change_rereads_nothing(built_blog):
    srcdir, _ = built_blog
    app, read, _ = build(srcdir)
    assert read == []
    assert written_docs(app) == []


def feed_times(html):
    return {feed: feed.stat().st_mtime_ns for feed in html.rglob("atom.xml")}


def test_body_edit_rereads_and_writes_one_post(built_blog, tmp_path):
    """An edit after the excerpt changes no list: no archive page, feed or front page."""
    srcdir, _ = built_blog
    html = srcdir / "_build" / "html"
    feeds_before = feed_times(html)
    replace_in(srcdir / "posts" / "post-05.md", "更多内容。", "改过的内容。")
    app, read, _ = build(srcdir)
    assert read == ["posts/post-05"]
    assert set(app.written) - {"genindex", "search"} == {"posts/post-05"}   # Sphinx writes those two
    assert feed_times(html) == feeds_before
    assert "改过的内容" in (html / "posts" / "post-05.html").read_text(encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_excerpt_edit_updates_the_lists_that_show_it(built_blog, tmp_path):
    srcdir, _ = built_blog
    html = srcdir / "_build" / "html"
    feeds_before = feed_times(html)
    replace_in(srcdir / "posts" / "post-25.md", "正文第一段。", "新的摘要。")
    app, read, _ = build(srcdir)
    assert read == ["posts/post-25"]
    assert "新的摘要" in (html / "index.html").read_text(encoding="utf-8")
    # the pages listing post-25 (Deep Learning, tag 甲, 2026), and only those
    assert set(app.written) - {"genindex", "search"} == {
        "index", "posts/post-25", "blog", "blog/2026", "blog/author/ml-notes-编写组",
        "blog/category/deep-learning", "blog/tag/甲"}
    feeds_after = feed_times(html)
    assert feeds_after[html / "blog" / "atom.xml"] != feeds_before[html / "blog" / "atom.xml"]
    assert_same_as_clean_build(srcdir, tmp_path)


def test_adding_a_post_updates_lists(built_blog, tmp_path):
    srcdir, posts = built_blog
    write_post(srcdir, "new", dt.date(2026, 2, 1), category="Generative Model", tags=("丙",))
    app, read, _ = build(srcdir)
    assert read == ["posts/new"]
    html = srcdir / "_build" / "html"
    assert listed(html, "index.html")[0] == "posts/new"
    assert archive_posts(html / "blog" / "tag" / "丙.html") == ["new"]
    assert "new.html" in [link for link, _, _ in feed_entries(html / "blog" / "atom.xml")]
    # the sidebar shows no list of posts, so the other posts' pages stay as they were
    # (issue 19: adding a post must not rewrite the site), but for the newest before it,
    # whose link to the next post (ABlog's prev/next at the foot) now leads to the new one
    assert set(written_docs(app)) & set(posts) == {"posts/post-25"}
    assert "文章 new" in soup(html / "posts" / "post-25.html").select_one(".ablog__next").get_text()
    assert "文章 new" not in (html / "posts" / "post-00.html").read_text(encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_retagging_a_post_rewrites_the_pages_that_list_it(built_blog, tmp_path):
    srcdir, posts = built_blog
    replace_in(srcdir / "posts" / "post-07.md", "tags: [甲]", "tags: [甲, 丁]")
    app, read, _ = build(srcdir)
    assert read == ["posts/post-07"]
    assert set(written_docs(app)) & set(posts) == {"posts/post-07"}
    assert "blog/tag/丁" in app.written
    assert_same_as_clean_build(srcdir, tmp_path)
    # a tag taken away: the tag's page and feed drop the post, though it is no longer
    # one of their posts; the other tags' pages are not written
    html = srcdir / "_build" / "html"
    assert "post-06" in archive_posts(html / "blog" / "tag" / "乙.html")
    replace_in(srcdir / "posts" / "post-06.md", "tags: [甲, 乙]", "tags: [甲]")
    app, read, _ = build(srcdir)
    assert read == ["posts/post-06"]
    assert "post-06" not in archive_posts(html / "blog" / "tag" / "乙.html")
    assert "blog/tag/乙" in app.written and "blog/tag/丁" not in app.written
    links = [link for link, _, _ in feed_entries(html / "blog" / "tag" / "乙" / "atom.xml")]
    assert links and not [link for link in links if link.endswith("post-06.html")]
    assert_same_as_clean_build(srcdir, tmp_path)


def test_the_first_post_of_a_category_shows_on_every_page(tmp_path):
    """The sidebar lists the categories that have posts: the first post in a category
    changes every page (``mlnotes_listing.sidebar_signature``)."""
    srcdir, posts = make_blog(tmp_path)
    for doc, (_date, category, _tags) in posts.items():
        if category == "Python":
            (srcdir / f"{doc}.md").unlink()
    build(srcdir)
    html = srcdir / "_build" / "html"

    def sidebar_categories(page):
        return [a.get_text() for a in soup(html / page).select("nav.mlnotes-categories a")]

    assert "Python" not in sidebar_categories("posts/post-01.html")
    write_post(srcdir, "python-again", dt.date(2026, 2, 1), category="Python")
    app, read, _ = build(srcdir)
    assert read == ["posts/python-again"]
    assert sidebar_categories("posts/post-01.html") == sidebar_categories("posts/python-again.html")
    assert "Python" in sidebar_categories("posts/post-01.html")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_an_html_setting_reaches_the_generated_pages(built_blog, tmp_path):
    """A changed ``html_*`` value makes Sphinx write every document again; the archive
    pages, feeds and front pages, which it does not know of, follow too."""
    srcdir, _ = built_blog
    with open(srcdir / "conf.py", "a", encoding="utf-8") as conf:
        conf.write('\nhtml_title = "另一个站名"\n')
    build(srcdir)
    html = srcdir / "_build" / "html"
    assert "另一个站名" in (html / "blog" / "tag" / "甲.html").read_text(encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_removing_a_post(built_blog, tmp_path):
    srcdir, _ = built_blog
    (srcdir / "posts" / "post-25.md").unlink()
    _, read, _ = build(srcdir)
    html = srcdir / "_build" / "html"
    assert "posts/post-25" not in listed(html, "index.html")
    # Sphinx keeps the stale posts/post-25.html of a deleted source; the lists must not
    (html / "posts" / "post-25.html").unlink(missing_ok=True)
    assert_same_as_clean_build(srcdir, tmp_path)


def test_parallel_build_equals_serial(tmp_path):
    """With ABlog's missing env-merge-info supplied, -j 2 reads in parallel (no
    'not parallel safe' warning under -W) and writes exactly the serial output."""
    srcdir, _ = make_blog(tmp_path)
    outs = build_serial_and_parallel(srcdir, tmp_path)
    assert_same_html(outs["1"], outs["2"])
    assert feed_entries(outs["1"] / "blog" / "atom.xml") == feed_entries(outs["2"] / "blog" / "atom.xml")


def test_excerpt_link_follows_a_retitled_page(built_blog, tmp_path):
    """An excerpt shows the title of a page it links to; the post itself is not read again."""
    srcdir, _ = built_blog
    (srcdir / "notes.md").write_text("---\norphan: true\n---\n\n# 笔记甲\n\n内容。\n", encoding="utf-8")
    replace_in(srcdir / "posts" / "post-25.md", "正文第一段。", "正文第一段，见 {doc}`/notes`。")
    build(srcdir)
    html = srcdir / "_build" / "html"
    assert "笔记甲" in (html / "blog" / "tag" / "甲.html").read_text(encoding="utf-8")
    replace_in(srcdir / "notes.md", "# 笔记甲", "# 笔记乙")
    _, read, _ = build(srcdir)
    assert read == ["notes"]
    assert "笔记乙" in (html / "blog" / "tag" / "甲.html").read_text(encoding="utf-8")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_book_contents_follow_categories_and_dates(built_blog, tmp_path):
    """The book is read again when a post changes its place in it, not for a text edit."""
    srcdir, _ = built_blog
    shutil.copy(ROOT / "book.rst", srcdir / "book.rst")
    app, read, _ = build(srcdir)
    assert read == ["book"]

    def chapters(app):
        return app.env.toctree_includes["book"]

    before = chapters(app)
    replace_in(srcdir / "posts" / "post-05.md", "更多内容。", "改过的内容。")
    app, read, _ = build(srcdir)
    assert read == ["posts/post-05"]
    assert chapters(app) == before
    replace_in(srcdir / "posts" / "post-05.md", "category: Deep Learning", "category: Python")
    app, read, _ = build(srcdir)
    assert read == ["book", "posts/post-05"]
    assert chapters(app) != before and sorted(chapters(app)) == sorted(before)
    python_part = chapters(app)[:chapters(app).index("posts/post-05") + 1]
    assert all(CATS[int(doc[-2:]) % 4] == "Python" for doc in python_part if doc != "posts/post-05")
    assert_same_as_clean_build(srcdir, tmp_path)


def test_collection_titles_have_no_space_after_the_colon(blog):
    _, _, html = blog
    title = soup(html / "blog" / "category" / "generative-model.html").select_one(".ablog__collection h1")
    assert title.get_text(strip=True) == "分类：生成模型"
    assert title.select_one("span").get_text() == "分类：生成模型"
    tag = soup(html / "blog" / "tag" / "甲.html").select_one(".ablog__collection h1 span")
    assert tag.get_text() == "标签：甲"
    year = soup(html / "blog" / "2025.html").select_one(".ablog__collection h1 span")
    assert year.get_text() == "发表于 2025"
