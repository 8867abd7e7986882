"""Speed: ABlog's excerpt documents share docutils' default settings, built once.

ABlog renders each excerpt in a fresh docutils document whose default settings it builds
from scratch (an ``OptionParser`` of every docutils option, 0.6 ms) and then replaces with
the builder's; here the defaults are built once and each document gets its own copy.
"""

from __future__ import annotations

import copy
import functools

from mlnotes_core import speed_patch

__version__ = "1.0"


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


def setup(app):
    speed_patch(app, lambda app: shared_default_settings())
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
