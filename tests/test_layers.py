"""Layers: features import the core (``_ext/mlnotes_core.py``), never each other.

Each ``_ext/mlnotes_*.py`` is parsed; an import of another ``mlnotes_*`` module that is
neither the core nor the patch registry (``mlnotes_upstream``, data) is a sideways
import.  The ones left from before the core existed are listed below, each to be moved
into the core and struck from the list; a new one fails the test.  (Declaring that a
feature needs another, ``app.setup_extension(...)``, is not an import and is allowed.)
"""

from __future__ import annotations

import ast
from pathlib import Path

EXT = Path(__file__).resolve().parents[1] / "_ext"
SHARED = {"mlnotes_core", "mlnotes_upstream"}

# (importer, imported): to move into the core (issue 20).
LEFT_TO_MOVE = {
    ("mlnotes_backlinks", "mlnotes_linkgraph"),      # graph, is_knowledge_page
    ("mlnotes_blog", "mlnotes_linkgraph"),           # link_texts
    ("mlnotes_graph", "mlnotes_linkgraph"),          # graph
    ("mlnotes_related", "mlnotes_linkgraph"),        # graph
    ("mlnotes_book", "mlnotes_frontmatter"),         # parse_post
    ("mlnotes_frontpage", "mlnotes_blog"),           # changed_posts, lists_changed, shows_other_posts
    ("mlnotes_series", "mlnotes_post_info"),         # post_info (the series box goes after it)
    ("mlnotes_blog", "mlnotes_ablog_fixes"),         # excerpt_block
}


def sideways_imports() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(EXT.glob("mlnotes_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top.startswith("mlnotes_") and top != path.stem and top not in SHARED:
                    found.add((path.stem, top))
    return found


def test_features_import_only_the_core():
    new = sideways_imports() - LEFT_TO_MOVE
    assert not new, ("a feature imports another feature; put what they share in "
                     f"_ext/mlnotes_core.py instead: {sorted(new)}")


def test_the_list_of_imports_left_to_move_is_current():
    gone = LEFT_TO_MOVE - sideways_imports()
    assert not gone, f"no longer imported: strike from LEFT_TO_MOVE: {sorted(gone)}"


def test_the_core_is_not_an_extension():
    tree = ast.parse((EXT / "mlnotes_core.py").read_text(encoding="utf-8"))
    assert "setup" not in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.startswith("mlnotes_")}
