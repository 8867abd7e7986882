"""The site's real configuration, for the small test projects under ``roots/``.

Each ``roots/test-*/conf.py`` does ``from sitecfg import *`` and so builds with
exactly the extensions and settings of ``conf.py``; only paths that point into
the site's own tree are redirected here.
"""

import runpy
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_conf = runpy.run_path(str(ROOT / "conf.py"))
globals().update({
    name: value for name, value in _conf.items()
    if not name.startswith("_") and not isinstance(value, types.ModuleType)
    and name not in {"Path", "ROOT", "sys"}
})

templates_path = [str(ROOT / "_templates")]
html_static_path = [str(ROOT / "_static")]
locale_dirs = [str(ROOT / "locales")]
exclude_patterns = ["_build"]
bibtex_bibfiles = ["refs.bib"]
