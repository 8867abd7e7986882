"""mlnotes.api_export: decorators, duplicate checks, the namespace tree and generated __init__.py files."""

import functools
import importlib
import sys
import textwrap
import types

import pytest

from mlnotes import api_export as ae


def make_module(name, source):
    """A real module object from source text (registered in sys.modules for imports)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(textwrap.dedent(source), module.__dict__)
    return module


@pytest.fixture
def lib():
    core = make_module("fakelib_core", """
        from mlnotes.api_export import mlnotes_export

        @mlnotes_export("linalg.dot", "dot")
        def dot_product(x, y):
            return sum(a * b for a, b in zip(x, y))

        @mlnotes_export("nn.Dense")
        class Dense:
            pass

        class Conv(Dense):           # inherits the attribute but is not exported itself
            pass

        def helper():                # not exported
            return 1
    """)
    ops = make_module("fakelib_ops", """
        from fakelib_core import dot_product, Conv   # re-imported: must not be exported twice
        from mlnotes.api_export import mlnotes_export

        @mlnotes_export("math.add")
        def add(a, b):
            return a + b
    """)
    yield [ops, core]
    for name in ("fakelib_core", "fakelib_ops"):
        sys.modules.pop(name, None)


def test_decorator_with_arguments_is_a_function_returning_a_decorator():
    registry = {}
    decorator = ae.register("a.f", registry=registry)
    assert callable(decorator) and registry == {}          # nothing registered yet

    def f():
        return 42
    assert decorator(f) is f and registry == {"a.f": f}    # same object back, now registered


def test_register_rejects_duplicates_and_bad_names():
    registry = {}
    ae.register("x", registry=registry)(len)
    ae.register("x", registry=registry)(len)               # same symbol again: harmless
    with pytest.raises(ae.NameConflictError):
        ae.register("x", registry=registry)(abs)
    for bad in ("", "a..b", "1a", "a.class", "a-b"):
        with pytest.raises(ValueError):
            ae.register(bad, registry=registry)


def test_partial_fills_in_the_api_name():
    assert isinstance(ae.mlnotes_export, functools.partial)
    assert ae.mlnotes_export.func is ae.api_export and ae.mlnotes_export.keywords == {"api_name": "mlnotes"}

    def f():
        pass
    assert ae.mlnotes_export("a.f")(f) is f
    assert f._mlnotes_api_names == ("a.f",)
    assert not hasattr(f, "_other_api_names")
    ae.api_export("b.f", api_name="other")(f)               # another API may export it too
    assert f._other_api_names == ("b.f",)


def test_exporting_twice_is_an_error_but_subclasses_are_separate():
    @ae.mlnotes_export("A")
    class A:
        pass

    with pytest.raises(ae.SymbolAlreadyExportedError):
        ae.mlnotes_export("A2")(A)

    class B(A):
        pass
    assert B._mlnotes_api_names == ("A",)                  # inherited through getattr ...
    ae.mlnotes_export("B")(B)                              # ... but B may still be exported
    assert B._mlnotes_api_names == ("B",) and A._mlnotes_api_names == ("A",)


def test_collect_exports(lib):
    table = ae.collect_exports(lib, "mlnotes")
    assert list(table) == ["dot", "linalg.dot", "math.add", "nn.Dense"]
    symbol, module, name = table["linalg.dot"]
    assert module == "fakelib_core" and name == "dot_product"   # defining module preferred
    assert table["math.add"][1:] == ("fakelib_ops", "add")


def test_collect_exports_rejects_two_symbols_with_one_name():
    m = types.ModuleType("m")
    m.f = ae.api_export("same", api_name="t")(lambda: 1)
    m.g = ae.api_export("same", api_name="t")(lambda: 2)
    with pytest.raises(ae.NameConflictError):
        ae.collect_exports([m], "t")


def test_build_namespace(lib):
    table = ae.collect_exports(lib, "mlnotes")
    api = ae.build_namespace(table, "fakeapi")
    core = sys.modules["fakelib_core"]
    assert api.linalg.dot is core.dot_product and api.dot is core.dot_product
    assert api.nn.Dense is core.Dense and api.math.add(2, 3) == 5
    assert isinstance(api.linalg, types.ModuleType) and api.nn.__name__ == "fakeapi.nn"
    assert not hasattr(api.nn, "Conv") and not hasattr(api, "helper")
    with pytest.raises(ae.NameConflictError):
        ae.build_namespace({"a": (len, "builtins", "len"), "a.b": (abs, "builtins", "abs")})


def test_generated_init_files_import_and_match_the_namespace(lib, tmp_path, monkeypatch):
    table = ae.collect_exports(lib, "mlnotes")
    sources = ae.generate_init_sources(table, "genapi")
    assert sorted(sources) == ["", "linalg", "math", "nn"]
    assert "from fakelib_core import dot_product as dot" in sources["linalg"]
    for path, text in sources.items():
        folder = tmp_path.joinpath("genapi", *path.split(".")) if path else tmp_path / "genapi"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        genapi = importlib.import_module("genapi")
        assert genapi.linalg.dot is sys.modules["fakelib_core"].dot_product
        assert genapi.math.add(1, 2) == 3 and genapi.nn.Dense is sys.modules["fakelib_core"].Dense
    finally:
        for name in [n for n in sys.modules if n == "genapi" or n.startswith("genapi.")]:
            del sys.modules[name]


def test_tree_lines_for_the_figure(lib):
    lines = ae.tree_lines(ae.collect_exports(lib, "mlnotes"), "api")
    assert [line[:3] for line in lines] == [
        (0, "api", True), (1, "dot", False), (1, "linalg", True), (2, "dot", False),
        (1, "math", True), (2, "add", False), (1, "nn", True), (2, "Dense", False)]
    assert [line[3] for line in lines if not line[2]] == ["dot", "linalg.dot", "math.add", "nn.Dense"]
