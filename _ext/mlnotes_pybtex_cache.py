"""Look up pybtex plugins and format each bibliography entry once per process.

pybtex finds its styles through ``importlib.metadata.entry_points``, which
scans the metadata of every installed distribution on each call, and
sphinxcontrib-bibtex calls it for every ``{footcite}`` (directly and through
``Style.__init__``).  With two citations per post that was 60% of a full build
of 300 synthetic posts (cProfile: ``pybtex.plugin._load_entry_point``).  The
installed distributions do not change while Sphinx runs, so the lookup is
memoised; plugins registered at run time are still checked first by both
libraries, before this lookup.

Formatting an entry (``Style.format_entry``: names, title, venue through
pybtex's template language) costs about 2 ms, and sphinxcontrib-bibtex does it
for every ``{footcite}`` and again for every bibliography on each build: 2,200
times for the 1,000 posts of the benchmark, about 5% of the build.  The result
depends only on the style (its class and name, label and sorting styles), the
label and the entry, so it is memoised on those; an entry is recognised by
identity, so a re-parsed ``.bib`` (a changed file, ``make serve``) is formatted
afresh.
"""

from __future__ import annotations

import functools
import importlib.metadata

__version__ = "1.0"


#: (style settings, label, entry key) -> (entry, formatted entry); bounded.
_FORMATTED: dict[tuple, tuple] = {}
_FORMATTED_MAX = 20_000


def _memoise_format_entry(style_class) -> None:
    original = style_class.format_entry
    if getattr(original, "mlnotes_memo", False):
        return

    def format_entry(self, label, entry, bib_data=None):
        if bib_data is not None:  # cross-referenced entries: not worth a key
            return original(self, label, entry, bib_data=bib_data)
        key = (type(self), type(self.name_style), type(self.label_style),
               type(self.sorting_style), self.abbreviate_names, self.min_crossrefs,
               label, entry.key)
        hit = _FORMATTED.get(key)
        if hit is None or hit[0] is not entry:
            if len(_FORMATTED) >= _FORMATTED_MAX:
                _FORMATTED.clear()
            hit = _FORMATTED[key] = (entry, original(self, label, entry))
        return hit[1]

    format_entry.mlnotes_memo = True
    style_class.format_entry = format_entry


@functools.cache
def _entry_points(group: str, name: str) -> tuple:
    return tuple(importlib.metadata.entry_points(group=group, name=name))


def entry_points(*, group: str, name: str) -> tuple:
    return _entry_points(group, name)


def setup(app):
    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin
    from pybtex.style.formatting import BaseStyle

    pybtex.plugin.entry_points = entry_points
    sphinxcontrib.bibtex.plugin._entry_points = entry_points
    _memoise_format_entry(BaseStyle)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
