"""sphinxext-opengraph's social cards, with pyplot imported only when one is made.

sphinxext-opengraph imports its social-card module, and with it matplotlib's pyplot,
whether social cards are on or not (they are off here: ``ogp_social_cards`` in
``conf.py``): a third of a second of every build (README, "Build performance").  Before
it is imported, that module is given a stand-in with the same default configuration (a
test compares them) whose ``create_social_card`` imports the real module and calls it.
This extension must come before ``sphinxext.opengraph`` in ``extensions``.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "1.0"
SOCIAL_CARDS = "sphinxext.opengraph._social_cards"

#: ``DEFAULT_SOCIAL_CONFIG`` of sphinxext-opengraph's social-card module
SOCIAL_DEFAULTS = {"enable": True, "site_url": True, "site_title": True,
                   "page_title": True, "description": True}


def create_social_card(*args, **kwargs):
    """sphinxext-opengraph's, imported on first use."""
    if getattr(sys.modules.get(SOCIAL_CARDS), "mlnotes_stand_in", False):
        del sys.modules[SOCIAL_CARDS]
    return importlib.import_module(SOCIAL_CARDS).create_social_card(*args, **kwargs)


def defer_social_cards() -> None:
    """Give ``sphinxext.opengraph`` a social-card module that imports nothing."""
    if SOCIAL_CARDS in sys.modules or "sphinxext.opengraph" in sys.modules:
        return
    stand_in = types.ModuleType(SOCIAL_CARDS, "Stand-in until a social card is made (mlnotes_social_cards).")
    stand_in.DEFAULT_SOCIAL_CONFIG = dict(SOCIAL_DEFAULTS)
    stand_in.create_social_card = create_social_card
    stand_in.mlnotes_stand_in = True
    sys.modules[SOCIAL_CARDS] = stand_in


def setup(app):
    defer_social_cards()
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
