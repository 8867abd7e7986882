"""The concept graph: posts and concept pages as nodes, cross-references as edges.

``.. concept-graph::`` draws the link graph of :mod:`mlnotes_linkgraph` with
Graphviz (``sphinx.ext.graphviz``; Debian's ``graphviz`` package provides
``dot``).  To stay readable as the site grows, the posts are grouped into one
box per category (in the order of ``blog_categories``) and the concept pages
into one box of their own; nodes are coloured by category and each links to its
page.  The graph is generated when the page is written, from the whole site's
links, so the page is written again whenever a node or an edge changes.  The
same figure goes into the PDF book.  A site with more than
``concept_graph_max_nodes`` pages gets a condensed graph instead: one node per
category, the concept pages, and the number of links between them.
"""

from __future__ import annotations

import re
import subprocess
import textwrap

from docutils import nodes
from mlnotes_core import changed_views, graph, post_records, title, track_builds
from sphinx.ext.graphviz import GraphvizError, graphviz
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

__version__ = "1.0"

#: (fill, border) per category, light fills so that dark text stays readable.
PALETTE = [("#dbe7f3", "#4e79a7"), ("#fde3c8", "#e07b1a"), ("#dcefd6", "#3f8f3a"),
           ("#f9d6d6", "#c8414b"), ("#e8def3", "#7b5ea7"), ("#f3eed2", "#9c8a2a")]
CONCEPTS = ("#eeeeee", "#707070")


class concept_graph(nodes.General, nodes.Element):
    """Placeholder, replaced by the graph when the page is written."""


class ConceptGraph(SphinxDirective):
    has_content = False

    def run(self):
        return [concept_graph()]


def members(app) -> dict[str, str]:
    """Node docname -> its group: a category of posts, or "概念"."""
    posts = post_records(app.env)
    groups = {doc: meta["category"] for doc, meta in posts.items() if meta.get("category")}
    for doc in graph(app).pages:
        if doc.startswith("concepts/") and doc != "concepts/index":
            groups[doc] = "概念"
    return groups


def edges(app, nodes_: dict[str, str]) -> list[tuple[str, str]]:
    g = graph(app)
    return sorted((src, dst) for src in nodes_ for dst in g.out.get(src, ()) if dst in nodes_)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_code(app, fromdoc: str) -> str:
    groups = members(app)
    if len(groups) > app.config.concept_graph_max_nodes:
        return condensed_dot_code(app, fromdoc, groups)
    env = app.env
    categories = list(app.config.blog_categories)
    lines = ["digraph knowledge {",
             '  graph [rankdir=LR, fontname="Noto Sans CJK SC", fontsize=13, nodesep=0.25, '
             'ranksep=0.5, compound=true, newrank=true, bgcolor="transparent"];',
             '  node [shape=box, style="rounded,filled", fontname="Noto Sans CJK SC", fontsize=10, '
             'margin="0.12,0.06"];',
             '  edge [color="#8a8a8a", arrowsize=0.6];']
    order = [*categories, "概念"]
    for i, group in enumerate(order):
        docs = sorted(doc for doc, g in groups.items() if g == group)
        if not docs:
            continue
        fill, border = CONCEPTS if group == "概念" else PALETTE[i % len(PALETTE)]
        label = app.config.blog_categories.get(group, group)
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f'    label={quote(label)}; style="rounded"; color={quote(border)};')
        for doc in docs:
            name = title(env, doc)
            wrapped = "\n".join(textwrap.wrap(name, 14))
            url = app.builder.get_relative_uri(fromdoc, doc) if app.builder.format == "html" else ""
            attrs = [f"label={quote(wrapped)}", f"tooltip={quote(name)}",
                     f"fillcolor={quote(fill)}", f"color={quote(border)}"]
            if url:
                attrs += [f"URL={quote(url)}", 'target="_top"']
            lines.append(f"    {quote(doc)} [{', '.join(attrs)}];")
        lines.append("  }")
    for src, dst in edges(app, groups):
        lines.append(f"  {quote(src)} -> {quote(dst)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def condensed_dot_code(app, fromdoc: str, groups: dict[str, str]) -> str:
    """The graph of a large site: one node per category, the concept pages, and
    edges counting the links between them (a graph of every post would be a
    hairball, and Graphviz's layout time grows faster than the number of nodes)."""
    from ablog.blog import slugify

    env, html = app.env, app.builder.format == "html"
    categories = list(app.config.blog_categories)
    counts = {c: sum(1 for g in groups.values() if g == c) for c in categories}
    node_of = {doc: (doc if group == "概念" else f"category:{group}") for doc, group in groups.items()}
    weights: dict[tuple[str, str], int] = {}
    for src, dst in edges(app, groups):
        key = (node_of[src], node_of[dst])
        if key[0] != key[1]:
            weights[key] = weights.get(key, 0) + 1
    lines = ["digraph knowledge {",
             '  graph [rankdir=LR, fontname="Noto Sans CJK SC", fontsize=13, nodesep=0.3, '
             'ranksep=1.2, bgcolor="transparent"];',
             '  node [shape=box, style="rounded,filled", fontname="Noto Sans CJK SC", fontsize=11, '
             'margin="0.15,0.08"];',
             '  edge [color="#8a8a8a", arrowsize=0.6, fontname="Noto Sans CJK SC", fontsize=9];']
    for i, category in enumerate(categories):
        if not counts[category]:
            continue
        fill, border = PALETTE[i % len(PALETTE)]
        label = f"{app.config.blog_categories[category]}\n{counts[category]} 篇文章"
        attrs = [f"label={quote(label)}", f"fillcolor={quote(fill)}", f"color={quote(border)}"]
        if html:
            uri = app.builder.get_relative_uri(fromdoc, f"blog/category/{slugify(category)}")
            attrs += [f"URL={quote(uri)}", 'target="_top"']
        lines.append(f"  {quote('category:' + category)} [{', '.join(attrs)}];")
    lines.append('  subgraph cluster_concepts { label="概念"; style="rounded"; color="#707070";')
    fill, border = CONCEPTS
    for doc in sorted(d for d, g in groups.items() if g == "概念"):
        attrs = [f"label={quote(title(env, doc))}", f"fillcolor={quote(fill)}", f"color={quote(border)}"]
        if html:
            attrs += [f"URL={quote(app.builder.get_relative_uri(fromdoc, doc))}", 'target="_top"']
        lines.append(f"    {quote(doc)} [{', '.join(attrs)}];")
    lines.append("  }")
    for (src, dst), n in sorted(weights.items()):
        width = 1 + min(4.0, n / 10)
        lines.append(f"  {quote(src)} -> {quote(dst)} [label={quote(str(n))}, penwidth={width:.1f}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


class concept_graph_svg(nodes.General, nodes.Element):
    """The graph for HTML: Graphviz's SVG put inline in the page (attributes ``code``, ``alt``)."""


def fill_graph(app, doctree, docname: str) -> None:
    for node in list(doctree.findall(concept_graph)):
        groups = members(app)
        n_posts = sum(1 for g in groups.values() if g != "概念")
        n_concepts = len(groups) - n_posts
        alt = (f"知识图谱：{n_posts} 篇文章（按分类分组）和 {n_concepts} 个概念页，"
               f"{len(edges(app, groups))} 条交叉引用；每个节点链接到对应页面")
        if len(groups) > app.config.concept_graph_max_nodes:
            alt += "；页面太多，每个分类画成一个节点，边上的数字是链接数"
        code = dot_code(app, docname)
        if app.builder.format == "html":
            node.replace_self(concept_graph_svg(code=code, alt=alt))
            continue
        figure = graphviz()  # the PDF book: sphinx.ext.graphviz's figure
        figure["code"] = code
        figure["options"] = {"docname": docname}
        figure["alt"] = alt
        figure["classes"] = ["mlnotes-concept-graph"]
        node.replace_self(figure)


def svg_markup(config, code: str) -> str:
    """Graphviz's SVG of *code*, ready to sit inside an HTML page.

    Inline rather than in an ``<object>`` (as sphinx.ext.graphviz writes it): its links are
    the page's own (keyboard, screen readers, relative URLs as written), and its text
    and lines take the page's colours in the dark theme (mlnotes.css).  The XML prolog,
    the doctype and comments are dropped; ids get a prefix of their own.
    """
    result = subprocess.run([config.graphviz_dot, *config.graphviz_dot_args, "-Tsvg"],
                            input=code.encode("utf-8"), capture_output=True, check=False)
    if result.returncode != 0:
        raise GraphvizError(f"dot exited with status {result.returncode}:\n"
                            f"{result.stderr.decode('utf-8', 'replace')}")
    svg = result.stdout.decode("utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r'\bid="', 'id="mlnotes-graph-', svg)
    return svg.strip()


def visit_concept_graph_svg(self, node) -> None:
    try:
        svg = svg_markup(self.config, node["code"])
    except (GraphvizError, OSError) as err:
        logger.warning("the concept graph could not be drawn: %s", err, location=node,
                       type="mlnotes", subtype="graph")
        raise nodes.SkipNode from err
    alt = self.encode(node["alt"])
    # a region that scrolls sideways on a narrow screen, reachable with the keyboard
    self.body.append(f'<div class="mlnotes-concept-graph" role="figure" aria-label="{alt}" tabindex="0">'
                     f"{svg}</div>\n")
    raise nodes.SkipNode


def graph_pages(app, env) -> list[str]:
    """The pages showing the graph, when a node or an edge changed."""
    def views():
        pages = sorted(doc for doc in env.found_docs if env.metadata.get(doc, {}).get("concept_graph"))
        if not pages:
            return {}
        groups = members(app)
        view = (tuple(sorted((doc, group, title(env, doc)) for doc, group in groups.items())),
                tuple(edges(app, groups)))
        return {doc: view for doc in pages}

    return changed_views(app, env, "graph", views)


def note_graph_page(app, doctree) -> None:
    """Mark the page in its metadata, which Sphinx purges and merges per document."""
    if any(True for _ in doctree.findall(concept_graph)):
        app.env.metadata[app.env.docname]["concept_graph"] = True


def setup(app):
    track_builds(app)   # per-build state and view tracking (mlnotes_core)
    app.setup_extension("sphinx.ext.graphviz")
    app.setup_extension("mlnotes_linkgraph")
    # Above this many posts and concepts, the graph draws one node per category.
    app.add_config_value("concept_graph_max_nodes", 150, "html", types=frozenset({int}))
    app.add_node(concept_graph)
    app.add_node(concept_graph_svg, html=(visit_concept_graph_svg, None))
    app.add_directive("concept-graph", ConceptGraph)
    app.connect("doctree-read", note_graph_page)
    app.connect("env-get-updated", graph_pages)
    app.connect("doctree-resolved", fill_graph)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
