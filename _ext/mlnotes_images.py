"""Images that load when they are about to be seen, in a box that does not move.

Every figure of a post is a PNG drawn at build time (matplotlib's plot directive).
Without ``loading="lazy"`` a reader who opens a post downloads all its figures before
reading the first line (130 KB for one figure of the most math-heavy post); without
``width`` and ``height`` the text below a figure jumps when it arrives.  For the HTML
builders each image gets docutils' ``loading`` option set to ``lazy`` (the browser still
loads at once an image that is on screen) and, unless the author gave a size, its
intrinsic width and height, read from the file the builder will copy.  The theme's
``img { max-width: 100%; height: auto }`` keeps it responsive.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util.images import get_image_size

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def image_file(app: Sphinx, image: nodes.image) -> Path | None:
    """The file the HTML builder will use for *image* (its first supported candidate)."""
    candidates = image.get("candidates", {})
    for mimetype in app.builder.supported_image_types:
        if mimetype in candidates:
            return Path(app.srcdir, candidates[mimetype])
    uri = image.get("uri", "")
    return Path(app.srcdir, uri) if uri and "://" not in uri and not uri.endswith(".*") else None


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    for image in doctree.findall(nodes.image):
        image.setdefault("loading", "lazy")
        if any(key in image for key in ("width", "height", "scale")):
            continue
        path = image_file(app, image)
        size = get_image_size(path) if path and path.is_file() else None
        if size:
            image["width"], image["height"] = str(size[0]), str(size[1])


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
