# The stylesheet bundle (mlnotes_cssbundle) with the site's theme and one stylesheet of its own.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "_ext"))
extensions = ["mlnotes_cssbundle"]
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["own.css", ("print.css", {"media": "print"})]
