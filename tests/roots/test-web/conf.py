"""A small project built with the site's real configuration, plus a tiny package."""

import sys
from pathlib import Path

from sitecfg import site_config

globals().update(site_config())
sys.path.insert(0, str(Path(__file__).parent))
