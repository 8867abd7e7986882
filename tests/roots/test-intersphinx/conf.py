"""Links to Python, NumPy and PyTorch, built with the site's real configuration."""

from sitecfg import site_config

globals().update(site_config())
nitpicky = True  # as `sphinx-build -n`: every reference must resolve
