"""A small project built with the site's real configuration."""

from sitecfg import site_config

globals().update(site_config())
