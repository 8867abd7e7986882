"""Sphinx configuration for 机器学习笔记 (ML Notes).

Declarative only: every piece of logic lives in an extension under ``_ext/``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).parent
sys.path[:0] = [str(ROOT / "_ext"), str(ROOT)]  # our extensions; the mlnotes package

# -- Project -----------------------------------------------------------------

project = "机器学习笔记"
author = "ML Notes 编写组"
copyright = "2026, ML Notes 编写组"
# One base URL for everything that needs an absolute address: the Atom feeds,
# the canonical link and (later) the sitemap.
base_url = "https://mlnotes.readthedocs.io/zh-cn/latest/"
language = "zh_CN"
root_doc = "index"

# -- General -----------------------------------------------------------------

extensions = [
    "myst_parser",
    "ablog",
    "sphinx_design",
    "sphinx_copybutton",
    "sphinxcontrib.bibtex",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "mlnotes_matplotlib",  # the plot directive; matplotlib imported only when a page has a plot
    "sphinx_sitemap",
    "mlnotes_social_cards",  # opengraph's social cards import pyplot only to make one (off here)
    "sphinxext.opengraph",
    # This site's own extensions (see _ext/README.md).
    "mlnotes_mathsvg",  # formulas drawn as SVG at build time (MathJax under Node.js)
    "mlnotes_cssbundle",  # one stylesheet per page instead of twelve
    "mlnotes_jsbundle",  # two script files per page instead of eleven
    "mlnotes_images",  # figures load lazily, with their width and height
    "mlnotes_doctree_leak",  # doctrees pickled without the environment (MyST eval-rst)
    "mlnotes_frontmatter",
    "mlnotes_ablog_fixes",  # ABlog's bugs: registry per build, parallel reading, excerpts
    "mlnotes_post_info",  # the line under a post's title
    "mlnotes_blog",  # which of ABlog's pages an incremental build writes again
    "mlnotes_frontpage",
    "mlnotes_search",  # Pagefind: the index built from the article text, loaded to search
    "mlnotes_book",
    "mlnotes_pybtex_cache",
    "mlnotes_linkgraph",
    "mlnotes_backlinks",
    "mlnotes_series",
    "mlnotes_related",
    "mlnotes_readingtime",
    "mlnotes_graph",
    "mlnotes_cjk",
    "mlnotes_shared_html",
    "mlnotes_prune",  # the pages of removed documents leave the output
    "mlnotes_sitemap",
    # costs a build paid for nothing (README, "Build performance"); all off with
    # -D mlnotes_speed_patches=0
    "mlnotes_speed_templates",  # Jinja's templates neither checked nor compiled on every page
    "mlnotes_speed_assets",  # each asset's path resolved once
    "mlnotes_speed_yaml",  # libyaml for MyST's YAML
    "mlnotes_speed_ablog",  # docutils' default settings built once for ABlog's excerpts
    "mlnotes_speed_gc",  # no garbage collection over the loaded environment
]
templates_path = ["_templates"]
exclude_patterns = ["_build", ".venv*", "node_modules", "README.md", "tests", "_ext", "tools", "**/README.md"]
# Posts and concepts are Markdown; index and API pages are reST.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# Warnings we do not want to be silenced by accident: keep this list empty.
suppress_warnings = []

# -- MyST --------------------------------------------------------------------

myst_enable_extensions = [
    "dollarmath",
    "amsmath",
    "colon_fence",
    "deflist",
    "attrs_inline",
    "fieldlist",
    "substitution",
]
myst_heading_anchors = 3
myst_dmath_double_inline = True
# Keep footnotes (and so each post's footbibliography) where the author put them,
# under the post's own 参考文献 heading, instead of moving them to the page end.
myst_footnote_sort = False
myst_footnote_transition = False

# -- Blog (ABlog) ------------------------------------------------------------

blog_title = "机器学习笔记"
blog_path = "blog"
blog_baseurl = base_url
blog_post_pattern = "posts/**/*.md"
blog_feed_archives = True  # an Atom feed per category, tag and year, too
# Entries carry the excerpt, not the whole post: full text rendered into every
# feed a post belongs to (site, category, each tag, year) made feeds the most
# expensive part of the build (see the benchmark section of the README).
blog_feed_fulltext = False
blog_feed_length = None
blog_authors = {"mlnotes": ("ML Notes 编写组", None)}
blog_default_author = "mlnotes"
post_date_format = "%Y年%-m月%-d日"
post_date_format_short = "%-m月%-d日"
post_auto_excerpt = 1
post_show_prev_next = True
# The categories, in the order the site shows them, with their Chinese labels.
# Front matter must use one of the keys; anything else is a build error.
blog_categories = {
    "Python": "Python",
    "Deep Learning": "深度学习",
    "Machine Learning": "机器学习",
    "Generative Model": "生成模型",
}
# Series of posts read in order; a post joins one with
# `series: {name: diffusion, part: 2}` in its front matter.
blog_series = {
    "diffusion": "扩散模型",
}
# Front page: posts per page of the "最新文章" list.
frontpage_posts_per_page = 12

# -- Citations ---------------------------------------------------------------

bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"
bibtex_foot_reference_style = "foot"

# -- Code and figures --------------------------------------------------------

autodoc_member_order = "bysource"
# Type hints and {py:func} links to Python, NumPy and PyTorch resolve through
# intersphinx.  Every nitpicky target must resolve: keep this list empty.
nitpick_ignore = []
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
# PNG at twice figure_css_dpi (110) for high-density screens, with a copy at 110 dpi for the
# others (_ext/mlnotes_images.py); PDF for the book.
plot_formats = [("png", 220), ("pdf", 110)]
plot_rcparams = {"font.sans-serif": ["Noto Sans CJK SC", "DejaVu Sans"], "axes.unicode_minus": False}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- Intersphinx (offline) ----------------------------------------------------

# Links go to the official documentation, but the inventories are read from
# _intersphinx/ in the repository (a local path: Sphinx never fetches it), so a
# build needs no network.  python.inv is Debian's python3.11-doc; numpy.inv and
# torch.inv are the official ones or generated by tools/inventories.py
# (`make inventories`; README, "Offline intersphinx").
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_intersphinx/python.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_intersphinx/numpy.inv"),
    "torch": ("https://docs.pytorch.org/docs/stable/", "_intersphinx/torch.inv"),
}
# Only local files are listed; should a URL ever be added, fail fast and keep
# its cached copy for a month rather than fetch it on every build.
intersphinx_timeout = 5
intersphinx_cache_limit = 30
# Only objects (py:...) resolve in other projects: a mistyped {ref} or {doc}
# to this site's own labels and pages must fail the build, not land silently
# on a Python docs page that happens to use the same name.
intersphinx_disabled_reftypes = ["std:doc", "std:label"]

# -- HTML --------------------------------------------------------------------

html_theme = "sphinx_book_theme"
html_title = "机器学习笔记"
html_baseurl = base_url
html_static_path = ["_static"]
# mlnotes-icons.css: the theme's icon font cut to the icons the site draws, in
# place of Font Awesome's 1.56 MB script (tools/icons.py, _templates/layout.html).
html_css_files = ["mlnotes-icons.css", "mlnotes.css"]
# Hover/focus previews of cross-references, read from the target page itself.
html_js_files = [("mlnotes-previews.js", {"defer": "defer"}),
                 ("mlnotes-scroll.js", {"defer": "defer"}),
                 # the sidebar buttons a reader sees (the themes wire only a hidden one)
                 ("mlnotes-toggles.js", {"defer": "defer"}),
                 # the search box and page; loads the index only when the reader searches
                 ("mlnotes-search.js", {"defer": "defer"})]
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": False,
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
    "search_bar_text": "搜索本站…",
    "use_download_button": False,
    "use_fullscreen_button": False,
}
# The sidebar shows sections, never the list of all posts: a whole-site toctree
# on every page makes the build O(N^2) (see issue 4).
# An explicit colour mode: left empty, the theme logs "Got invalid theme mode"
# to the console on every first visit.
html_context = {"default_mode": "auto"}
html_sidebars = {
    "**": [
        "navbar-logo.html",  # the header already has the search box
        "mlnotes-sections.html",
        "mlnotes-categories.html",
    ],
}
# No list of posts or tags in the sidebar (recent posts, tag cloud, archives): what every
# page shows must not change when a post is added or retagged, or every page is written
# again (issue 19). The front page lists the latest posts; 栏目 links the tags and archives.
# The sidebar is the same on every page (but for its relative links): rendered once per
# build, not once per page (_ext/mlnotes_shared_html.py).
shared_sidebar_templates = [
    "mlnotes-sections.html",
    "mlnotes-categories.html",
]
# Values the theme would otherwise rewrite at start-up; set once here so that an
# unchanged project is not rebuilt from scratch ("The configuration has changed").
fontawesome_included = True
html_permalinks_icon = "#"
html_sourcelink_suffix = ""
# Pages the search does not list (lists of other pages; _ext/mlnotes_search.py).
mlnotes_search_exclude = ["index", "book", "graph", "concepts/index", "api/index"]

# -- Sitemap and OpenGraph (from base_url) ------------------------------------

# base_url already holds the language and version (/zh-cn/latest/).
sitemap_url_scheme = "{link}"
sitemap_excludes = ["search.html", "genindex.html", "py-modindex.html", "book.html"]
ogp_site_url = base_url
ogp_site_name = project
ogp_type = "article"
# Social cards would be drawn with a font fetched from the network: off.
ogp_social_cards = {"enable": False}

# -- Concept graph (Graphviz) ------------------------------------------------

# SVG keeps the Chinese labels sharp and the nodes clickable.
graphviz_output_format = "svg"

# -- Math ----------------------------------------------------------------------

# Formulas are drawn at build time by MathJax 3.2.2 under Node.js (package.json; `make
# html` runs `npm ci`), so pages carry SVG and load no math script or font
# (_ext/mlnotes_mathsvg.py; README, "Page weight and speed").
html_math_renderer = "mlnotes_svg"

# -- PDF book (LaTeX) ----------------------------------------------------------

# book.rst is the root of the book; its table of contents is generated
# (_ext/mlnotes_book.py): a part per category, the concepts, the API, the
# bibliography.  Blog machinery (post lists, archives, feeds) is not in it.
latex_engine = "xelatex"
latex_documents = [("book", "mlnotes.tex", "机器学习笔记", author, "manual")]
latex_use_xindy = False
latex_show_urls = "no"
latex_domain_indices = False  # one module: the general index is enough
latex_elements = {
    "papersize": "a4paper",
    # read on screens more than printed: no blank pages before parts and chapters
    "extraclassoptions": "openany,oneside",
    "pointsize": "11pt",
    # ctex (not babel) for Chinese typesetting: line breaking, punctuation,
    # "第 1 章" headings.  Fonts: Noto CJK where installed (Debian's
    # fonts-noto-cjk), else the Fandol fonts that come with ctex itself.
    "babel": "",
    "polyglossia": "",
    "fontenc": "",
    "fontpkg": "",
    "fncychap": "",  # ctex formats the chapter headings (第 1 章)
    "preamble": r"""
\usepackage{bookmark}
\usepackage[heading=true,scheme=chinese,fontset=none]{ctex}
\IfFontExistsTF{Noto Serif CJK SC}{%
  \setCJKmainfont{Noto Serif CJK SC}[BoldFont=Noto Serif CJK SC Bold]
  \setCJKsansfont{Noto Sans CJK SC}[BoldFont=Noto Sans CJK SC Bold]
  \setCJKmonofont{Noto Sans Mono CJK SC}
}{%
  \setCJKmainfont{FandolSong-Regular.otf}[BoldFont=FandolSong-Bold.otf]
  \setCJKsansfont{FandolHei-Regular.otf}[BoldFont=FandolHei-Bold.otf]
  \setCJKmonofont{FandolFang-Regular.otf}
}
\setmainfont{TeX Gyre Termes}
\setsansfont{TeX Gyre Heros}
\setmonofont{DejaVu Sans Mono}[Scale=0.9]
\setlength{\emergencystretch}{3em}
""",
    # Long code lines wrap instead of running off the page.  The emergency
    # stretch lets a line with an unbreakable inline literal (a long function
    # name) go loose rather than stick out into the margin.
    "sphinxsetup": "verbatimwrapslines=true, verbatimforcewraps=true, verbatimmaxunderfull=0",
    # The index's two narrow columns hold long module names (mlnotes.stochastic_approximation).
    "printindex": r"\footnotesize\raggedright\printindex",
}
