"""Estimated reading time of each post, shown in the line under its title.

Chinese text is read by characters, not words: the estimate counts CJK
characters at ``reading_cjk_per_minute`` (default 400) and runs of Latin
letters and digits as words at ``reading_words_per_minute`` (default 200).
Display formulas and code blocks are read slowly, not skimmed as text: each
display formula counts 15 seconds and each line of code 2 seconds.  The result,
in whole minutes (at least 1), is kept in the document's metadata as
``reading_minutes``, which Sphinx purges and merges per document.
"""

from __future__ import annotations

import math
import re

from docutils import nodes
from mlnotes_core import post_records

__version__ = "1.0"

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def estimate_minutes(text: str, display_math: int = 0, code_lines: int = 0, *,
                     cjk_per_minute: int = 400, words_per_minute: int = 200) -> int:
    """Whole minutes to read *text* plus formulas and code (at least 1).

    >>> estimate_minutes("扩散" * 400)                 # 800 characters
    2
    >>> estimate_minutes("word " * 100, display_math=4)  # 0.5 min + 1 min
    2
    """
    seconds = 60 * (len(CJK.findall(text)) / cjk_per_minute
                    + len(WORD.findall(text)) / words_per_minute)
    seconds += 15 * display_math + 2 * code_lines
    return max(1, math.ceil(seconds / 60 - 1e-9))


def measure(app, doctree) -> None:
    env = app.env
    if env.docname not in post_records(env):
        return
    text, formulas, code = [], 0, 0
    for node in doctree.findall(nodes.Text):
        if not any(isinstance(p, (nodes.literal_block, nodes.math_block, nodes.math,
                                  nodes.footnote, nodes.citation, nodes.raw))
                   for p in _ancestors(node)):
            text.append(node.astext())
    formulas = sum(1 for _ in doctree.findall(nodes.math_block))
    code = sum(n.astext().count("\n") + 1 for n in doctree.findall(nodes.literal_block))
    env.metadata[env.docname]["reading_minutes"] = estimate_minutes(
        "".join(text), formulas, code,
        cjk_per_minute=app.config.reading_cjk_per_minute,
        words_per_minute=app.config.reading_words_per_minute)


def _ancestors(node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def setup(app):
    app.setup_extension("mlnotes_frontmatter")
    app.add_config_value("reading_cjk_per_minute", 400, "env", types=frozenset({int}))
    app.add_config_value("reading_words_per_minute", 200, "env", types=frozenset({int}))
    # after the front matter is checked (mlnotes_posts is filled by a transform)
    app.connect("doctree-read", measure)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
