r"""A small public-API export mechanism in the spirit of TensorFlow's ``tf_export``.

Three layers, as in TensorFlow:

1. a decorator marks a symbol with the dotted public names it should have
   (:class:`api_export`, and :data:`mlnotes_export`, a ``functools.partial``
   of it with the API name filled in); :func:`register` is the same idea with an
   explicit registry dict instead of an attribute;
2. :func:`collect_exports` scans modules for marked symbols and builds a table
   ``public name -> (symbol, source module, source name)``, rejecting two
   different symbols under one name;
3. :func:`build_namespace` turns the table into a tree of module objects, and
   :func:`generate_init_sources` into the text of ``__init__.py`` files that
   re-export every symbol from where it is defined.

No TensorFlow is needed.  Explained in the post ``posts/tf-export``.
"""

from __future__ import annotations

import functools
import keyword
import types
from collections.abc import Callable, Iterable

__all__ = [
    "SymbolAlreadyExportedError",
    "NameConflictError",
    "validate_name",
    "register",
    "api_export",
    "mlnotes_export",
    "collect_exports",
    "build_namespace",
    "generate_init_sources",
    "tree_lines",
]


class SymbolAlreadyExportedError(Exception):
    """The symbol already carries public names for this API."""


class NameConflictError(Exception):
    """Two different symbols, or a symbol and a module, want the same public name."""


def validate_name(name: str) -> str:
    """Check a dotted public name such as ``"linalg.dot"`` and return it.

    Every part must be a Python identifier and not a keyword.

    >>> validate_name("linalg.dot")
    'linalg.dot'
    >>> validate_name("linalg.import")
    Traceback (most recent call last):
    ...
    ValueError: invalid public name 'linalg.import'
    """
    parts = name.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise ValueError(f"invalid public name {name!r}")
    return name


def register(*names: str, registry: dict) -> Callable:
    """Decorator factory: ``@register("a.b", registry=r)`` puts the symbol in ``r``.

    ``register(...)`` runs first and returns the real decorator; the decorator
    stores the symbol under each name and returns it unchanged.

    >>> r = {}
    >>> @register("ops.add", "add", registry=r)
    ... def add(a, b):
    ...     return a + b
    >>> sorted(r), add(1, 2)
    (['add', 'ops.add'], 3)
    """
    for name in names:
        validate_name(name)

    def decorator(symbol):
        for name in names:
            if name in registry and registry[name] is not symbol:
                raise NameConflictError(f"{name!r} is already registered")
            registry[name] = symbol
        return symbol

    return decorator


class api_export:  # noqa: N801  (lower case: used as a decorator, like TensorFlow's)
    """Mark a function or class with its public names; the first one is canonical.

    ``api_export("linalg.dot", api_name="mlnotes")`` is an object whose
    ``__call__`` sets the attribute ``_mlnotes_api_names`` on the symbol and
    returns the symbol itself.  Exporting a symbol twice for the same API is an
    error; the check looks in the symbol's own ``__dict__``, so a subclass of an
    exported class can be exported under names of its own.

    >>> @api_export("linalg.dot", api_name="demo")
    ... def dot(x, y):
    ...     return sum(a * b for a, b in zip(x, y))
    >>> dot._demo_api_names, dot([1, 2], [3, 4])
    (('linalg.dot',), 11)
    """

    def __init__(self, *names: str, api_name: str):
        if not names:
            raise ValueError("give at least one public name")
        self.names = tuple(validate_name(n) for n in names)
        self.attr = f"_{api_name}_api_names"

    def __call__(self, symbol):
        if self.attr in vars(symbol):
            raise SymbolAlreadyExportedError(
                f"{symbol.__name__} is already exported as {getattr(symbol, self.attr)}")
        setattr(symbol, self.attr, self.names)
        return symbol


#: ``api_export`` with ``api_name="mlnotes"`` filled in, as ``tf_export`` fills in ``"tensorflow"``.
mlnotes_export = functools.partial(api_export, api_name="mlnotes")


def collect_exports(modules: list, api_name: str) -> dict[str, tuple]:
    """Scan a list of modules for marked symbols: ``{public name: (symbol, module name, attribute name)}``.

    A symbol reachable from several modules (because one imports it from
    another) is recorded once, preferring the module where it is defined.
    Two different symbols under one public name raise :class:`NameConflictError`.

    >>> m = types.ModuleType("demo_mod")
    >>> m.f = api_export("tools.f", api_name="demo")(lambda: 0)
    >>> list(collect_exports([m], "demo"))
    ['tools.f']
    """
    attr = f"_{api_name}_api_names"
    table: dict[str, tuple] = {}
    for module in modules:
        for source_name, symbol in sorted(vars(module).items()):
            if attr not in getattr(symbol, "__dict__", {}):
                continue
            for public in getattr(symbol, attr):
                entry = (symbol, module.__name__, source_name)
                old = table.get(public)
                if old is not None and old[0] is not symbol:
                    raise NameConflictError(
                        f"{public!r}: {old[1]}.{old[2]} and {module.__name__}.{source_name}")
                if old is None or getattr(symbol, "__module__", None) == module.__name__:
                    table[public] = entry
    return dict(sorted(table.items()))


def _module_paths(public_names: Iterable[str]) -> set[str]:
    """All module paths implied by the public names, including the root ``""``."""
    paths = {""}
    for name in public_names:
        parts = name.split(".")[:-1]
        paths.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return paths


def build_namespace(table: dict[str, tuple], root: str = "api"):
    """Build a tree of ``types.ModuleType`` objects: ``build_namespace(t).linalg.dot`` is the symbol.

    A public name that is also a module path (``"linalg"`` and ``"linalg.dot"``)
    raises :class:`NameConflictError`.

    >>> ns = build_namespace({"linalg.dot": (sum, "builtins", "sum")})
    >>> ns.linalg.dot is sum, ns.linalg.__name__
    (True, 'api.linalg')
    """
    paths = _module_paths(table)
    clash = paths & set(table)
    if clash:
        raise NameConflictError(f"both a symbol and a module: {sorted(clash)}")
    modules = {p: types.ModuleType(f"{root}.{p}" if p else root) for p in sorted(paths)}
    for path in sorted(paths - {""}):                       # attach submodules to parents
        parent, _, leaf = path.rpartition(".")
        setattr(modules[parent], leaf, modules[path])
    for public, (symbol, _, _) in table.items():
        parent, _, leaf = public.rpartition(".")
        setattr(modules[parent], leaf, symbol)
    return modules[""]


def generate_init_sources(table: dict[str, tuple], package: str) -> dict[str, str]:
    """Text of the ``__init__.py`` of every module of the generated package.

    Keys are module paths relative to ``package`` (``""`` is the root).  Each
    file imports its submodules and re-exports its symbols from their source
    modules, e.g. ``from mylib.core import dot_product as dot``.

    >>> src = generate_init_sources({"linalg.dot": (None, "mylib.core", "dot_product")}, "api")
    >>> print(src["linalg"].splitlines()[-1])
    from mylib.core import dot_product as dot
    >>> print(src[""].splitlines()[-1])
    from api import linalg
    """
    paths = _module_paths(table)
    lines: dict[str, list[str]] = {p: [] for p in paths}
    for path in paths - {""}:
        parent, _, leaf = path.rpartition(".")
        lines[parent].append(f"from {package}{'.' + parent if parent else ''} import {leaf}")
    for public, (_, source_module, source_name) in table.items():
        parent, _, leaf = public.rpartition(".")
        alias = "" if leaf == source_name else f" as {leaf}"
        lines[parent].append(f"from {source_module} import {source_name}{alias}")
    header = "# Generated by mlnotes.api_export.generate_init_sources: do not edit.\n"
    return {p: header + "\n".join(sorted(lines[p])) + "\n" for p in sorted(paths)}


def tree_lines(table: dict[str, tuple], root: str = "api") -> list[tuple[int, str, bool, str]]:
    """Depth-first listing of the namespace tree: ``(depth, name, is_module, dotted path)``.

    >>> for line in tree_lines({"a.f": (None, "m", "f"), "g": (None, "m", "g")}, "api"):
    ...     print(line)
    (0, 'api', True, '')
    (1, 'a', True, 'a')
    (2, 'f', False, 'a.f')
    (1, 'g', False, 'g')
    """
    children: dict[str, list[str]] = {p: [] for p in _module_paths(table)}
    for name in list(children) + list(table):
        if name:
            children[name.rpartition(".")[0]].append(name)
    out = []

    def visit(path: str, depth: int) -> None:
        out.append((depth, path.rpartition(".")[2] if path else root, path in children, path))
        for child in sorted(children.get(path, [])):
            visit(child, depth + 1)

    visit("", 0)
    return out
