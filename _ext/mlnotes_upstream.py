"""``_ext/UPSTREAM.md`` as data: each upstream internal we patch or rely on, fingerprinted.

Every row of ``UPSTREAM.md`` (``id`` "1" to "50", "C1" to "C14") is one or more entries of
:data:`PATCHES`, one per upstream target: where we patch (``site``), what we rely on
(``target``), the version it was written against, and a fingerprint of the target's
source.  :func:`check` computes the fingerprints of the installed packages again; after
an upgrade it names exactly the rows to re-check (``tests/test_upstream.py`` fails with
its messages).

A target is one of:

* ``"package.module.Class.attr"``: a Python object.  Its source is that of the
  statements binding the name in the module's file (``def``, ``class``, assignment or
  import; the same text as ``inspect.getsource`` for a function or class), read from the
  file so that a monkeypatch applied in this process (ours) does not change it.
* ``"template:<package>:<path in the package>[#<block or macro>]"``: a Jinja template, or
  only the inside of one of its blocks or macros.
* ``"file:<package, or a directory of the project>:<path in it>"``: any other file (the
  JavaScript of mathjax-full in ``node_modules``, the Pagefind binary).

Kinds: ``fix`` (an upstream bug or a missing feature), ``speed`` (only faster: the output
is the same without it), ``read`` (a private attribute, or behaviour we rely on),
``template`` (a template override).  Not a Sphinx extension: no ``setup()``, stdlib only.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Patch:
    id: str            # the row in _ext/UPSTREAM.md
    site: str          # "module:qualname" in _ext/, or a file of the project ("_templates/x.html#block")
    target: str        # the upstream thing relied on (see the module's docstring)
    kind: str          # "fix", "speed", "read" or "template"
    purpose: str
    issue: str | None  # the upstream issue the code or UPSTREAM.md cites
    version: str       # "<distribution>==<version>" the site was written against
    fingerprint: str   # fingerprint(target) at that version


def _row(id: str, site: str, kind: str, purpose: str, issue: str | None,
         *targets: tuple[str, str, str]) -> tuple[Patch, ...]:
    """The entries of one site of a row: one per (target, version, fingerprint)."""
    return tuple(Patch(id, site, target, kind, purpose, issue, version, fingerprint)
                 for target, version, fingerprint in targets)


ABLOG = "ablog==0.11.13"
BIBTEX = "sphinxcontrib-bibtex==2.7.0"
BOOK_THEME = "sphinx-book-theme==1.4.0"
DOCUTILS = "docutils==0.22.4"
FEEDGEN = "feedgen==1.0.0"
JINJA = "jinja2==3.1.6"
MARKDOWN_IT = "markdown-it-py==4.3.0"
MATHJAX = "mathjax-full==3.2.2"          # npm: package-lock.json
MATPLOTLIB = "matplotlib==3.11.2"
MYST = "myst-parser==5.2.0"
OPENGRAPH = "sphinxext-opengraph==0.13.0"
PAGEFIND = "pagefind-bin==1.5.2"
PYBTEX = "pybtex==0.26.1"
PYDATA = "pydata-sphinx-theme==0.20.0"
SITEMAP = "sphinx-sitemap==2.9.0"
SPHINX = "sphinx==9.0.4"

HTML = "sphinx.builders.html.StandaloneHTMLBuilder"
PYDATA_THEME = "template:pydata_sphinx_theme:theme/pydata_sphinx_theme/"
BOOK_LAYOUT = "template:sphinx_book_theme:theme/sphinx_book_theme/layout.html"
MACROS = PYDATA_THEME + "static/webpack-macros.html"
PLOT = "matplotlib.sphinxext.plot_directive"
MYST_RENDERER = "myst_parser.mdit_to_docutils.base.DocutilsRenderer"
MATHJAX_JS = "file:node_modules/mathjax-full:js/"

PATCHES: tuple[Patch, ...] = (
    # -- Sphinx / Jinja ---------------------------------------------------------------------
    *_row("1", "mlnotes_speed_assets:cache_asset_checksums", "speed",
          "Cache the ?v= checksum of each asset on its path, which Sphinx resolves on every page.", None,
          ("sphinx.builders.html._assets._file_checksum", SPHINX, "9a3ff938217b92fb"),
          (f"{HTML}.handle_page", SPHINX, "2b5d65935d040ba2")),
    *_row("2", "mlnotes_speed_templates:no_template_reload", "speed",
          "Turn off Jinja's template mtime checks; give it a bytecode cache in the doctree directory.", None,
          ("sphinx.jinja2glue.BuiltinTemplateLoader.init", SPHINX, "995beb52a2ae2837"),
          ("jinja2.environment.Environment._load_template", JINJA, "f532279b16110fad"),
          ("jinja2.loaders.BaseLoader.load", JINJA, "9b4c251605dd3e3e")),
    *_row("3", "mlnotes_mathsvg:_on_builder_inited", "fix",
          "Add the Jinja filter mlnotes_math_glyphs to Sphinx's template environment (no API for it).", None,
          ("sphinx.jinja2glue.BuiltinTemplateLoader.init", SPHINX, "995beb52a2ae2837")),
    *_row("4", "mlnotes_mathsvg:display_tex", "read",
          "Assemble display math as Sphinx's MathJax renderer does, for our build-time SVG renderer.", None,
          ("sphinx.ext.mathjax.html_visit_displaymath", SPHINX, "46ae48cd616c0668")),
    *_row("4", "mlnotes_mathsvg:visit_math", "read",
          "Write inline math in the markup of Sphinx's MathJax renderer, for our build-time SVG.", None,
          ("sphinx.ext.mathjax.html_visit_math", SPHINX, "fff9857dd8fd96a5")),
    *_row("5", "mlnotes_cssbundle:bundled_files", "read",
          "Read Sphinx's private list of the page's stylesheets to concatenate them into one.", None,
          ("sphinx.builders.html._assets._CascadingStyleSheet", SPHINX, "fdc44416526e5cc3"),
          (f"{HTML}.init_css_files", SPHINX, "6df8fb796b493b25")),
    *_row("6", "mlnotes_search:no_sphinx_index", "fix",
          "Set the builder's search attribute to False: no searchindex.js and no Sphinx search page.",
          "sphinx-doc/sphinx#12599",
          (f"{HTML}.search", SPHINX, "c025d29245339c94"),
          (f"{HTML}.prepare_writing", SPHINX, "ee5af193aca736e4"),
          (f"{HTML}.gen_additional_pages", SPHINX, "d78a24f5ac87c6a5")),
    *_row("7", "mlnotes_blog:wrap_ablog_page_generators", "speed",
          "Swap ABlog's html-collect-pages listeners for wrappers that skip pages whose posts are unchanged.",
          None,
          ("sphinx.events.EventListener", SPHINX, "0830ce19114c0f6e"),
          ("sphinx.events.EventManager.__init__", SPHINX, "2dddc4b021da7c4f"),
          ("ablog.setup", ABLOG, "e97f233fb199d063")),
    *_row("8", "mlnotes_blog:archive_pages", "speed",
          "Filter ABlog's archive pages to the collections whose posts changed.", None,
          ("ablog.post.generate_archive_pages", ABLOG, "966cc04cc91db9ec")),
    *_row("9", "mlnotes_blog:atom_feeds", "speed",
          "Swap each Catalog.collections for the changed subset while ABlog writes its feeds.", None,
          ("ablog.post.generate_atom_feeds", ABLOG, "1e0dbf2a19bb6d81"),
          ("ablog.blog.Catalog.__init__", ABLOG, "c7d3ed13fdfe8876")),
    *_row("10", "mlnotes_ablog_fixes:declare_ablog_parallel_safe", "fix",
          "Declare ABlog parallel-read safe, now that merge_ablog_posts supplies its missing merge.",
          "sunpy/ablog#327, sunpy/ablog#330",
          ("ablog.setup", ABLOG, "e97f233fb199d063"),
          ("sphinx.application.Sphinx.is_parallel_allowed", SPHINX, "a0dc3103674bbaf2")),
    *_row("11", "mlnotes_ablog_fixes:merge_ablog_posts", "fix",
          "Merge env.ablog_posts from parallel readers: ABlog purges the records but never merges them.",
          "sunpy/ablog#327, sunpy/ablog#330",
          ("ablog.setup", ABLOG, "e97f233fb199d063"),
          ("ablog.post.process_posts", ABLOG, "7e7db666265c3028")),
    *_row("12", "mlnotes_ablog_fixes:reset_blog", "fix",
          "Clear ABlog's process-wide registry Blog._dict, so that each build starts afresh "
          "(at builder-inited, and as each build of one application starts reading).", None,
          ("ablog.blog.Blog.__init__", ABLOG, "81f88c1daea7251e")),
    *_row("13", "mlnotes_ablog_fixes:reset_blog", "fix",
          "Create the blog_categories collections up front, with Chinese names and ASCII slug paths.", None,
          ("ablog.blog.Collection.__init__", ABLOG, "2087d403331d618a"),
          ("ablog.blog.Catalog.__getitem__", ABLOG, "9d88d6e83304e462")),
    *_row("14", "mlnotes_ablog_fixes:use_front_matter_excerpt", "fix",
          "Use the front matter's excerpt in ABlog's post records and drop their doctree copy.", None,
          ("ablog.post.process_posts", ABLOG, "7e7db666265c3028")),
    *_row("15", "mlnotes_blog:memoize_to_html", "speed",
          "Render each post's excerpt once (kept across builds) and re-base its links for each page.", None,
          ("ablog.blog.Post.to_html", ABLOG, "ec4e01307af808bf")),
    *_row("16", "mlnotes_blog:excerpt_block", "fix",
          "Make the <p> ABlog wraps around an excerpt's paragraphs a <div>: <p> in <p> is invalid.", None,
          ("ablog.blog.Post.to_html", ABLOG, "ec4e01307af808bf")),
    *_row("17", "mlnotes_speed_ablog:shared_default_settings", "speed",
          "Give ABlog's excerpt documents a copy of docutils' default settings, built once.", None,
          ("ablog.blog.new_document", ABLOG, "0b58a743591d24ce"),
          ("ablog.blog.Post.to_html", ABLOG, "ec4e01307af808bf"),
          ("docutils.utils.new_document", DOCUTILS, "7348fd7137d559ab")),
    # -- MyST-Parser / PyYAML / markdown-it-py ------------------------------------------------
    *_row("18", "mlnotes_speed_yaml:libyaml_for_myst", "speed",
          "While MyST parses a document, yaml.safe_load uses libyaml's CSafeLoader.", None,
          ("myst_parser.parsers.sphinx_.MystParser.parse", MYST, "0d71d5731b4a6f7c"),
          ("myst_parser.config.main.read_topmatter", MYST, "05397c452c44bcd2"),
          ("myst_parser.parsers.directives._parse_directive_options", MYST, "94df2192764a0fa9"),
          (f"{MYST_RENDERER}.render_front_matter", MYST, "3b818d9ecdfafdcc")),
    *_row("19", "mlnotes_cjk:use_cjk_friendly_emphasis", "fix",
          "Replace markdown-it's scanDelims by a copy whose flanking rule lets ** touch Chinese text.", None,
          ("markdown_it.rules_inline.state_inline.StateInline.scanDelims", MARKDOWN_IT, "b8f052cdea265e7e"),
          ("markdown_it.rules_inline.state_inline.Scanned", MARKDOWN_IT, "1e31cb26d713444c")),
    # -- pybtex / sphinxcontrib-bibtex ----------------------------------------------------------
    *_row("20", "mlnotes_pybtex_cache:apply", "speed",
          "Memoise pybtex's plugin lookup through importlib.metadata.entry_points.", None,
          ("pybtex.plugin.entry_points", PYBTEX, "84ce34dd1ae86122"),
          ("pybtex.plugin._load_entry_point", PYBTEX, "651a544d021985ba"),
          ("pybtex.plugin.enumerate_plugin_names", PYBTEX, "a53bfce514f32af2")),
    *_row("21", "mlnotes_pybtex_cache:apply", "speed",
          "Memoise sphinxcontrib-bibtex's private plugin lookup _entry_points.", None,
          ("sphinxcontrib.bibtex.plugin._entry_points", BIBTEX, "b60f9bba35f0420c"),
          ("sphinxcontrib.bibtex.plugin.find_plugin", BIBTEX, "4cde69730cc27cc9")),
    *_row("22", "mlnotes_pybtex_cache:_memoise_format_entry", "speed",
          "Memoise BaseStyle.format_entry on the style, the label and the entry's content.", None,
          ("pybtex.style.formatting.BaseStyle.format_entry", PYBTEX, "97df7b744039bb7c"),
          ("pybtex.style.formatting.BaseStyle.__init__", PYBTEX, "9ffb5424a39ed776")),
    # -- sphinx-sitemap -------------------------------------------------------------------------
    *_row("23", "mlnotes_sitemap:setup", "fix",
          "Replace sphinx-sitemap's multiprocessing Manager by a plain queue: no process outlives a build.",
          None,
          ("sphinx_sitemap.Manager", SITEMAP, "37847f06cf620c99"),
          ("sphinx_sitemap.record_builder_type", SITEMAP, "466ad5192a92d0ff")),
    *_row("24", "mlnotes_sitemap:complete_sitemap", "fix",
          "Refill sphinx-sitemap's queue with every page before it writes, also after incremental builds.",
          "jdillard/sphinx-sitemap#13",
          ("sphinx_sitemap.setup", SITEMAP, "2180d7cda8271e43"),
          ("sphinx_sitemap.record_builder_type", SITEMAP, "466ad5192a92d0ff"),
          ("sphinx_sitemap.add_html_link", SITEMAP, "e9a4b0b9b847c01d"),
          ("sphinx_sitemap.create_sitemap", SITEMAP, "f63e7e8099adb3e0")),
    # -- matplotlib / sphinxext-opengraph ---------------------------------------------------------
    *_row("25", "mlnotes_matplotlib:setup", "speed",
          "Register what matplotlib's plot directive registers, importing matplotlib only for a plot.", None,
          (f"{PLOT}.setup", MATPLOTLIB, "d040ec3c0a0228a2")),
    *_row("26", "mlnotes_matplotlib:PlotDirective", "speed",
          "Answer the plot directive's class attributes from the real class, and run the real directive.",
          None,
          (f"{PLOT}.PlotDirective", MATPLOTLIB, "2df0c5ec1b8ac4c5")),
    *_row("27", "mlnotes_matplotlib:real_module", "speed",
          "Record on matplotlib's module the app, config and confdir its setup() would have recorded.", None,
          (f"{PLOT}.setup", MATPLOTLIB, "d040ec3c0a0228a2"),
          (f"{PLOT}.run", MATPLOTLIB, "597c9222839761fd"),
          (f"{PLOT}.init_filename_registry", MATPLOTLIB, "f2983d94fad1223e")),
    *_row("28", "mlnotes_matplotlib:FilenameCollector", "speed",
          "Call matplotlib's private _FilenameCollector and mark_plot_labels once its module is loaded.",
          None,
          (f"{PLOT}._FilenameCollector", MATPLOTLIB, "5baae77852b89ddd"),
          (f"{PLOT}.mark_plot_labels", MATPLOTLIB, "88a66354630673c7")),
    *_row("29", "mlnotes_matplotlib:copy_css_file", "fix",
          "Copy plot_directive.css when the builder starts, so a clean build's pages get its checksum.", None,
          (f"{PLOT}._copy_css_file", MATPLOTLIB, "be70bc21af001aaf")),
    *_row("30", "mlnotes_social_cards:defer_social_cards", "speed",
          "Stand in for opengraph's private _social_cards module, so pyplot is imported only for a card.",
          None,
          ("sphinxext.opengraph.DEFAULT_SOCIAL_CONFIG", OPENGRAPH, "aa15253165fe30f4"),
          ("sphinxext.opengraph._social_cards.DEFAULT_SOCIAL_CONFIG", OPENGRAPH, "8047cec9ffeffc28")),
    *_row("30", "mlnotes_social_cards:create_social_card", "speed",
          "Import opengraph's real _social_cards module when the first social card is made.", None,
          ("sphinxext.opengraph._social_cards.create_social_card", OPENGRAPH, "3b37eb5ff76a3146")),
    # -- Sphinx directives / docutils -----------------------------------------------------------
    *_row("31", "mlnotes_linkgraph:ShowsCode", "read",
          "Re-register literalinclude as a subclass that records which package objects a page shows.", None,
          ("sphinx.directives.code.LiteralInclude", SPHINX, "812d9d80cdd1c96f")),
    *_row("32", "mlnotes_doctree_leak:rehome_nodes", "fix",
          "Point nodes that MyST's eval-rst leaves on a scratch document back at the page.", None,
          ("docutils.nodes.Node.document", DOCUTILS, "8c1900d361ab1036"),
          (f"{MYST_RENDERER}.render_restructuredtext", MYST, "94028357c0e6b302")),
    # -- pydata-sphinx-theme / sphinx-book-theme ----------------------------------------------------
    *_row("33", "mlnotes_cssbundle:theme_first", "read",
          "Read the stylesheets the theme links before Sphinx's list from its head_pre_assets macro.", None,
          (MACROS + "#head_pre_assets", PYDATA, "c886b853fa282dfd")),
    *_row("34", "mlnotes_shared_html:share_sidebars", "speed",
          "Render the shared sidebar templates once, joined with a copy of the theme's item wrapper.", None,
          (PYDATA_THEME + "sections/sidebar-primary.html", PYDATA, "451dbb9c8132f260"),
          ("pydata_sphinx_theme.update_and_remove_templates", PYDATA, "16760c0b87995d88"),
          ("pydata_sphinx_theme.utils._update_and_remove_templates", PYDATA, "705e9e656105fff7"),
          ("pydata_sphinx_theme.setup", PYDATA, "1c4a9cdffed540b7")),
    *_row("35", "mlnotes_shared_html:root_pathto", "speed",
          "Sphinx's pathto for a page in the root directory, so shared HTML can be re-based per page.", None,
          (f"{HTML}.handle_page", SPHINX, "2b5d65935d040ba2")),
    *_row("36", "_templates/layout.html#css", "template",
          "Link the one bundled stylesheet, and drop Font Awesome's fontawesome.js, in the css block.", None,
          (PYDATA_THEME + "layout.html#css", PYDATA, "1436267ac153f48c"),
          (MACROS + "#head_js_preload", PYDATA, "4ad774592e29de77"),
          (BOOK_LAYOUT, BOOK_THEME, "2cd2fbbe2caedf3a")),
    *_row("37", "_templates/layout.html#extrahead", "template",
          "Drop the Sphinx search scripts and index that the theme's extrahead block loads on every page.",
          None,
          (PYDATA_THEME + "layout.html#extrahead", PYDATA, "e607f7742f3bd264"),
          (BOOK_LAYOUT, BOOK_THEME, "2cd2fbbe2caedf3a")),
    *_row("38", "_templates/layout.html#content", "template",
          "Pass the theme's content block through mlnotes_math_glyphs, which adds the page's glyphs.", None,
          (PYDATA_THEME + "layout.html#content", PYDATA, "52b94a3bba44f654")),
    *_row("39", "_templates/search-button-field.html", "template",
          "The theme's search button, with an accessible name that contains its visible text.", None,
          (PYDATA_THEME + "components/search-button-field.html", PYDATA, "518dda81dd8cd06a")),
    *_row("40", "_templates/search.html", "template",
          "Our own search page in place of the theme's, which loaded Sphinx's search scripts.",
          "sphinx-doc/sphinx#12599",
          (PYDATA_THEME + "search.html", PYDATA, "098d19aa34f7874c")),
    *_row("40", "mlnotes_search:search_page", "fix",
          "Write our search page from html-collect-pages, in place of the one Sphinx writes.",
          "sphinx-doc/sphinx#12599",
          (f"{HTML}.gen_additional_pages", SPHINX, "d78a24f5ac87c6a5")),
    # -- ABlog templates ------------------------------------------------------------------------
    *_row("41", "_templates/ablog/catalog.html", "template",
          "Add an overview of the collections and their post counts to ABlog's catalog pages.", None,
          ("template:ablog:templates/ablog/catalog.html", ABLOG, "50980fe5d3a03cdd")),
    *_row("42", "_templates/ablog/collection.html", "template",
          "Render each post card once per build (mlnotes-post-card.html), not once per collection page.",
          None,
          ("template:ablog:templates/ablog/collection.html", ABLOG, "7adffc44a5ad96c7")),
    *_row("43", "_templates/ablog/postcard2.html", "template",
          "ABlog's post card as valid HTML (no <div> in <ul>, no repeated ids), without Disqus.", None,
          ("template:ablog:templates/ablog/postcard2.html", ABLOG, "1c04613763d73dc4")),
    # -- Pagefind / MathJax ---------------------------------------------------------------------
    # The binary itself is not fingerprinted (each platform's wheel has its own): its version
    # is checked by tests/test_search.py.
    *_row("46", "mlnotes_search:run_pagefind", "fix",
          "Index with Pagefind's CLI, drop its UI files, keep facets as words (its filters are unstable).",
          "Pagefind/pagefind#638",
          ("pagefind_bin.get_executable", PAGEFIND, "a61e9e9a79ef1564")),
    *_row("47", "_ext/mlnotes_mathsvg.js#render", "fix",
          "Collect each formula's glyphs from MathJax's font cache, and size Chinese text by the x-height.",
          None,
          (MATHJAX_JS + "output/svg/FontCache.js", MATHJAX, "442ffcdbed399f6e"),
          (MATHJAX_JS + "adaptors/NodeMixin.js", MATHJAX, "8029854d6eff091e"),
          (MATHJAX_JS + "output/common/FontData.js", MATHJAX, "ffe4caef95928475")),
    *_row("48", "_ext/mlnotes_mathsvg.js#glyphs", "read",
          "Look glyphs up by their font-cache id, for pages whose formulas another process drew.", None,
          (MATHJAX_JS + "output/svg/FontCache.js", MATHJAX, "442ffcdbed399f6e"),
          (MATHJAX_JS + "output/common/FontData.js", MATHJAX, "ffe4caef95928475"),
          (MATHJAX_JS + "output/svg/fonts/tex.js", MATHJAX, "f897d2efbf4543dc")),
    *_row("49", "mlnotes_jsbundle:runs", "read",
          "Read Sphinx's private _orig_js_files, the scripts every page has, and their _JavaScript items.",
          None,
          ("sphinx.builders.html._assets._JavaScript", SPHINX, "c59f91eb9e34c6d8"),
          (f"{HTML}.prepare_writing", SPHINX, "ee5af193aca736e4"),
          (f"{HTML}.init_js_files", SPHINX, "0d3b9e5d5204c202")),
    *_row("50", "mlnotes_jsbundle:_on_html_page_context", "read",
          "Replace the page's script_files and js_tag with bundles, before Sphinx sorts them by priority.",
          None,
          (f"{HTML}.handle_page", SPHINX, "2b5d65935d040ba2"),
          ("pydata_sphinx_theme.update_and_remove_templates", PYDATA, "16760c0b87995d88")),
    # -- dependencies on upstream behaviour (nothing patched) -------------------------------------
    *_row("C1", "mlnotes_blog:pages_to_rewrite", "fix",
          "Rewrite every page when the sidebar's categories change, and the posts whose previous or next "
          "post changed: ABlog renders both at write time.",
          "sunpy/ablog#316",
          (f"{HTML}.get_outdated_docs", SPHINX, "b64cfa42b248b600"),
          ("ablog.html_page_context", ABLOG, "83b5dcbbfdb4a80f"),
          ("ablog.blog.link_posts", ABLOG, "67b952cbb8c7340a"),
          ("ablog.blog.Post.next", ABLOG, "c2cc2b863b694a09"),
          ("ablog.blog.Post.prev", ABLOG, "d4456ed4af04b5c6"),
          ("template:ablog:templates/ablog/postnavy.html", ABLOG, "0b6dd43323c026e8")),
    *_row("C2", "mlnotes_blog:module_pages_predate_templates", "fix",
          "Delete viewcode's pages when a template changed: viewcode skips a page newer than its module.",
          None,
          ("sphinx.ext.viewcode.should_generate_module_page", SPHINX, "c06988b4abd57931"),
          ("sphinx.jinja2glue.BuiltinTemplateLoader.newest_template_mtime", SPHINX, "e065919b01ed5833")),
    *_row("C3", "mlnotes_listing:entry_fingerprint", "read",
          "Fingerprint ABlog's post records to find the posts whose entries in the lists changed.", None,
          ("ablog.post.process_posts", ABLOG, "7e7db666265c3028"),
          ("sphinx.environment.CONFIG_OK", SPHINX, "ce47cdcc93d65ae8")),
    *_row("C4", "mlnotes_blog:stable_feed_dates", "fix",
          "Date each atom.xml by its newest entry instead of the build time, so builds are reproducible.",
          None,
          ("ablog.post.generate_atom_feeds", ABLOG, "1e0dbf2a19bb6d81"),
          ("feedgen.feed.FeedGenerator._create_atom", FEEDGEN, "98c7307a780f57ff")),
    *_row("C5", "mlnotes_frontmatter:PostFrontMatter", "fix",
          "Check front matter at priority 790, before ABlog's CheckFrontMatter (800) mishandles it.", None,
          ("ablog.post.CheckFrontMatter", ABLOG, "4f22a97408ec8521")),
    *_row("C6", "mlnotes_frontmatter:exclude_drafts", "read",
          "Exclude drafts at config-inited priority 600, after ABlog has set matched_blog_posts.", None,
          ("ablog.config_inited", ABLOG, "5f2f4d1dfe9cf301"),
          ("ablog.setup", ABLOG, "e97f233fb199d063")),
    *_row("C7", "mlnotes_frontmatter:post_metadata", "read",
          "Set og:description to the excerpt: opengraph copies a page's og: metadata over its tags.", None,
          ("sphinxext.opengraph.get_tags", OPENGRAPH, "33cbd817a5ea8120")),
    *_row("C8", "mlnotes_book:_toctree", "read",
          "Build the book's toctree nodes by hand with the attributes Sphinx's toctree directive sets.", None,
          ("sphinx.directives.other.TocTree.run", SPHINX, "20b5d7a1cd2579cc"),
          ("sphinx.directives.other.TocTree.parse_content", SPHINX, "e4d6f0729b591607")),
    *_row("C9", "mlnotes_graph:fill_graph", "read",
          "Hand the concept graph to sphinx.ext.graphviz's node outside HTML (the PDF).", None,
          ("sphinx.ext.graphviz.Graphviz.run", SPHINX, "bdf19a934f47a134"),
          ("sphinx.ext.graphviz.latex_visit_graphviz", SPHINX, "22cc14538582589b")),
    *_row("C10", "mlnotes_cssbundle:setup", "read",
          "Remake the CSS bundle at build-finished priority 900, after the theme rewrote pygments.css.", None,
          ("pydata_sphinx_theme.pygments.overwrite_pygments_css", PYDATA, "9c76b0bfb696cd96"),
          ("pydata_sphinx_theme.setup", PYDATA, "1c4a9cdffed540b7")),
    *_row("C11", "mlnotes_search:index_document", "read",
          "Index the text of the theme's <article class=\"bd-article\"> without its permalinks and boxes.",
          None,
          (PYDATA_THEME + "layout.html#docs_body", PYDATA, "7fdab425e86ea79f")),
    *_row("C12", "mlnotes_frontpage:ordered_posts", "read",
          "List posts through ABlog's undocumented object model (Blog, Post, register_posts, slugify).", None,
          ("ablog.blog.Post.__init__", ABLOG, "ad0bfd104dafcfb2"),
          ("ablog.post.register_posts", ABLOG, "0c1fce9b3600eece"),
          ("ablog.blog.slugify", ABLOG, "c6d714b290b3b052")),
    *_row("C14", "_static/mlnotes-toggles.js", "fix",
          "Hand clicks on the visible sidebar buttons to the first one: both themes wire only "
          "document.querySelector('.primary-toggle'), a button the book layout hides.", None,
          ("file:pydata_sphinx_theme:theme/pydata_sphinx_theme/static/scripts/pydata-sphinx-theme.js",
           PYDATA, "73b151b7df2d9239"),
          ("file:sphinx_book_theme:theme/sphinx_book_theme/static/scripts/sphinx-book-theme.js",
           BOOK_THEME, "20f5c4379fa2fa1a")),
    *_row("C15", "mlnotes_doctree_leak:detach_stored_nodes", "fix",
          "Cut the nodes the environment keeps (titles, ABlog's excerpts, bibtex's citation nodes) "
          "loose from their page's document: docutils' Element.copy keeps _document, so "
          "environment.pickle held every page's doctree.", None,
          ("docutils.nodes.Element.copy", DOCUTILS, "8609d54e99b1ff6c"),
          ("sphinx.environment.collectors.title.TitleCollector.process_doc", SPHINX, "7c9e4a6104b0e8f9"),
          ("ablog.post.process_posts", ABLOG, "7e7db666265c3028"),
          ("sphinxcontrib.bibtex.directives.BibliographyDirective.run", BIBTEX, "8958d66a05affc58")),
    *_row("C16", "tools/serve.py#make_app", "read",
          "The preview server reuses sphinx-autobuild's middleware that adds the reload script to "
          "every HTML page (and its WebSocket path, /websocket-reload).", None,
          ("sphinx_autobuild.middleware.JavascriptInjectorMiddleware", "sphinx-autobuild==2025.8.25",
           "d9e9260044d6e2a8")),
    *_row("C17", "mlnotes_core:restore_page_assets", "fix",
          "Forget, after each build, the scripts and stylesheets pages added for themselves: "
          "Sphinx.add_js_file records them in the registry too, and prepare_writing gives every page "
          "of the next build of the same application all of them.", None,
          ("sphinx.application.Sphinx.add_js_file", SPHINX, "528071c4238a35ed"),
          ("sphinx.builders.html.StandaloneHTMLBuilder.prepare_writing", SPHINX, "ee5af193aca736e4"),
          ("sphinx.builders.html.StandaloneHTMLBuilder.handle_page", SPHINX, "2b5d65935d040ba2")),
    *_row("C13", "mlnotes_book:relation_pages", "fix",
          "Rewrite the pages whose parent in the toctrees or previous/next page changed: Sphinx writes "
          "only pages whose source changed, and the theme's sidebar depends on the parent.",
          "sphinx-doc/sphinx#5506",
          ("sphinx.environment.BuildEnvironment.collect_relations", SPHINX, "27fb552e9d0827ec"),
          ("pydata_sphinx_theme.toctree._get_ancestor_pagename", PYDATA, "1d40e3a8dde3fe1c"),
          ("pydata_sphinx_theme.toctree.add_toctree_functions", PYDATA, "909fd5123b27d040")),
)

# sphinx.ext.mathjax uses sphinx.util.logging without importing it (Sphinx 9.0.4): a
# build has always imported it first.
IMPORTED_FIRST = {"sphinx.ext.mathjax": "sphinx.util.logging"}


def _import(dotted: str) -> tuple[Any, str, list[str]]:
    """The longest importable module prefix of *dotted*: (module, its name, the rest)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name in IMPORTED_FIRST:
            importlib.import_module(IMPORTED_FIRST[name])
        try:
            return importlib.import_module(name), name, parts[i:]
        except ModuleNotFoundError as err:
            if err.name is None or not (name == err.name or name.startswith(err.name + ".")):
                raise  # a module that *name* imports is missing
    raise ModuleNotFoundError(f"no module in {dotted!r}")


def _file(target: str) -> tuple[Path, str]:
    """The path of a ``template:`` or ``file:`` target, and its ``#`` part."""
    _, package, rest = target.split(":", 2)
    rest, _, part = rest.partition("#")
    if "/" in package:  # a directory of the project (node_modules/...)
        return ROOT / package / rest, part
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"no package {package!r}")
    return Path(next(iter(spec.submodule_search_locations)), rest), part


def resolve(target: str) -> Any:
    """The upstream object *target* names (a ``Path`` for a template or a file)."""
    if target.startswith(("template:", "file:")):
        path, part = _file(target)
        if not path.is_file():
            raise FileNotFoundError(path)
        if part:
            _block(path.read_text(encoding="utf-8"), part)
        return path
    obj, _, rest = _import(target)
    for name in rest:
        obj = getattr(obj, name)
    return obj


BLOCK_TAG = re.compile(r"\{%-?\s*(block|macro|endblock|endmacro)\b\s*(\w*)[^%]*?-?%\}")


def _block(text: str, name: str) -> str:
    """The inside of the Jinja block or macro *name* of the template *text*."""
    start, depth = None, 0
    for tag in BLOCK_TAG.finditer(text):
        opens = not tag[1].startswith("end")
        if start is None:
            if opens and tag[2] == name:
                start, depth = tag.end(), 1
            continue
        depth += 1 if opens else -1
        if depth == 0:
            return text[start:tag.start()]
    raise LookupError(f"no block or macro {name!r}")


def _binds(node: ast.stmt, name: str) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Name) and t.id == name for t in targets)
    return False


def _bindings(body: list[ast.stmt], name: str) -> list[ast.stmt]:
    """The statements of *body* that bind *name*, looking into ``if``, ``try`` and ``with``."""
    found = []
    for node in body:
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                     *(stmt for handler in getattr(node, "handlers", []) for stmt in handler.body)]
            found += _bindings(inner, name)
        elif _binds(node, name):
            found.append(node)
    return found


def _statement(lines: list[str], node: ast.stmt) -> str:
    """The source of *node*, whole lines, with its decorators (as ``inspect.getsource``)."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "".join(lines[first - 1:node.end_lineno])


def _python_source(target: str) -> str:
    """The statements of the module's file that bind *target*'s name, in its class if any."""
    _, name, rest = _import(target)
    parent = name.rpartition(".")[0]
    path = importlib.import_module(parent).__path__ if parent else None
    # the file, not the module object: a stand-in may be in sys.modules (mlnotes_matplotlib)
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    source = spec.loader.get_source(name) if spec and spec.loader else None
    if source is None:
        raise LookupError(f"{target}: no Python source for {name}")
    if not rest:
        return source
    body, found = ast.parse(source).body, []
    for i, attr in enumerate(rest):
        found = _bindings(body, attr)
        if i + 1 < len(rest):
            classes = [node for node in found if isinstance(node, ast.ClassDef)]
            if not classes:
                raise LookupError(f"{target}: no class {attr} in {name}")
            body = classes[0].body
    if not found:
        raise LookupError(f"{target}: {rest[-1]} is not defined in {name}")
    lines = source.splitlines(keepends=True)
    return "".join(_statement(lines, node) for node in found)


def fingerprint(target: str) -> str:
    """The first 16 hex digits of the SHA-256 of *target*'s source (line endings normalised)."""
    if target.startswith(("template:", "file:")):
        path, part = _file(target)
        data = path.read_bytes()
        if part:
            data = _block(data.decode("utf-8"), part).encode("utf-8")
    else:
        data = _python_source(target).encode("utf-8")
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()[:16]


def installed(version: str) -> str:
    """The installed version of the distribution of *version* ("sphinx==9.0.4")."""
    dist = version.partition("==")[0]
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        package = ROOT / "node_modules" / dist / "package.json"
        return json.loads(package.read_text())["version"] if package.is_file() else "not installed"


def check() -> list[str]:
    """One message per entry whose target changed or cannot be found any more."""
    messages = []
    for patch in PATCHES:
        try:
            resolve(patch.target)
            found = fingerprint(patch.target)
        except Exception as err:  # noqa: BLE001 - whatever it is, the entry must be re-checked
            problem = f"cannot be resolved ({type(err).__name__}: {err})"
        else:
            if found == patch.fingerprint:
                continue
            problem = f"changed (fingerprint {found}, recorded {patch.fingerprint})"
        messages.append(
            f"#{patch.id}: {patch.target} {problem} ({patch.version} recorded, "
            f"{installed(patch.version)} installed): re-check {patch.site} against {patch.target}, "
            "then update the fingerprint in _ext/mlnotes_upstream.py")
    return messages
