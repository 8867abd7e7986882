"""Costs a build paid for nothing: template checks, asset paths, pure-Python YAML, GC.

Found with py-spy on the benchmark's 1,000-post site (``make bench``; README,
"Build performance"), each a few per cent of a build:

* Jinja checks the modification time of every template each time one is
  included (``auto_reload``): the book theme's layout includes some forty, so a
  build made ~45,000 ``stat`` calls for files that cannot change while it runs.
  Each build is a new Sphinx application with a new template environment (also
  under ``make serve``), so an edited template is still picked up by the next
  build.  And each build compiled those templates from their source again
  (Sphinx gives Jinja no bytecode cache): 0.1 s of a no-change build.  The
  compiled code is kept in the doctree directory, under the checksum of each
  template's source, so an edited template is compiled afresh.
* For the ``?v=`` checksum of each stylesheet and script, Sphinx resolves the
  asset's path (``Path.resolve``: a ``readlink`` per path component) on every
  page before looking the checksum up in its cache; here the lookup is cached
  on the path as given.  The checksum itself was already computed once per
  file and build; this keeps exactly that behaviour.
* MyST reads each Markdown file's YAML front matter twice (for its own
  configuration, then for the document) and the options of directives, with
  PyYAML's pure-Python parser.  While MyST parses a document, ``yaml.safe_load``
  uses libyaml's parser (``CSafeLoader``: same YAML, same Python values), where
  PyYAML was built with it.
* ABlog renders each excerpt in a fresh docutils document whose default
  settings it builds from scratch (an ``OptionParser`` of every docutils
  option, 0.6 ms) and then replaces with the builder's; here the defaults are
  built once and each document gets its own copy.
* The garbage collector: in ``sphinx-build`` (the command, not a test or
  another program that builds in-process), a no-change build of 1,000 posts
  spent 1.3 s of its 3.1 s in collections that freed nothing, walking the
  million objects of the environment unpickled at start-up, again and again
  as allocations went on.  The collector is off from the time this extension
  is set up until the environment is unpickled, and the unpickled objects are
  then moved out of its sight (``gc.freeze``: they live until the process ends anyway);
  it collects as usual what the build itself allocates.  Likewise, once the
  build is over, Python's shutdown spent 2.2 s collecting the environment:
  everything is frozen then, as the process ends right after.

None of it is applied with ``-D mlnotes_speed_patches=0`` (``mlnotes_core``).
"""

from __future__ import annotations

import copy
import functools
import gc
import sys
from pathlib import Path

from mlnotes_core import add_speed_switch, speed_patches_on

__version__ = "1.0"


def no_template_reload(app) -> None:
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is not None:
        from jinja2 import FileSystemBytecodeCache

        environment.auto_reload = False
        cache = Path(app.doctreedir, "jinja2")
        cache.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(cache))


def cache_asset_checksums() -> None:
    import sphinx.builders.html as html

    original = html._file_checksum
    if getattr(original, "mlnotes_cached", False):
        return

    @functools.lru_cache(maxsize=1024)
    def _file_checksum(outdir, filename) -> str:
        return original(outdir, filename)

    _file_checksum.mlnotes_cached = True
    html._file_checksum = _file_checksum


def libyaml_for_myst() -> None:
    import yaml
    from myst_parser.parsers.sphinx_ import MystParser

    if not getattr(yaml, "__with_libyaml__", False) or getattr(MystParser.parse, "mlnotes_libyaml", False):
        return
    original = MystParser.parse

    def fast_safe_load(stream):
        return yaml.load(stream, Loader=yaml.CSafeLoader)

    def parse(self, inputstring, document):
        pure, yaml.safe_load = yaml.safe_load, fast_safe_load
        try:
            return original(self, inputstring, document)
        finally:
            yaml.safe_load = pure

    parse.mlnotes_libyaml = True
    MystParser.parse = parse


def shared_default_settings() -> None:
    import ablog.blog
    from docutils.frontend import get_default_settings
    from docutils.utils import new_document

    if getattr(ablog.blog.new_document, "mlnotes_shared", False):
        return
    defaults = functools.cache(get_default_settings)

    def ablog_new_document(source_path, settings=None):
        return new_document(source_path, settings if settings is not None else copy.copy(defaults()))

    ablog_new_document.mlnotes_shared = True
    ablog.blog.new_document = ablog_new_document


def command_line_build() -> bool:
    """Whether this process is ``sphinx-build`` / ``python -m sphinx``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return (spec is not None and spec.name == "sphinx.__main__") \
        or Path(sys.argv[0]).name == "sphinx-build"


def freeze_before_exit(app, exception) -> None:
    if command_line_build():
        gc.freeze()


def freeze_loaded_environment(app) -> None:
    """After the pickled environment is loaded (``builder-inited`` comes next)."""
    if command_line_build():
        gc.freeze()
        gc.enable()


def apply(app, config) -> None:
    """All of the above, unless the speed patches are off (``mlnotes_core``)."""
    if not speed_patches_on(config):
        return
    if command_line_build():
        gc.disable()  # on again at builder-inited, once the environment is loaded
    app.connect("builder-inited", freeze_loaded_environment, priority=0)
    app.connect("build-finished", freeze_before_exit, priority=900)
    app.connect("builder-inited", no_template_reload)
    cache_asset_checksums()
    libyaml_for_myst()
    shared_default_settings()


def setup(app):
    add_speed_switch(app)
    app.connect("config-inited", apply)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
