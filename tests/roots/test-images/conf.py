# Figures (mlnotes_images): the PNGs are written by the test (tests/test_images.py).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "_ext"))
extensions = ["mlnotes_images"]
figure_css_dpi = 110
