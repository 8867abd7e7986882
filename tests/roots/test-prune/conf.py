# mlnotes_prune alone (tests/test_prune.py): the pages of removed documents leave the output.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "_ext"))
extensions = ["mlnotes_prune"]
exclude_patterns = ["_build"]
