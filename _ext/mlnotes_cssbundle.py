"""One stylesheet per page instead of twelve.

Every page linked the same twelve stylesheets (Sphinx's basic theme through the book
theme's ``theme.css``, pydata-sphinx-theme, Pygments, the book theme, copybutton,
matplotlib's plot directive, Graphviz, sphinx-design, the icon subset, the site's own,
ABlog's tag cloud): twelve requests before the first paint on a phone, where the whole
page needs fifteen.  They are concatenated, in the order the page linked them, into
``_static/mlnotes-site.css``; ``_templates/layout.html`` links that one file, with a
digest of its content so that browsers fetch it again when it changes, plus any
stylesheet a page adds for itself or that has attributes of its own (``media``), which
stays a file of its own.

The bundle is made from the files in the output directory, which Sphinx has copied
before it writes the first page (``Builder.write``: ``copy_assets`` before
``write_documents``; Sphinx 9.0.4): on the first page each build process writes (its
digest goes into the pages' link), and again when the build finishes, after
pydata-sphinx-theme has rewritten ``pygments.css`` with its light and dark rules (so
the digest does not follow a change of the Pygments style alone) and for a build that
wrote no page but copied a changed stylesheet.  ``@import`` is inlined and every
``url()`` is rebased on the bundle's directory.

The list comes from ``StandaloneHTMLBuilder._css_files`` (Sphinx's own list of the
page's stylesheets; ``tests/test_cssbundle.py`` guards its shape), led by the files
pydata-sphinx-theme links from its template (read from that template).  (ABlog's tag
cloud linked its own stylesheet from the sidebar; the sidebar no longer shows it.)
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlnotes_core import write_if_changed

if TYPE_CHECKING:
    from sphinx.application import Sphinx

BUNDLE = "_static/mlnotes-site.css"
IMPORT = re.compile(r'@import\s+(?:url\()?\s*["\']?([^"\')\s;]+)["\']?\s*\)?\s*;')
URL = re.compile(r'url\(\s*(["\']?)([^"\')]+)\1\s*\)')
DROPPED = re.compile(r'@charset\s+"[^"]*"\s*;|/\*[#@]\s*sourceMappingURL=[^*]*\*/')


def theme_first(app: Sphinx) -> list[str]:
    """What pydata-sphinx-theme links before Sphinx's list (its ``head_pre_assets`` macro),
    read from the theme's own template so that the bundle follows the theme."""
    env = app.builder.templates.environment
    try:
        source = env.loader.get_source(env, "static/webpack-macros.html")[0]
    except Exception:  # another theme: nothing before Sphinx's list
        return []
    macro = re.search(r"macro head_pre_assets\(\)(.*?)endmacro", source, re.S)
    return re.findall(r"pathto\('([^']+\.css)'", macro[1]) if macro else []


def bundled_files(app: Sphinx) -> list[str]:
    """The stylesheets in the bundle, in page order (paths relative to the output directory)."""
    listed = []
    for css in sorted(app.builder._css_files, key=lambda css: css.priority):
        attrs = {k for k in css.attributes if k not in {"rel", "type", "priority"}}
        if not attrs and "://" not in css.filename:
            listed.append(css.filename)
    return list(dict.fromkeys([*theme_first(app), *listed]))


def _rebase(css: str, source: str) -> str:
    """*css* from *source* (a path relative to the output directory), with its ``url()``s
    made relative to the bundle's directory."""
    here, there = posixpath.dirname(source), posixpath.dirname(BUNDLE)

    def rebase(match: re.Match) -> str:
        quote, target = match.groups()
        if re.match(r"^(data:|[a-z]+://|/|#)", target):
            return match.group(0)
        moved = posixpath.relpath(posixpath.normpath(posixpath.join(here, target)), there)
        return f"url({quote}{moved}{quote})"

    return URL.sub(rebase, css)


def _read(outdir: Path, source: str, seen: set[str]) -> str:
    """*source* with its ``@import``s inlined (each file once) and ``url()``s rebased."""
    if source in seen:
        return ""
    seen.add(source)
    text = DROPPED.sub("", (outdir / source).read_text(encoding="utf-8"))

    def inline(match: re.Match) -> str:
        return _read(outdir, posixpath.normpath(posixpath.join(posixpath.dirname(source), match[1])), seen)

    return _rebase(IMPORT.sub(inline, text), source)


def make_bundle(app: Sphinx) -> str:
    """Write the bundle if its content changed; return a digest of its content."""
    outdir, seen = Path(app.outdir), set()
    parts = [f"/* {name} */\n{_read(outdir, name, seen)}\n" for name in bundled_files(app)]
    content = '@charset "UTF-8";\n' + "".join(parts)
    return write_if_changed(outdir / BUNDLE, content)


# Per build process, once the bundle is made: its digest and the files in it.
_MADE: dict[int, tuple[str, frozenset[str]]] = {}


def _on_html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not _is_html(app):
        return
    made = _MADE.get(os.getpid())
    if made is None:
        made = _MADE[os.getpid()] = (make_bundle(app), frozenset(bundled_files(app)))
    context["mlnotes_css_bundle"] = context["pathto"](BUNDLE, 1) + "?v=" + made[0]
    context["mlnotes_css_bundled"] = made[1]


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    _MADE.clear()
    if exception is None and _is_html(app):
        make_bundle(app)


def _is_html(app: Sphinx) -> bool:
    return app.builder.format == "html" and hasattr(app.builder, "_css_files")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_html_page_context)
    # Late: after pydata-sphinx-theme's own build-finished handler, which writes the light
    # and dark Pygments rules into pygments.css (pygments.overwrite_pygments_css, 0.20.0).
    app.connect("build-finished", _on_build_finished, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
