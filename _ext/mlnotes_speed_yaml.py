"""Speed: MyST reads YAML with libyaml's parser.

MyST reads each Markdown file's YAML front matter twice (for its own configuration, then
for the document) and the options of directives, with PyYAML's pure-Python parser.
While MyST parses a document, ``yaml.safe_load`` uses libyaml's parser (``CSafeLoader``:
same YAML, same Python values), where PyYAML was built with it.
"""

from __future__ import annotations

from mlnotes_core import speed_patch

__version__ = "1.0"


def libyaml_for_myst() -> None:
    import yaml
    from myst_parser.parsers.sphinx_ import MystParser

    if not getattr(yaml, "__with_libyaml__", False) or getattr(MystParser.parse, "mlnotes_libyaml", False):
        return
    original = MystParser.parse

    def fast_safe_load(stream):
        return yaml.load(stream, Loader=yaml.CSafeLoader)

    def parse(self, inputstring, document):
        pure, yaml.safe_load = yaml.safe_load, fast_safe_load
        try:
            return original(self, inputstring, document)
        finally:
            yaml.safe_load = pure

    parse.mlnotes_libyaml = True
    MystParser.parse = parse


def setup(app):
    speed_patch(app, lambda app: libyaml_for_myst())
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
