"""The registry of upstream internals (``_ext/mlnotes_upstream.py``).

It must hold every row of ``_ext/UPSTREAM.md`` and every monkeypatch in ``_ext/``, name
sites that exist, and its fingerprints must be those of the installed packages: after an
upgrade, ``test_upstream_targets_unchanged`` names the rows to re-check.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from conftest import ROOT
from mlnotes_upstream import PATCHES, check

EXT = ROOT / "_ext"
ROW_ID = re.compile(r"^\| (\d+|C\d+) \|", re.M)


def test_upstream_targets_unchanged():
    problems = check()
    assert not problems, "\n".join(problems)


def table_ids() -> set[str]:
    return set(ROW_ID.findall((EXT / "UPSTREAM.md").read_text(encoding="utf-8")))


def test_every_row_of_upstream_md_is_registered():
    missing = sorted(table_ids() - {patch.id for patch in PATCHES})
    assert not missing, f"rows of _ext/UPSTREAM.md with no entry in _ext/mlnotes_upstream.py: {missing}"


def test_every_registered_id_is_a_row_of_upstream_md():
    unknown = sorted({patch.id for patch in PATCHES} - table_ids())
    assert not unknown, f"entries of _ext/mlnotes_upstream.py with no row in _ext/UPSTREAM.md: {unknown}"


ISSUE = re.compile(r"[\w-]+/[\w.-]+#\d+")


def test_entries_are_well_formed():
    for patch in PATCHES:
        assert patch.kind in {"fix", "speed", "read", "template"}, patch
        assert re.fullmatch(r"[\w.-]+==[\w.]+", patch.version), patch
        assert re.fullmatch(r"[0-9a-f]{16}", patch.fingerprint), patch
        assert patch.issue is None or all(ISSUE.fullmatch(issue) for issue in patch.issue.split(", ")), patch


def test_every_site_exists():
    missing = []
    for row, site in sorted({(patch.id, patch.site) for patch in PATCHES}):
        if "/" in site:  # a file of the project, and the block or function after "#"
            path, _, part = site.partition("#")
            text = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).is_file() else ""
            defines = rf"\b(block|macro|function|def)\s+{re.escape(part)}\b"
            if not text or part and not re.search(defines, text):
                missing.append(f"#{row}: {site}")
            continue
        module, _, qualname = site.partition(":")
        try:
            obj = importlib.import_module(module)
            for name in qualname.split("."):
                obj = getattr(obj, name)
        except (ImportError, AttributeError) as err:
            missing.append(f"#{row}: {site} ({err})")
    assert not missing, "sites in _ext/mlnotes_upstream.py that do not exist:\n" + "\n".join(missing)


# -- monkeypatches: assignments to attributes of upstream modules and objects -------------

def _root(node: ast.expr) -> str | None:
    """The name an attribute or item chain starts from (``html`` for ``html._file_checksum``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _imported(nodes) -> set[str]:
    """The names bound by importing modules that are not ours."""
    names = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
            for alias in node.names:
                module = node.module if isinstance(node, ast.ImportFrom) else alias.name
                if not module.startswith("mlnotes"):
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def _aliases(scope: ast.AST, names: set[str]) -> set[str]:
    """*names*, plus the names assigned one of them, a chain from one, or a module by name
    (``plot_directive = importlib.import_module(MODULE)``; ``setup = plot_directive.setup``)."""
    names = set(names)
    while True:
        more = {node.targets[0].id for node in ast.walk(scope)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and (_root(node.value) in names
                     or isinstance(node.value, ast.Call)
                     and ast.unparse(node.value.func) == "importlib.import_module")}
        if more <= names:
            return names
        names |= more


def _assigned(node: ast.AST) -> list[ast.expr]:
    """What *node* assigns to or deletes: targets, ``setattr``'s and ``delattr``'s object."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in ("setattr", "delattr"):
        return node.args[:1]
    else:
        return []
    flat = [t for target in targets
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])]
    return [t for t in flat if isinstance(t, (ast.Attribute, ast.Subscript))]


def monkeypatches(path: Path) -> list[tuple[int, str, str]]:
    """(line, top-level function or class, target) of each assignment in *path* to an
    attribute or item of an upstream module or object."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_names = _imported(tree.body)
    found = []
    for top in tree.body:
        names = _aliases(top, module_names | _imported(ast.walk(top)))
        for node in ast.walk(top):
            found += [(node.lineno, getattr(top, "name", "<module>"), ast.unparse(target))
                      for target in _assigned(node) if _root(target) in names]
    return found


def test_every_monkeypatch_is_registered():
    sites = {(patch.site.partition(":")[0], patch.site.partition(":")[2].split(".")[0])
             for patch in PATCHES if "/" not in patch.site}
    found, missing = set(), []
    for path in sorted(EXT.glob("*.py")):
        for line, top, target in monkeypatches(path):
            found.add(target)
            if (path.stem, top) not in sites:
                missing.append(f"_ext/{path.name}:{line}: {target} is patched in {path.stem}:{top}")
    assert {"html._file_checksum", "StateInline.scanDelims", "sphinx_sitemap.Manager"} <= found, found
    assert not missing, (
        "patches of upstream objects that no entry of _ext/mlnotes_upstream.py names as its site:\n"
        + "\n".join(missing)
        + "\nAdd a row to _ext/UPSTREAM.md, and an entry with that site to PATCHES in "
          "_ext/mlnotes_upstream.py")
