"""Figures that are sharp on every screen, small on the wire, and never move the text.

Every figure of a post is a PNG drawn at build time (matplotlib's plot directive).
Three things make them cheap and steady for a reader:

* **Lazy, with a size.**  Without ``loading="lazy"`` a reader who opens a post
  downloads all its figures before reading the first line; without ``width`` and
  ``height`` the text below a figure jumps when it arrives.  For the HTML builders each
  image gets docutils' ``loading`` option set to ``lazy`` (the browser still loads at
  once an image that is on screen) and, unless the author gave a size, its width and
  height in CSS pixels.  The theme's ``img { max-width: 100%; height: auto }`` keeps it
  responsive.
* **Two densities.**  The plot directive draws at twice ``figure_css_dpi``
  (``plot_formats`` in ``conf.py``: 220 dpi for 110 CSS pixels per inch), which is what
  a phone or a laptop with a high-density screen shows pixel for pixel.  A PNG whose
  recorded resolution (its ``pHYs`` chunk, which matplotlib writes) is at least 1.5 times
  ``figure_css_dpi`` is such a figure: it is shown at half its pixel size, and a copy at
  half the resolution, ``<name>.1x.png``, goes beside it, offered to screens of one
  device pixel per CSS pixel through ``srcset``.
* **Fewer colours.**  A plot has few colours but for the edges of its antialiased lines;
  as 8-bit palette PNGs (Pillow's fast octree quantiser) the figures are about a quarter
  of matplotlib's 32-bit files with no difference to see.  Both densities of each such
  figure are quantised when the build has copied it into ``_images`` (other images are
  left as they are); the results are kept in
  ``<doctreedir>/mlnotes-images``, by the content of the file they came from, so an
  unchanged figure costs a file read on the next build.

The PDF book uses the plot directive's PDF files and is not touched.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from mlnotes_core import code_version
from sphinx.util.images import get_image_size

if TYPE_CHECKING:
    from sphinx.application import Sphinx

HIDPI_CLASS = "mlnotes-hidpi"
IMG = re.compile(r"<img\b[^>]*>")
HIDPI = re.compile(r'\bclass="(?:[^"]* )?' + HIDPI_CLASS + r'[ "]')
SRC = re.compile(r'\bsrc="([^"]+)\.png"')
CACHE = "mlnotes-images"
__version__ = "2"   # of what the cache holds


def image_file(app: Sphinx, image: nodes.image) -> Path | None:
    """The file the HTML builder will use for *image* (its first supported candidate)."""
    candidates = image.get("candidates", {})
    for mimetype in app.builder.supported_image_types:
        if mimetype in candidates:
            return Path(app.srcdir, candidates[mimetype])
    uri = image.get("uri", "")
    return Path(app.srcdir, uri) if uri and "://" not in uri and not uri.endswith(".*") else None


def png_dpi(data: bytes) -> float:
    """The resolution a PNG records (its ``pHYs`` chunk, pixels per metre), in dots per
    inch; 0 when it records none.  Read from the bytes: no image library needed."""
    at = data.find(b"pHYs", 8)
    if at < 0 or len(data) < at + 13 or data[at + 12] != 1:   # unit 1: the metre
        return 0.0
    return int.from_bytes(data[at + 4:at + 8], "big") * 0.0254


def density(app: Sphinx, data: bytes) -> int:
    """2 for a figure drawn for high-density screens, else 1."""
    return 2 if png_dpi(data) >= 1.5 * app.config.figure_css_dpi else 1


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4096)


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    for image in doctree.findall(nodes.image):
        image.setdefault("loading", "lazy")
        path = image_file(app, image)
        if path is None or not path.is_file():
            continue
        twice = path.suffix.lower() == ".png" and density(app, _head(path)) == 2
        if twice:
            image["classes"].append(HIDPI_CLASS)
        if any(key in image for key in ("width", "height", "scale")):
            continue
        size = get_image_size(path)
        if size:
            image["width"], image["height"] = (str(size[0] // 2), str(size[1] // 2)) if twice else \
                (str(size[0]), str(size[1]))


def _offer_both(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The high-density figures of the page, at one density for screens that want it."""
    body = context.get("body")
    if not body or HIDPI_CLASS not in body:
        return

    def both(match: re.Match) -> str:
        tag = match[0]
        src = SRC.search(tag)
        if not HIDPI.search(tag) or src is None:
            return tag
        base = src[1]
        return tag.replace(src[0], f'src="{base}.1x.png" srcset="{base}.1x.png 1x, {base}.png 2x"', 1)

    context["body"] = IMG.sub(both, body)


def quantised(app: Sphinx, data: bytes) -> tuple[bytes, bytes]:
    """*data* (a PNG of a high-density figure) as an 8-bit palette PNG, and its copy at
    half the resolution; kept by content in the doctree directory."""
    cache = Path(app.doctreedir, CACHE)
    key = hashlib.sha256(f"{__version__}:{code_version(__file__)}".encode() + data).hexdigest()[:24]
    full, half = cache / f"{key}.png", cache / f"{key}.1x.png"
    if full.is_file():
        return full.read_bytes(), half.read_bytes()
    from PIL import Image

    dpi = png_dpi(data)
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")

    def palette(img, dpi: float) -> bytes:
        out = io.BytesIO()
        options = {"dpi": (dpi, dpi)} if dpi else {}
        img.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", **options)
        return out.getvalue()

    reduced = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    small, big = palette(reduced, dpi / 2), palette(image, dpi)
    cache.mkdir(parents=True, exist_ok=True)
    # under its own key too, for the next build, which finds the quantised file in _images
    for name in (key, hashlib.sha256(__version__.encode() + big).hexdigest()[:24]):
        (cache / f"{name}.1x.png").write_bytes(small)
        (cache / f"{name}.png").write_bytes(big)   # last: its presence means both are there
    return big, small


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    images = Path(app.outdir, getattr(app.builder, "imagedir", "_images"))
    for path in sorted(images.glob("*.png")) if images.is_dir() else ():
        if path.name.endswith(".1x.png"):
            continue
        data = path.read_bytes()
        if density(app, data[:4096]) != 2:
            continue   # not a figure drawn for high-density screens: left as it is
        big, small = quantised(app, data)
        if big != data:
            path.write_bytes(big)
        half = path.with_name(path.name[:-4] + ".1x.png")
        if not half.is_file() or half.read_bytes() != small:
            half.write_bytes(small)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("figure_css_dpi", 110, "html", types=frozenset({int, float}))
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("html-page-context", _offer_both)
    app.connect("build-finished", _on_build_finished)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
