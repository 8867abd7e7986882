"""The line under a post's title: date in Chinese, reading time, category and tags.

A placeholder (``post_info``) is put after the title of every post when it is read,
and rendered when the page is written: links to the category and tag pages in HTML,
plain text in the PDF.  (It is rendered late because the reading time is known only
once the whole post is read, ``mlnotes_readingtime``.)
"""

from __future__ import annotations

from docutils import nodes
from mlnotes_core import post_records, zh_date

__version__ = "1.0"
# the placeholder is pickled in the doctrees: bump when it changes shape
ENV_VERSION = 1


class post_info(nodes.General, nodes.Element):
    """Placeholder for the line under a post's title: date, category, tags."""


def add_post_info(app, doctree) -> None:
    """Put a ``post_info`` placeholder right after the title of every post."""
    meta = post_records(app.env).get(app.env.docname)
    if not meta:
        return
    title = next(iter(doctree.findall(nodes.title)), None)
    if title is not None:
        title.parent.insert(title.parent.index(title) + 1, post_info(docname=app.env.docname))


def fill_post_info(app, doctree, docname: str) -> None:
    """Render the placeholder: links to the archives in HTML, plain text elsewhere."""

    html = app.builder.format == "html"
    for node in list(doctree.findall(post_info)):
        # the LaTeX builder resolves the whole book at once, under its root's name
        meta = post_records(app.env).get(node["docname"])
        if not meta:
            node.parent.remove(node)
            continue
        para = nodes.paragraph(classes=["mlnotes-post-info"])
        para += nodes.Text("发表于 " + zh_date(meta["date"]))
        minutes = app.env.metadata.get(node["docname"], {}).get("reading_minutes")
        if minutes:
            para += nodes.Text(f" · 阅读约 {minutes} 分钟")
        parts = []
        if meta.get("category"):
            parts.append(("分类：", "blog/category/", meta["category"],
                          app.config.blog_categories[meta["category"]]))
        for tag in meta.get("tags", ()):
            parts.append(("标签：" if tag == meta["tags"][0] else "、", "blog/tag/", tag, tag))
        for prefix, path, label, text in parts:
            para += nodes.Text((" · " if prefix.endswith("：") else "") + prefix)
            if html:
                from ablog.blog import slugify

                uri = app.builder.get_relative_uri(docname, path + slugify(label))
                para += nodes.reference("", text, internal=True, refuri=uri)
            else:
                para += nodes.Text(text)
        node.replace_self(para)


def setup(app):
    app.setup_extension("mlnotes_frontmatter")
    app.add_node(post_info)
    app.connect("doctree-read", add_post_info, priority=600)
    app.connect("doctree-resolved", fill_post_info)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
