"""``mlnotes_matplotlib`` and ``mlnotes_social_cards``: matplotlib's plot directive and
opengraph's social cards, loaded late.

The extension must register exactly what matplotlib's ``setup()`` registers (so
an upgrade that adds something fails here), answer the parsers' questions as
the real directive class does, and keep matplotlib out of a build that shows no
plot, while a build with a plot gets its figure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import conftest
import mlnotes_matplotlib
import pytest
from bs4 import BeautifulSoup
from conftest import assert_same_as_clean_build, copy_root, replace_in


class Recorder:
    """Stands in for the Sphinx application; records what a ``setup()`` registers."""

    def __init__(self):
        self.calls: set[tuple] = set()
        self.config = object()
        self.confdir = Path(".")

    def add_directive(self, name, cls, override=False):
        self.calls.add(("directive", name))

    def add_config_value(self, name, default, rebuild, types=()):
        self.calls.add(("config", name, repr(default), rebuild))

    def connect(self, event, handler, priority=500):
        self.calls.add(("connect", event, handler.__name__.lstrip("_")))

    def add_css_file(self, filename, **attributes):
        self.calls.add(("css", filename))

    def add_env_collector(self, collector):
        self.calls.add(("collector", tuple(sorted(
            name for name in ("process_doc", "clear_doc", "merge_other")
            if name in vars(collector)))))


def test_registers_what_matplotlib_registers(monkeypatch):
    from matplotlib.sphinxext import plot_directive

    for name in ("app", "config", "confdir"):   # the real setup() records its app here
        monkeypatch.setattr(plot_directive.setup, name, None, raising=False)
    real, ours = Recorder(), Recorder()
    plot_directive.setup(real)
    mlnotes_matplotlib.setup(ours)
    # the stylesheet is copied when the builder starts, not when the build is over
    expected = real.calls - {("connect", "build-finished", "copy_css_file")}
    expected |= {("connect", "builder-inited", "copy_css_file")}
    # and the app is remembered for the directive as the real setup() does (not env.app)
    expected |= {("connect", "builder-inited", "remember_app")}
    assert ours.calls == expected


def test_directive_answers_as_the_real_class():
    from matplotlib.sphinxext.plot_directive import PlotDirective

    ours = mlnotes_matplotlib.PlotDirective
    for attribute in ("has_content", "required_arguments", "optional_arguments",
                      "final_argument_whitespace", "option_spec"):
        assert getattr(ours, attribute) == getattr(PlotDirective, attribute), attribute


def test_stylesheet_is_matplotlibs():
    from matplotlib import cbook

    assert mlnotes_matplotlib.css_file() == Path(cbook._get_data_path("plot_directive/plot_directive.css"))
    assert mlnotes_matplotlib.css_file().is_file()


def test_social_card_defaults_are_opengraphs(tmp_path):
    """Run in a fresh interpreter: this one may have imported the stand-in."""
    code = ("import importlib, mlnotes_social_cards as m; "
            "real = importlib.import_module(m.SOCIAL_CARDS); "
            "assert not getattr(real, 'mlnotes_stand_in', False); "
            "assert real.DEFAULT_SOCIAL_CONFIG == m.SOCIAL_DEFAULTS, real.DEFAULT_SOCIAL_CONFIG")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path,
                   env={**os.environ, "PYTHONPATH": str(Path(mlnotes_matplotlib.__file__).parent)})


PROBE = """\
import sys
from pathlib import Path

def record(app, exception):
    Path(app.outdir, "..", "loaded.txt").write_text(
        " ".join(name for name in ("matplotlib", "numpy") if name in sys.modules))

def setup(app):
    app.connect("build-finished", record)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
"""

PLOT = """

```{eval-rst}
.. plot::
   :alt: 一条直线

   import matplotlib.pyplot as plt
   plt.plot([0, 1], [0, 1])
```
"""


def build_and_report_imports(srcdir: Path) -> str:
    """``python -m sphinx`` (the command); what it had imported of matplotlib and NumPy."""
    env = {"PYTHONPATH": f"{Path(__file__).resolve().parent}:{srcdir}"}
    result = conftest.sphinx_build(srcdir, srcdir / "_build" / "html", env=env)
    assert result.returncode == 0, result.stderr
    return (srcdir / "_build" / "loaded.txt").read_text()


def test_matplotlib_is_imported_only_by_a_build_with_a_plot(tmp_path):
    srcdir = copy_root("web", tmp_path)
    (srcdir / "matplotlib_probe.py").write_text(PROBE)
    with (srcdir / "conf.py").open("a") as conf:
        conf.write("extensions.append('matplotlib_probe')\n")
    assert build_and_report_imports(srcdir) == ""
    gamma = srcdir / "posts" / "gamma.md"
    replace_in(gamma, "与别的文章无关。", "与别的文章无关。" + PLOT)
    assert build_and_report_imports(srcdir) == "matplotlib numpy"
    html = srcdir / "_build" / "html"
    page = BeautifulSoup((html / "posts" / "gamma.html").read_text(encoding="utf-8"), "lxml")
    img = page.select_one("article img.plot-directive")
    assert img["alt"] == "一条直线"
    assert (html / "posts" / img["src"]).resolve().stat().st_size > 1000
    # matplotlib's stylesheet is there, in the site's one stylesheet (mlnotes_cssbundle)
    assert "_static/mlnotes-site.css?v=" in str(page.select('link[rel="stylesheet"]'))
    bundle = (html / "_static" / "mlnotes-site.css").read_text(encoding="utf-8")
    assert "/* _static/plot_directive.css */" in bundle
    assert build_and_report_imports(srcdir) == ""                     # nothing to read: no matplotlib
    replace_in(gamma, PLOT, "")
    assert build_and_report_imports(srcdir) == ""
    page = BeautifulSoup((html / "posts" / "gamma.html").read_text(encoding="utf-8"), "lxml")
    assert page.select_one("article img.plot-directive") is None
    assert_same_as_clean_build(srcdir, tmp_path)


@pytest.mark.parametrize("enable", [False, True])
def test_social_cards_still_work_when_enabled(tmp_path, enable):
    """The stand-in imports the real social-card module when a card is to be made."""
    srcdir = copy_root("web", tmp_path)
    (srcdir / "matplotlib_probe.py").write_text(PROBE)
    with (srcdir / "conf.py").open("a") as conf:
        conf.write("extensions.append('matplotlib_probe')\n"
                   f"ogp_social_cards = {{'enable': {enable}}}\n")
    loaded = build_and_report_imports(srcdir)
    cards = sorted((srcdir / "_build" / "html" / "_images" / "social_previews").glob("*.png"))
    assert bool(cards) == enable
    assert ("matplotlib" in loaded) == enable
