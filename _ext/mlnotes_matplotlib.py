"""matplotlib, imported only when a page has a plot.

Extensions that import matplotlib (and NumPy) when they are loaded cost a third of a
second, a fifth of a no-change build of 1,000 posts (``make bench``; README,
"Build performance"), paid by every build, though only a build that reads a page
with a figure needs it.

``matplotlib.sphinxext.plot_directive``
    This extension is loaded in its place.  It registers the same directive,
    configuration values, stylesheet, event handlers and environment collector
    as matplotlib's own ``setup()`` (a test compares the two registrations, so a
    matplotlib upgrade that adds one fails the test suite), with stand-ins that
    import the real module when they first have work to do: the directive's
    class answers docutils' and MyST's questions (its options, arguments,
    content) from the real class and runs the real directive; the collector's
    ``clear_doc`` and ``merge_other`` call the real ones when the environment
    records plot files for the documents concerned; ``mark_plot_labels``
    (``doctree-read``) runs once the module is loaded (a document with a plot
    loaded it while it was parsed).  The stylesheet is copied from matplotlib's
    data directory, found without importing matplotlib, when the builder
    starts.  (matplotlib copies it when the build has finished, so a clean
    build's pages linked it without its ``?v=`` checksum and the next build's
    with one: every page differed from a clean build.)

sphinxext-opengraph's social cards import pyplot too: ``mlnotes_social_cards``.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import weakref
from pathlib import Path

from docutils.parsers.rst import Directive
from sphinx.environment.collectors import EnvironmentCollector

__version__ = "1.0"
MODULE = "matplotlib.sphinxext.plot_directive"


_app_ref = None


def remember_app(app) -> None:
    """The application the directive sets matplotlib's module up for (matplotlib's own
    ``setup()`` records it on the module the same way).  Read from here, not from
    ``env.app``, which Sphinx 9 deprecates."""
    global _app_ref
    _app_ref = weakref.ref(app)


def _current_app():
    app = _app_ref() if _app_ref is not None else None
    if app is None:
        raise RuntimeError("mlnotes_matplotlib: the plot directive ran outside a build")
    return app


def real_module(app):
    """The real extension module, imported now if need be, set up for *app*."""
    plot_directive = importlib.import_module(MODULE)
    setup = plot_directive.setup
    if getattr(setup, "app", None) is not app:
        # what matplotlib's setup() records for its directive to read
        setup.app, setup.config, setup.confdir = app, app.config, app.confdir
        plot_directive.init_filename_registry(app)
    return plot_directive


def _from_real(name: str) -> property:
    """A class attribute read from the real directive class, imported on first use."""
    return property(lambda cls: getattr(importlib.import_module(MODULE).PlotDirective, name))


class _Deferred(type):
    """Class attributes a parser reads before it runs a directive, from the real class."""

    has_content = _from_real("has_content")
    required_arguments = _from_real("required_arguments")
    optional_arguments = _from_real("optional_arguments")
    final_argument_whitespace = _from_real("final_argument_whitespace")
    option_spec = _from_real("option_spec")


class PlotDirective(Directive, metaclass=_Deferred):
    """``plot``: matplotlib's directive, imported on first use."""

    def run(self):
        real = real_module(_current_app()).PlotDirective
        return real(self.name, self.arguments, self.options, self.content, self.lineno,
                    self.content_offset, self.block_text, self.state, self.state_machine).run()


class FilenameCollector(EnvironmentCollector):
    """matplotlib's ``_FilenameCollector``, called when there is something to do."""

    def process_doc(self, app, doctree) -> None:
        pass

    def clear_doc(self, app, env, docname) -> None:
        if docname in getattr(env, "mpl_plot_image_basenames", {}):
            real_module(app)._FilenameCollector.clear_doc(self, app, env, docname)

    def merge_other(self, app, env, docnames, other) -> None:
        if getattr(other, "mpl_plot_image_basenames", None):
            real_module(app)._FilenameCollector.merge_other(self, app, env, docnames, other)


def init_filename_registry(app) -> None:
    if MODULE in sys.modules:
        sys.modules[MODULE].init_filename_registry(app)


def mark_plot_labels(app, document) -> None:
    if MODULE in sys.modules:
        sys.modules[MODULE].mark_plot_labels(app, document)


def css_file() -> Path:
    """matplotlib's ``plot_directive.css``, located without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "mpl-data" / "plot_directive" / "plot_directive.css"


def copy_css_file(app) -> None:
    if app.builder.format == "html":
        static = Path(app.outdir, "_static")
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(css_file(), static / "plot_directive.css")


def setup(app):
    app.add_directive("plot", PlotDirective)
    # the configuration values of matplotlib's setup(), with its defaults
    app.add_config_value("plot_pre_code", None, True)
    app.add_config_value("plot_include_source", False, True)
    app.add_config_value("plot_html_show_source_link", True, True)
    app.add_config_value("plot_formats", ["png", "hires.png", "pdf"], True)
    app.add_config_value("plot_basedir", None, True)
    app.add_config_value("plot_html_show_formats", True, True)
    app.add_config_value("plot_rcparams", {}, True)
    app.add_config_value("plot_apply_rcparams", False, True)
    app.add_config_value("plot_working_directory", None, True)
    app.add_config_value("plot_template", None, True)
    app.add_config_value("plot_srcset", [], True)
    app.connect("doctree-read", mark_plot_labels)
    app.add_css_file("plot_directive.css")
    app.connect("builder-inited", remember_app)
    app.connect("builder-inited", copy_css_file)
    app.connect("builder-inited", init_filename_registry)
    app.add_env_collector(FilenameCollector)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
