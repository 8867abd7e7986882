"""Write ``_static/mlnotes-icons.css``: the theme's icon font cut down to the icons the site draws.

pydata-sphinx-theme draws its icons (menu, search, colour mode, arrows) and
ABlog its post metadata icons with Font Awesome classes, and loads Font
Awesome's SVG script, 1.56 MB (538 KB gzip), on every page to do so.  The
theme's CSS already carries Font Awesome's own rules (``.fa-moon{--fa:"\\f186"}``
and the ``::before`` that shows it) and an ``@font-face`` for the solid font;
only the fonts are too big (115 KB solid, 110 KB brands).  This tool keeps the
glyphs the site uses, from the theme's own ``fa-solid-900.woff2`` and
``fa-brands-400.woff2`` (the GitHub mark the theme puts before links to GitHub),
and writes them as WOFF fonts inlined in one small stylesheet whose
``@font-face`` rules replace the theme's (the last rule with the same descriptors
wins), so icons need no request and no script.  ``_templates/layout.html`` leaves the script out.

Run it after a theme upgrade or when a template starts drawing a new icon
(``make icons``; the test ``tests/test_icons.py`` says when)::

    python tools/icons.py _build/html

The icons drawn are read from the built pages' ``class`` attributes, from the
theme's scripts (which add, e.g., ``fa-xmark`` at run time) and from the theme's
CSS, which draws some itself (``--pst-icon-*``: admonition titles, arrows).
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "_static" / "mlnotes-icons.css"
# Icon classes that are Font Awesome's modifiers (size, width, rotation), not icons.
MODIFIERS = re.compile(r"fa-(?:solid|regular|brands|classic|fw|lg|xs|sm|\d+x|rotate-\d+|flip-\w+|spin|"
                       r"pulse|beat|fade|bounce|shake|border|pull-\w+|stack(?:-\dx)?|inverse|ul|li)$")
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")


def theme_static() -> Path:
    import pydata_sphinx_theme

    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"


def codepoints(css: str) -> dict[str, int]:
    """Icon class name (``fa-moon``) -> code point, from Font Awesome's rules in the theme CSS."""
    found = {}
    for selectors, code in re.findall(r'([^{}]*)\{--fa:"\\([0-9a-f]+)"\}', css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+)(?![\w-])", selectors):
            found.setdefault(name, int(code, 16))
    return found


def icons_in(text: str) -> set[str]:
    """Icon classes named in *text* (HTML class attributes or a script), modifiers left out."""
    return {name for name in ICON_CLASS.findall(text) if not MODIFIERS.match(name)}


def theme_css() -> str:
    return (theme_static() / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")


def icons_in_scripts() -> set[str]:
    """Icon classes the theme's scripts add at run time (``fa-xmark``), Font Awesome's own left out."""
    names: set[str] = set()
    for script in (theme_static() / "scripts").glob("*.js"):
        if script.name != "fontawesome.js":
            names |= {n for n in re.findall(r'classList="[^"]*?(fa-[a-z0-9-]+)"', script.read_text())
                      if not MODIFIERS.match(n)}
    return names


def icons_drawn(html_dir: Path) -> set[str]:
    names = icons_in_scripts()
    for page in html_dir.rglob("*.html"):
        for classes in re.findall(r'class="([^"]*\bfa[\w-]*[^"]*)"', page.read_text(encoding="utf-8")):
            names |= icons_in(classes)
    return names


# The theme's fonts this tool cuts down: (file, CSS family, weight).
FONTS = {
    "solid": ("fa-solid-900.woff2", "Font Awesome 7 Free", 900),
    "brands": ("fa-brands-400.woff2", "Font Awesome 7 Brands", 400),
}


def theme_font(kind: str):
    from fontTools.ttLib import TTFont

    # recalcTimestamp=False: keep the font's own dates, so that the output is the same every run
    path = theme_static() / "vendor" / "fontawesome" / "webfonts" / FONTS[kind][0]
    return TTFont(path, recalcTimestamp=False)


def css_drawn(css: str) -> set[int]:
    """Code points the theme's CSS draws itself (``--pst-icon-*``: admonition titles, the
    previous/next arrows, the GitHub mark before links to GitHub)."""
    return {ord(value) for value in re.findall(r'--pst-icon-[a-z-]+:"(.)"', css)}


def subset_font(kind: str, points: set[int]) -> bytes:
    from fontTools import subset

    font = theme_font(kind)
    options = subset.Options()
    options.flavor = "woff"  # zlib: readable without brotli, and the file is tiny anyway
    options.layout_features = []
    options.name_IDs = ["*"]  # keep the copyright and licence names
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(points))
    subsetter.subset(font)
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out, reorderTables=False)
    return out.getvalue()


def stylesheet(names: set[str], fonts: dict[str, bytes]) -> str:
    listed = " ".join(sorted(names))
    out = [
        "/* Generated by tools/icons.py (make icons): do not edit.\n"
        " * Font Awesome Free's solid and brands fonts, cut to the icons the site draws\n"
        f" * ({listed}) and those the theme's CSS draws (--pst-icon-*).\n"
        " * Font: SIL OFL 1.1; https://fontawesome.com/license/free */\n"
    ]
    for kind, font in sorted(fonts.items()):
        _, family, weight = FONTS[kind]
        data = base64.b64encode(font).decode("ascii")
        out.append(f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
                   f'font-display:block;src:url(data:font/woff;base64,{data}) format("woff")}}\n')
    return "".join(out)


def split_by_font(points: set[int]) -> dict[str, set[int]]:
    """Each code point in the first of the theme's fonts that has it (solid, then brands)."""
    cmaps = {kind: set(theme_font(kind).getBestCmap()) for kind in FONTS}
    split: dict[str, set[int]] = {kind: set() for kind in FONTS}
    for point in points:
        kind = next((k for k in FONTS if point in cmaps[k]), None)
        if kind is None:
            raise SystemExit(f"U+{point:04X} is in none of the theme's Font Awesome fonts")
        split[kind].add(point)
    return split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path, help="the built site (_build/html)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    css = theme_css()
    table = codepoints(css)
    names = icons_drawn(args.html_dir)
    unknown = sorted(n for n in names if n not in table)
    if unknown:
        print(f"not Font Awesome icons of the theme: {', '.join(unknown)}", file=sys.stderr)
        return 1
    points = {table[n] for n in names} | css_drawn(css)
    fonts = {kind: subset_font(kind, pts) for kind, pts in split_by_font(points).items() if pts}
    args.output.write_text(stylesheet(names, fonts), encoding="utf-8")
    print(f"{args.output}: {len(names)} icons, {args.output.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
