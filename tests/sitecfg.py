"""The site's real configuration, for the small test projects under ``roots/``.

Each ``roots/test-*/conf.py`` does ``globals().update(site_config())`` and so
builds with exactly the extensions and settings of ``conf.py``; only paths that
point into the site's own tree are redirected.  ``site_config`` runs ``conf.py``
afresh on every call: extensions mutate config lists in place (ABlog appends to
``html_static_path``), and values shared between two builds in one test process
would leak from one build into the next.
"""

import runpy
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def site_config() -> dict:
    conf = runpy.run_path(str(ROOT / "conf.py"))
    values = {
        name: value for name, value in conf.items()
        if not name.startswith("_") and not isinstance(value, (types.ModuleType, type))
        and name not in {"ROOT"}
    }
    values.update(
        templates_path=[str(ROOT / "_templates")],
        html_static_path=[str(ROOT / "_static")],
        locale_dirs=[str(ROOT / "locales")],
        exclude_patterns=["_build"],
        bibtex_bibfiles=["refs.bib"],
        # the inventories under _intersphinx/, which Sphinx reads relative to srcdir
        intersphinx_mapping={
            name: (uri, str(ROOT / location))
            for name, (uri, location) in conf["intersphinx_mapping"].items()
        },
    )
    return values
