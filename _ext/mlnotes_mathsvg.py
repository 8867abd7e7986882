"""Math drawn at build time: MathJax renders every formula to SVG while the site is built.

The site used to send MathJax (1.16 MB of script, 264 KB gzip, plus up to 120 KB of
fonts) to every page with a formula and typeset in the reader's browser after the page
had loaded.  Now the same MathJax (the npm package ``mathjax-full``, version 3.2.2 like
the bundled script it replaces) runs under Node.js during the build
(``mlnotes_mathsvg.js``, one process per build process) and the pages carry SVG: no
script, no font, nothing that moves once the page is shown, and a TeX mistake is a
build error at the formula's file and line instead of red text in a reader's browser.

* Each formula is an ``<mjx-container>`` holding an SVG drawn with ``currentColor`` (so
  it follows the light and dark themes) and MathJax's assistive MathML, which screen
  readers read (the SVG is hidden from them), as MathJax does in the browser.
* Glyphs are shared within a page, as MathJax's "global" font cache does: a formula
  refers to ``<use xlink:href="#MJX-TEX-I-1D465">`` and the page ends with one hidden
  ``<svg>`` defining each glyph it uses.  The definitions are added by the Jinja filter
  ``mlnotes_math_glyphs`` around the theme's ``content`` block
  (``_templates/layout.html``), so they cover everything the page shows: its text,
  post excerpts on list pages, sidebars.
* The HTML of each formula and each glyph are kept between builds in the doctree
  directory (``mlnotes-mathsvg.pickle``), keyed by MathJax's version and this code's, so
  an incremental build starts Node only for new formulas.

Written for Sphinx 9.0.4: the display-math TeX is assembled as
``sphinx.ext.mathjax.html_visit_displaymath`` does (several equations become an
``aligned`` block, one with ``\\\\`` a ``split``); ``tests/test_mathsvg.py`` fingerprints
that function.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from mlnotes_core import code_version
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

logger = logging.getLogger(__name__)

RENDERER = "mlnotes_svg"
SCRIPT = Path(__file__).with_name("mlnotes_mathsvg.js")
CACHE_FILE = "mlnotes-mathsvg.pickle"
# Bump when the HTML written for a formula changes; the cache is dropped.
FORMAT = 1
# A glyph reference in a formula's SVG (MathJax names glyphs MJX-TEX-<variant>-<code point>).
GLYPH_REF = re.compile(r'xlink:href="#(MJX-[A-Z0-9-]+)"')
INSTALL_HINT = ("Math is drawn at build time by MathJax under Node.js. Install Node.js "
                "(Debian/Ubuntu: sudo apt-get install -y nodejs npm), then run `npm ci` in the "
                "project (`make html` does it).")


class TeXError(Exception):
    """MathJax could not parse a formula."""


def default_modules() -> Path:
    """The project's ``node_modules``, beside ``_ext/`` (also for the test projects)."""
    return Path(__file__).resolve().parents[1] / "node_modules"


def mathjax_version(modules: Path) -> str:
    try:
        return json.loads((modules / "mathjax-full" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError) as err:
        raise ExtensionError(f"MathJax (mathjax-full) is not installed in {modules}. {INSTALL_HINT}") from err


class MathJax:
    """One Node.js process running MathJax, with the formulas and glyphs it has drawn.

    Per build process: a parallel write forks workers, and each starts its own Node
    process on first use (the pipes of a parent's process are never shared).
    """

    def __init__(self, node: str, modules: Path, cache_path: Path | None):
        self.node, self.modules, self.cache_path = node, modules, cache_path
        # the cache is dropped when MathJax, the script or this module change
        self.key = (FORMAT, mathjax_version(modules), code_version(str(SCRIPT), __file__))
        self.formulas: dict[tuple[str, bool], str] = {}
        self.glyphs: dict[str, str] = {}
        self.changed = False
        self._loaded = False  # the cache is read on first use: a build that writes no page never does
        self._proc: subprocess.Popen | None = None
        self._pid = os.getpid()

    # -- the cache kept in the doctree directory ------------------------------------

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self.cache_path or not self.cache_path.is_file():
            return
        try:
            with self.cache_path.open("rb") as f:
                data = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return
        if isinstance(data, dict) and data.get("key") == self.key:
            self.formulas, self.glyphs = data["formulas"], data["glyphs"]

    def save(self) -> None:
        if self.changed and self.cache_path and os.getpid() == self._pid:
            tmp = self.cache_path.with_suffix(".tmp")
            with tmp.open("wb") as f:
                pickle.dump({"key": self.key, "formulas": self.formulas, "glyphs": self.glyphs}, f,
                            pickle.HIGHEST_PROTOCOL)
            tmp.replace(self.cache_path)
            self.changed = False

    # -- talking to Node ------------------------------------------------------------------

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._proc is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._proc = subprocess.Popen(
                [self.node, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, encoding="utf-8", bufsize=1,
                env={**os.environ, "NODE_PATH": str(self.modules)})
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise ExtensionError(f"MathJax (Node.js) stopped answering. {INSTALL_HINT}")
        return json.loads(line)

    def close(self) -> None:
        if self._proc is not None and self._pid == os.getpid():
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
        self._proc = None

    # -- what the writer asks for ----------------------------------------------------------

    def render(self, tex: str, display: bool) -> str:
        self._load()
        key = (tex, display)
        found = self.formulas.get(key)
        if found is None:
            answer = self._ask({"tex": tex, "display": display})
            if "error" in answer:
                raise TeXError(answer["error"])
            # focusable= is for Internet Explorer and not valid HTML
            found = self.formulas[key] = answer["html"].replace(' focusable="false"', "")
            self.glyphs.update(answer["glyphs"])
            self.changed = True
        return found

    def glyph_defs(self, ids: set[str]) -> list[str]:
        self._load()
        missing = sorted(ids - self.glyphs.keys())
        if missing:  # drawn by another process (a parallel write) or an earlier build
            answer = self._ask({"glyphs": missing})
            self.glyphs.update(answer["glyphs"])
            self.changed = True
            unknown = sorted(set(missing) - answer["glyphs"].keys())
            if unknown:
                raise ExtensionError(f"MathJax has no glyphs named {', '.join(unknown)}")
        return [self.glyphs[i] for i in sorted(ids)]


_MATHJAX: MathJax | None = None  # the process's MathJax, set up at builder-inited


def mathjax() -> MathJax:
    if _MATHJAX is None:
        raise ExtensionError("mlnotes_mathsvg: the HTML builder was not set up")
    return _MATHJAX


# -- the HTML writer ---------------------------------------------------------------------

def _formula(self: HTML5Translator, node: nodes.Element, tex: str, display: bool) -> str:
    try:
        return mathjax().render(tex, display)
    except TeXError as err:
        logger.warning("TeX error in a formula: %s: %s", err, tex.strip(),
                       location=node, type="mlnotes", subtype="math")
        return f'<code class="mlnotes-math-error">{self.encode(tex)}</code>'


def visit_math(self: HTML5Translator, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_formula(self, node, node.astext(), display=False))
    self.body.append("</span>")
    raise nodes.SkipNode


def display_tex(node: nodes.math_block) -> str:
    """The TeX of a display block, assembled as ``sphinx.ext.mathjax`` does (Sphinx 9.0)."""
    if node.get("no-wrap", node.get("nowrap", False)):
        return node.astext()
    parts = [part for part in node.astext().split("\n\n") if part.strip()]
    body = r"\\".join(r"\begin{split}" + part + r"\end{split}" if r"\\" in part else part
                      for part in parts)
    return r"\begin{aligned}" + body + r"\end{aligned}" if len(parts) > 1 else body


def visit_displaymath(self: HTML5Translator, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_formula(self, node, display_tex(node), display=True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def math_glyphs(text: str) -> str:
    """Jinja filter: *text* (a page's content) followed by the glyphs its formulas use."""
    ids = set(GLYPH_REF.findall(text))
    if not ids:
        return text
    defs = "".join(mathjax().glyph_defs(ids))
    return (f'{text}<svg class="mlnotes-math-glyphs" xmlns="http://www.w3.org/2000/svg" '
            f'aria-hidden="true" style="display: none"><defs>{defs}</defs></svg>')


# -- events ----------------------------------------------------------------------------

def _on_builder_inited(app: Sphinx) -> None:
    global _MATHJAX
    if getattr(app.builder, "math_renderer_name", None) != RENDERER:
        return
    node = shutil.which(app.config.mathsvg_node)
    if node is None:
        raise ExtensionError(f"Node.js ({app.config.mathsvg_node}) is not on the PATH. {INSTALL_HINT}")
    modules = Path(app.config.mathsvg_node_modules or default_modules())
    _MATHJAX = MathJax(node, modules, Path(app.doctreedir) / CACHE_FILE)
    app.builder.templates.environment.filters["mlnotes_math_glyphs"] = math_glyphs


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    # Node stops with the build; the drawn formulas stay, and a next build of the same
    # application (the preview server, tools/serve.py) starts Node again on first use.
    if _MATHJAX is not None:
        if exception is None:
            _MATHJAX.save()
        _MATHJAX.close()


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_html_math_renderer(RENDERER, inline_renderers=(visit_math, None),
                               block_renderers=(visit_displaymath, None))
    app.add_config_value("mathsvg_node", "node", "html", types=frozenset({str}))
    app.add_config_value("mathsvg_node_modules", None, "html", types=frozenset({str, type(None)}))
    app.connect("builder-inited", _on_builder_inited)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
