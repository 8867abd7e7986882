"""Layers: features import libraries, never each other.

Each ``_ext/mlnotes_*.py`` is parsed.  A module with a top-level ``setup()`` is a
feature (a Sphinx extension); one without is a library: the core
(``mlnotes_core``: per-build state, view tracking, the site domain, the link graph),
the post file parser (``mlnotes_postfile``), the listing machinery (``mlnotes_listing``)
and the patch registry (``mlnotes_upstream``, data).  A feature may import libraries; a
library may import only libraries.  (Declaring that a feature needs another,
``app.setup_extension(...)``, is not an import and is allowed.)
"""

from __future__ import annotations

import ast
from pathlib import Path

EXT = Path(__file__).resolve().parents[1] / "_ext"


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(EXT.glob("mlnotes_*.py"))}


def is_library(tree: ast.Module) -> bool:
    return "setup" not in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def imported(tree: ast.Module) -> set[str]:
    """The ``mlnotes_*`` modules *tree* imports (at any depth: a function's own import too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return {name for name in names if name.startswith("mlnotes_")}


def test_features_import_only_libraries():
    trees = modules()
    features = {name for name, tree in trees.items() if not is_library(tree)}
    sideways = sorted((name, other) for name in features
                      for other in imported(trees[name]) & features if other != name)
    assert not sideways, ("a feature imports another feature; put what they share in a library "
                          f"(a module of _ext/ without setup(), such as mlnotes_core): {sideways}")


def test_libraries_import_only_libraries():
    trees = modules()
    libraries = {name for name, tree in trees.items() if is_library(tree)}
    assert {"mlnotes_core", "mlnotes_listing", "mlnotes_postfile", "mlnotes_upstream"} <= libraries
    upward = sorted((name, other) for name in libraries
                    for other in imported(trees[name]) - libraries if other in trees)
    assert not upward, f"a library imports a feature: {upward}"


def test_the_layering_check_sees_a_sideways_import(tmp_path):
    """The two checks above would catch a feature importing a feature."""
    tree = ast.parse("from mlnotes_blog import changed_posts\n\ndef f():\n    import mlnotes_graph\n")
    assert imported(tree) == {"mlnotes_blog", "mlnotes_graph"}
    assert is_library(tree) and not is_library(ast.parse("def setup(app):\n    pass\n"))


def test_site_data_lives_in_the_site_domain(tmp_path):
    """Per-document data is in one domain, per-build state in one object per application,
    not in attributes set on the environment or the application."""
    import pickle

    from conftest import build, copy_root

    src = copy_root("web", tmp_path)
    app, _, _ = build(src)
    on_app = sorted(name for name in vars(app) if name.lstrip("_").startswith("mlnotes"))
    assert on_app == [], f"state set on the application instead of mlnotes_core.state(app): {on_app}"
    with (src / "_build" / "doctrees" / "environment.pickle").open("rb") as f:
        env = pickle.load(f)
    data = env.domaindata["mlnotes"]
    assert data["posts"] and set(data["posts"]) <= env.found_docs
    assert data["links"] and set(data["links"]) <= env.found_docs
    assert data["frontpage"] == {}        # no page of this project lists the latest posts
    assert data["views"] and data["version"] == 1
    own = sorted(name for name in vars(env) if name.startswith("mlnotes"))
    assert own == [], f"state set on the environment instead of the site domain: {own}"
