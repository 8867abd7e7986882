# Formulas drawn by MathJax at build time (mlnotes_mathsvg), and nothing else of the site.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "_ext"))
extensions = ["myst_parser", "mlnotes_mathsvg"]
myst_enable_extensions = ["dollarmath", "amsmath"]
html_math_renderer = "mlnotes_svg"
templates_path = ["_templates"]
