"""A small project built with the site's real configuration."""

from sitecfg import *  # noqa: F403
