"""Per-page costs of Sphinx's HTML writer that a build does not need to pay.

Found with py-spy on the benchmark's 1,000-post site (``make bench``; README,
"Build performance"), each a few per cent of a full build, paid once per page
and per template or asset:

* Jinja checks the modification time of every template each time one is
  included (``auto_reload``): the book theme's layout includes some forty, so a
  build made ~45,000 ``stat`` calls for files that cannot change while it runs.
  Each build is a new Sphinx application with a new template environment (also
  under ``make serve``), so an edited template is still picked up by the next
  build.
* For the ``?v=`` checksum of each stylesheet and script, Sphinx resolves the
  asset's path (``Path.resolve``: a ``readlink`` per path component) on every
  page before looking the checksum up in its cache; here the lookup is cached
  on the path as given.  The checksum itself was already computed once per
  file and build; this keeps exactly that behaviour.
"""

from __future__ import annotations

import functools

__version__ = "1.0"


def no_template_reload(app) -> None:
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is not None:
        environment.auto_reload = False


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


def setup(app):
    app.connect("builder-inited", no_template_reload)
    cache_asset_checksums()
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
