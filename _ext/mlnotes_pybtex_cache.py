"""Look up pybtex plugins once per process, and format each bibliography entry once.

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
times for the 1,000 posts of the benchmark, about 5% of the build, and for
every entry of the bibliography on every build, even one that reads nothing
(0.1 s of a no-change build).  The result depends only on the style (its class
and name, label and sorting styles), the label and the entry's content (key,
type, fields, names), so it is memoised on those, and the memo is kept in the
doctree directory from one build to the next; an edited ``.bib`` entry has
another content, and is formatted afresh.
"""

from __future__ import annotations

import functools
import importlib.metadata
import pickle
from pathlib import Path

from mlnotes_core import code_version, speed_patch

__version__ = "1.0"


#: (style settings, label, entry content) -> formatted entry; bounded.
_FORMATTED: dict[tuple, object] = {}
_FORMATTED_MAX = 20_000
_STATE = {"dirty": False}
CACHE_FILE = "mlnotes-pybtex.pickle"


def _name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def entry_content(entry) -> tuple:
    """Everything of a pybtex entry that formatting reads (no cross-references)."""
    persons = tuple(
        (role, tuple((tuple(p.first_names), tuple(p.middle_names), tuple(p.prelast_names),
                      tuple(p.last_names), tuple(p.lineage_names)) for p in people))
        for role, people in entry.persons.items())
    return (entry.key, entry.type, tuple((name, str(value)) for name, value in entry.fields.items()),
            persons)


def _memoise_format_entry(style_class) -> None:
    original = style_class.format_entry
    if getattr(original, "mlnotes_memo", False):
        return

    def format_entry(self, label, entry, bib_data=None):
        if bib_data is not None:  # cross-referenced entries: not worth a key
            return original(self, label, entry, bib_data=bib_data)
        key = (_name(type(self)), _name(type(self.name_style)), _name(type(self.label_style)),
               _name(type(self.sorting_style)), self.abbreviate_names, self.min_crossrefs,
               label, entry_content(entry))
        hit = _FORMATTED.get(key)
        if hit is None:
            if len(_FORMATTED) >= _FORMATTED_MAX:
                _FORMATTED.clear()
            hit = _FORMATTED[key] = original(self, label, entry)
            _STATE["dirty"] = True
        return hit

    format_entry.mlnotes_memo = True
    style_class.format_entry = format_entry


def _cache_path(app) -> Path:
    return Path(app.doctreedir, CACHE_FILE)


@functools.cache
def _version() -> str:
    """pybtex's and sphinxcontrib-bibtex's versions, and this module's code."""
    return ":".join([importlib.metadata.version("pybtex"), importlib.metadata.version("sphinxcontrib-bibtex"),
                     code_version(__file__)])


def load_formatted(app) -> None:
    """The entries formatted by earlier builds (a file that cannot be read is ignored)."""
    try:
        with open(_cache_path(app), "rb") as f:
            stored = pickle.load(f)
        if stored["version"] == _version():
            for key, value in stored["formatted"].items():
                _FORMATTED.setdefault(key, value)
    except Exception:  # noqa: BLE001 - a stale or foreign cache is only a cache
        pass


def save_formatted(app, exception) -> None:
    if exception is None and _STATE["dirty"]:
        with open(_cache_path(app), "wb") as f:
            pickle.dump({"version": _version(), "formatted": _FORMATTED}, f, pickle.HIGHEST_PROTOCOL)
        _STATE["dirty"] = False


@functools.cache
def _entry_points(group: str, name: str) -> tuple:
    return tuple(importlib.metadata.entry_points(group=group, name=name))


def entry_points(*, group: str, name: str) -> tuple:
    return _entry_points(group, name)


def apply(app) -> None:
    """The memoised lookups and entries (unless the speed patches are off: ``setup``)."""
    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin
    from pybtex.style.formatting import BaseStyle

    pybtex.plugin.entry_points = entry_points
    sphinxcontrib.bibtex.plugin._entry_points = entry_points
    _memoise_format_entry(BaseStyle)
    app.connect("builder-inited", load_formatted)
    app.connect("build-finished", save_formatted)


def setup(app):
    speed_patch(app, apply)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
