# Backlinks (mlnotes_backlinks) alone: MyST and the link graph it reads, nothing else of
# the site (tests/test_backlinks.py).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "_ext"))
extensions = ["myst_parser", "mlnotes_backlinks"]
myst_enable_extensions = ["dollarmath"]
exclude_patterns = ["_build"]
