"""Look up pybtex and sphinxcontrib-bibtex plugins once per process, not per citation.

pybtex finds its styles through ``importlib.metadata.entry_points``, which
scans the metadata of every installed distribution on each call, and
sphinxcontrib-bibtex calls it for every ``{footcite}`` (directly and through
``Style.__init__``).  With two citations per post that was 60% of a full build
of 300 synthetic posts (cProfile: ``pybtex.plugin._load_entry_point``).  The
installed distributions do not change while Sphinx runs, so the lookup is
memoised; plugins registered at run time are still checked first by both
libraries, before this lookup.
"""

from __future__ import annotations

import functools
import importlib.metadata

__version__ = "1.0"


@functools.cache
def _entry_points(group: str, name: str) -> tuple:
    return tuple(importlib.metadata.entry_points(group=group, name=name))


def entry_points(*, group: str, name: str) -> tuple:
    return _entry_points(group, name)


def setup(app):
    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin

    pybtex.plugin.entry_points = entry_points
    sphinxcontrib.bibtex.plugin._entry_points = entry_points
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
