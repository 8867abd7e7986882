# The script bundles (mlnotes_jsbundle) with the site's theme and scripts of its own.
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[3] / "_ext"), str(Path(__file__).parent)]
extensions = ["mlnotes_jsbundle", "own_page_script"]
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_js_files = [
    # between Sphinx's scripts (priority 200) and the theme's (500)
    ("first.js", {"priority": 300}),
    ("tagged.js", {"data-prefix": "own-", "priority": 310}),
    "after.js",  # after the inline scripts Sphinx adds (500): a file of its own
    ("late-a.js", {"defer": "defer"}),
    ("late-b.js", {"defer": "defer"}),
    ("whenever.js", {"async": "async"}),
    "https://example.org/remote.js",
]
