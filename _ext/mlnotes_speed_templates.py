"""Speed: Jinja's templates neither checked nor compiled again on every page.

Found with py-spy on the benchmark's 1,000-post site (``make bench``; README, "Build
performance").  Jinja checks the modification time of every template each time one is
included (``auto_reload``): the book theme's layout includes some forty, so a build made
~45,000 ``stat`` calls for files that cannot change while it runs.  Each build process
has a new template environment (``make serve`` starts a new build process when a template
changes), so an edited template is still picked up by the next build.  And each build
compiled those templates from their source again (Sphinx gives Jinja no bytecode cache):
0.1 s of a no-change build.  The compiled code is kept in the doctree directory, under
the checksum of each template's source, so an edited template is compiled afresh.
"""

from __future__ import annotations

from pathlib import Path

from mlnotes_core import speed_patch

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


def setup(app):
    speed_patch(app, lambda app: app.connect("builder-inited", no_template_reload))
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
