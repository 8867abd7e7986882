"""Two script files per page instead of eleven.

Every page loaded the same eleven scripts of its own (Sphinx's ``documentation_options``,
``doctools``, ``sphinx_highlight`` and ``translations``, clipboard.js and
sphinx-copybutton, the book theme's script, sphinx-design's tabs, and the site's
previews, scroll and search scripts): eleven requests on a phone, each a round trip
on a slow network.  On each page, the scripts that run in order as it is parsed
(classic scripts, no attribute) are concatenated, in page order, into one file
``_static/mlnotes-head-<key>.js``, and the deferred ones into
``_static/mlnotes-defer-<key>.js``, where ``<key>`` names the list of members: every
page with the same scripts loads the same two files.  Each bundle is linked where its
first member was, with a digest of its content so that browsers fetch it again when it
changes.

What stays a file of its own: a script with an attribute other than ``defer`` and
``data-*`` (``async``, ``type="module"``, ...), an inline script, a script from
another site, and anything a single page adds for itself.  A member's ``data-*``
attributes go onto the bundle's tag (sphinx-design's tabs read theirs from
``document.currentScript``); members whose attributes disagree are not bundled.  A
bundle is a run of consecutive scripts in the page's list, among those every page has:
an inline script or one the page adds for itself ends it, so no script ever runs in
another order than Sphinx's list gives.

Concatenation is how the files would run anyway, one after the other in one global
scope, with one difference: a ``"use strict"`` directive at the top of a member that
is not the first (``doctools.js``, ``sphinx_highlight.js``) no longer makes that member
strict.  Code written for strict mode runs the same without it; the browser tests
(copy buttons, previews, highlighting, search, tabs) drive the bundled pages.

A bundle is made from the files in the output directory, which Sphinx has copied
before it writes the first page (as ``mlnotes_cssbundle`` does; Sphinx 9.0.4), when the
first page that loads it is written, and brought up to date when the build finishes (a
build may copy a changed script without writing a page).  The list of every page's
is ``StandaloneHTMLBuilder._js_files`` as it stands before any page adds its own
(``_orig_js_files``, saved by ``handle_page``, Sphinx 9.0.4); ``tests/test_jsbundle.py`` guards
both and the shape of ``_JavaScript``.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlnotes_core import write_if_changed

if TYPE_CHECKING:
    from sphinx.application import Sphinx

BUNDLES = "_static"  # the bundles' directory, beside their members
SOURCE_MAP = re.compile(r"^//[#@] sourceMappingURL=.*$", re.M)
HEADER = re.compile(r"^/\* (_static/\S+) \*/$", re.M)


def _kind(js) -> str | None:
    """``"head"`` or ``"defer"`` for a script that may go into a bundle, else ``None``."""
    filename = os.fspath(js.filename) if getattr(js, "filename", None) else ""
    if not filename or "://" in filename or filename.startswith("/") or "body" in js.attributes:
        return None
    own = {k for k in js.attributes if not k.startswith("data-")}
    if not own:
        return "head"
    if own == {"defer"}:
        return "defer"
    return None


def _static(filename: str) -> str:
    """*filename* (as ``add_js_file`` was given it) relative to the output directory."""
    return filename if filename.startswith("_static/") else "_static/" + filename


def bundle_name(kind: str, names: list[str]) -> str:
    """The bundle of the files *names*: one name for one list of members, in every build."""
    key = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:8]
    return f"{BUNDLES}/mlnotes-{kind}-{key}.js"


def runs(app: Sphinx, scripts: list) -> dict[str, list]:
    """For each kind, the first run of two or more consecutive scripts of that kind in a
    page's sorted *scripts* that every page has (``_orig_js_files``) and whose data
    attributes agree; a script the page adds for itself ends a run."""
    common = set(getattr(app.builder, "_orig_js_files", ()))

    def kind(js) -> str | None:
        found = _kind(js)   # first: an inline script has no file to look for
        if found is None or js not in common or \
                not Path(app.outdir, _static(os.fspath(js.filename))).is_file():
            return None
        return found

    found: dict[str, list] = {}
    for key, group in itertools.groupby(scripts, key=kind):
        run = list(group)
        if key and len(run) > 1 and key not in found and _agree(run):
            found[key] = run
    return found


def _agree(members: list) -> bool:
    """Whether no two *members* give one ``data-*`` attribute different values."""
    data: dict[str, str] = {}
    return all(data.setdefault(key, value) == value
               for js in members for key, value in js.attributes.items() if key.startswith("data-"))


def make_bundle(outdir: Path, target: str, names: list[str]) -> str:
    """Write *target* from the files *names* if its content changed; return a digest of
    its content.  Each member is headed by its name (which ``remake`` reads back)."""
    parts = []
    for name in names:
        text = SOURCE_MAP.sub("", (outdir / name).read_text(encoding="utf-8")).rstrip()
        parts.append(f"/* {name} */\n{text}\n;\n")
    return write_if_changed(outdir / target, "".join(parts))


# Per build process: the digest of each bundle made for the pages it wrote.
_MADE: dict[tuple[int, str], str] = {}


def _on_html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not _is_html(app) or "script_files" not in context:
        return
    scripts = sorted(context["script_files"], key=lambda js: getattr(js, "priority", 500))
    tags: dict[int, str] = {}
    for kind, members in runs(app, scripts).items():
        names = [_static(os.fspath(js.filename)) for js in members]
        target = bundle_name(kind, names)
        digest = _MADE.get((os.getpid(), target))
        if digest is None:
            digest = _MADE[os.getpid(), target] = make_bundle(Path(app.outdir), target, names)
        attrs = {key: value for js in members for key, value in js.attributes.items()}
        attrs_html = "".join(f' {key}="{html.escape(value, quote=True)}"'
                             for key, value in sorted(attrs.items()))
        marker = _Bundle(members[0].priority)
        tags[id(marker)] = f'<script{attrs_html} src="{context["pathto"](target, 1)}?v={digest}"></script>'
        at = scripts.index(members[0])
        scripts = [*scripts[:at], marker, *scripts[at + len(members):]]
    if not tags:
        return
    js_tag = context["js_tag"]
    context["script_files"] = scripts
    context["js_tag"] = lambda js: tags[id(js)] if id(js) in tags else js_tag(js)


class _Bundle:
    """A bundle's place in a page's list of scripts (which Sphinx sorts by ``priority``
    after this handler: the bundle keeps its first member's)."""

    def __init__(self, priority: int) -> None:
        self.priority, self.filename, self.attributes = priority, None, {}


def remake(outdir: Path) -> None:
    """Bring every bundle in *outdir* up to date with its members (a build may copy a
    changed script without writing a page); bundles whose members are gone are removed."""
    for path in Path(outdir, BUNDLES).glob("mlnotes-*-????????.js"):
        names = HEADER.findall(path.read_text(encoding="utf-8"))
        if names and all(Path(outdir, name).is_file() for name in names):
            make_bundle(Path(outdir), f"{BUNDLES}/{path.name}", names)
        else:
            path.unlink()


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    _MADE.clear()
    if exception is None and _is_html(app):
        remake(Path(app.outdir))


def _is_html(app: Sphinx) -> bool:
    return app.builder.format == "html" and hasattr(app.builder, "_js_files")


def setup(app: Sphinx) -> dict[str, Any]:
    # Late, after every extension that adds to a page's scripts from this event.
    app.connect("html-page-context", _on_html_page_context, priority=900)
    app.connect("build-finished", _on_build_finished, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
